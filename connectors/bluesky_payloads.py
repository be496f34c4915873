"""Bluesky's payloads as our models read them, and their mapping to our ``Mention``.

Payload models mirror what the AppView sends (see tests/fixtures/bluesky); lenient about fields
we do not read (the whole payload is kept as ``raw``). A mention is a post: its AT-URI is the
``external_id``, so a post found as a notification and again by search is stored once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from connectors import feeds
from connectors.mastodon_payloads import describe_validation_error
from socialops.mentions import InvalidItem, Mention, RawJSON, SkippedItem

MENTION_REASONS = ("mention", "reply", "quote")


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Author(_Payload):
    """``app.bsky.actor.defs#profileViewBasic`` (the fields we read)."""

    did: str
    handle: str
    display_name: str | None = Field(default=None, alias="displayName")


class StrongRef(_Payload):
    uri: str
    cid: str | None = None


class ReplyRef(_Payload):
    root: StrongRef
    parent: StrongRef


class ByteSlice(_Payload):
    byte_start: int = Field(alias="byteStart", ge=0)
    byte_end: int = Field(alias="byteEnd", ge=0)


class Facet(_Payload):
    """``app.bsky.richtext.facet``: a byte range of the text and what it is."""

    index: ByteSlice
    features: list[dict[str, Any]] = Field(default_factory=list)


class PostRecord(_Payload):
    """``app.bsky.feed.post``. ``createdAt`` stays a string: the quality suite judges it."""

    text: str = ""
    created_at: str | None = Field(default=None, alias="createdAt")
    langs: list[str] = Field(default_factory=list)
    facets: list[Facet] = Field(default_factory=list)
    reply: ReplyRef | None = None


class Notification(_Payload):
    """``app.bsky.notification.listNotifications#notification``."""

    uri: str
    cid: str | None = None
    author: Author
    reason: str
    reason_subject: str | None = Field(default=None, alias="reasonSubject")
    record: dict[str, Any]
    indexed_at: str = Field(alias="indexedAt")


class PostView(_Payload):
    """``app.bsky.feed.defs#postView`` (a search result)."""

    uri: str
    cid: str | None = None
    author: Author
    record: dict[str, Any]
    indexed_at: str = Field(alias="indexedAt")


class RepoRecord(_Payload):
    """One item of ``com.atproto.repo.listRecords``."""

    uri: str
    cid: str
    value: dict[str, Any]


class Session(_Payload):
    """``com.atproto.server.createSession`` / ``refreshSession`` output (the fields we keep)."""

    did: str
    handle: str
    access_jwt: str = Field(alias="accessJwt")
    refresh_jwt: str = Field(alias="refreshJwt")


# --------------------------------------------------------------------------------------------
# Mapping
# --------------------------------------------------------------------------------------------

_ISO = re.compile(r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})?")


def parse_time(value: object) -> datetime | None:
    """Bluesky's timestamps, leniently: ``Z``, ``+00:00``, micro- or milliseconds, or no zone
    at all (seen in real records; read as UTC). Anything else gives ``None``."""
    if not isinstance(value, str):
        return None
    match = _ISO.fullmatch(value.strip())
    if match is None:
        return None
    date, clock, fraction, zone = match.groups()
    fraction = (fraction or "")[:7]  # fromisoformat takes at most 6 digits
    zone = "+00:00" if zone in (None, "Z", "z") else zone
    try:
        parsed = datetime.fromisoformat(f"{date}T{clock}{fraction}{zone}")
    except ValueError:
        return None
    return parsed.astimezone(UTC)


def text_with_facets(text: str, facets: Sequence[Facet]) -> str:
    """The post's text with each link facet's shortened display replaced by its full URI.

    Facet offsets are UTF-8 **byte** offsets, end exclusive. Mentions (``@handle``) and tags
    already read as text. Overlapping or out-of-range facets are ignored, never guessed at.
    """
    data = text.encode("utf-8")
    replacements: list[tuple[int, int, bytes]] = []
    last_end = 0
    for facet in sorted(facets, key=lambda f: f.index.byte_start):
        start, end = facet.index.byte_start, facet.index.byte_end
        if start < last_end or end <= start or end > len(data):
            continue
        link = next(
            (
                f.get("uri")
                for f in facet.features
                if f.get("$type") == "app.bsky.richtext.facet#link"
                and isinstance(f.get("uri"), str)
            ),
            None,
        )
        last_end = end
        if link is None:
            continue
        shown = data[start:end].decode("utf-8", errors="replace")
        if link == shown or link.split("://", 1)[-1] == shown:
            continue
        replacements.append((start, end, link.encode("utf-8")))
    for start, end, link in reversed(replacements):
        data = data[:start] + link + data[end:]
    return data.decode("utf-8", errors="replace")


def post_url(uri: str, author: Author) -> str:
    """``https://bsky.app/profile/<handle>/post/<rkey>`` (Bluesky returns no URL)."""
    rkey = uri.rsplit("/", 1)[-1]
    who = author.handle if author.handle and author.handle != "handle.invalid" else author.did
    return f"https://bsky.app/profile/{who}/post/{rkey}"


def to_mention(
    *, uri: str, author: Author, record: PostRecord, channel: str, raw: RawJSON
) -> Mention:
    """A post (from a notification or a search result) as our ``Mention``."""
    return Mention(
        platform="bluesky",
        external_id=uri,
        channel=channel,
        url=post_url(uri, author),
        author_handle=author.handle,
        author_display_name=author.display_name or None,
        text=text_with_facets(record.text, record.facets),
        lang=record.langs[0] if record.langs else None,
        created_at=parse_time(record.created_at),
        thread_id=record.reply.root.uri if record.reply else uri,
        in_reply_to_id=record.reply.parent.uri if record.reply else None,
        visibility="public",
        raw=raw,
    )


def _map_post(
    item: Any, *, channel: str, model: type[Notification] | type[PostView]
) -> feeds.Entry:
    if not isinstance(item, dict):
        return feeds.Entry(InvalidItem(raw=item, reason="item is not a JSON object"), None)
    at = parse_time(item.get("indexedAt"))
    uri = item.get("uri") if isinstance(item.get("uri"), str) else None
    try:
        post = model.model_validate(item)
    except ValidationError as exc:
        invalid = InvalidItem(raw=item, reason=describe_validation_error(exc))
        return feeds.Entry(invalid, at, key=uri)
    if isinstance(post, Notification) and post.reason not in MENTION_REASONS:
        skipped = SkippedItem(
            cursor=post.uri, reason=f"notification reason {post.reason!r} is not a mention"
        )
        return feeds.Entry(skipped, at)
    try:
        record = PostRecord.model_validate(post.record)
        mention = to_mention(
            uri=post.uri, author=post.author, record=record, channel=channel, raw=RawJSON.of(item)
        )
    except ValidationError as exc:
        reason = "record." + describe_validation_error(exc)
        return feeds.Entry(InvalidItem(raw=item, reason=reason), at, key=uri)
    return feeds.Entry(mention, at, key=mention.external_id)


def map_notifications(items: list[Any], *, channel: str) -> list[feeds.Entry]:
    """A ``listNotifications`` page (newest first) as feed entries."""
    return [_map_post(item, channel=channel, model=Notification) for item in items]


def map_search_posts(items: list[Any], *, channel: str) -> list[feeds.Entry]:
    """A ``searchPosts`` page as feed entries."""
    return [_map_post(item, channel=channel, model=PostView) for item in items]
