"""Mastodon's payloads (notifications, statuses, accounts) and how they become our mentions.

The models mirror what Mastodon really sends (see tests/fixtures/mastodon); they are lenient
about fields we do not use (ignored: the whole payload is kept as `raw`) and strict about the
ones we do.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from connectors.html_text import html_to_text
from socialops.mentions import InvalidItem, Mention, MentionPage, RawJSON, SkippedItem


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Account(_Payload):
    """``Account`` entity (the fields we read)."""

    id: str
    username: str
    acct: str
    display_name: str = ""
    url: str | None = None
    followers_count: int | None = None
    bot: bool = False


class StatusMention(_Payload):
    """An entry of ``Status.mentions``."""

    id: str
    username: str
    acct: str
    url: str | None = None


class Tag(_Payload):
    """An entry of ``Status.tags``."""

    name: str
    url: str | None = None


class Status(_Payload):
    """``Status`` entity. ``created_at`` stays a string: the quality suite judges it."""

    id: str
    uri: str | None = None
    url: str | None = None
    created_at: str | None = None
    account: Account
    content: str = ""
    spoiler_text: str = ""
    visibility: str | None = None
    language: str | None = None
    in_reply_to_id: str | None = None
    in_reply_to_account_id: str | None = None
    mentions: list[StatusMention] = Field(default_factory=list)
    tags: list[Tag] = Field(default_factory=list)
    edited_at: str | None = None


class Notification(_Payload):
    """``Notification`` entity. ``status`` is null when the post is gone or not visible to us."""

    id: str
    type: str
    created_at: str | None = None
    account: Account | None = None
    status: Status | None = None


JSONObject = dict[str, Any]


# --------------------------------------------------------------------------------------------
# Mapping to our Mention
# --------------------------------------------------------------------------------------------

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})")
JSON_TYPE_NAMES: dict[type, str] = {
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def parse_rfc3339(value: object) -> datetime | None:
    """An RFC 3339 timestamp (``2026-08-01T13:51:42.823Z``) as an aware UTC datetime, else ``None``.

    Dates without a time or an offset (``2026-08-01``) are not RFC 3339 and give ``None``.
    """
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        return None
    try:
        parsed = datetime.fromisoformat(value.upper())
    except ValueError:  # e.g. month 13, or a leap second
        return None
    return parsed.astimezone(UTC)


def to_mention(
    notification: Notification, *, channel: str, raw: dict[str, Any] | RawJSON
) -> Mention:
    """Map a ``mention`` notification (with its status) to our ``Mention``.

    ``raw`` is the notification as received, kept whole for the quarantine and for audits.
    """
    status = notification.status
    if status is None:
        raise ValueError(f"notification {notification.id} has no status")
    text = html_to_text(status.content)
    spoiler = status.spoiler_text.strip()
    if spoiler:
        text = f"CW: {spoiler}\n\n{text}" if text else f"CW: {spoiler}"
    return Mention(
        platform="mastodon",
        external_id=status.id,
        channel=channel,
        url=status.url or status.uri,
        author_handle=status.account.acct,
        author_display_name=status.account.display_name or None,
        author_followers=status.account.followers_count,
        text=text,
        lang=status.language,
        created_at=parse_rfc3339(status.created_at),
        # A reply's root is only known from /api/v1/statuses/:id/context.
        thread_id=status.id if status.in_reply_to_id is None else None,
        in_reply_to_id=status.in_reply_to_id,
        visibility=status.visibility,
        raw=raw,
    )


def describe_validation_error(exc: ValidationError, *, limit: int = 3) -> str:
    """A short reason naming the fields, e.g. ``status.account: field required``."""
    errors = exc.errors(include_url=False, include_input=False)
    reasons = []
    for error in errors[:limit]:
        loc = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"])
        message = error["msg"][:1].lower() + error["msg"][1:]
        reasons.append(f"{loc.lstrip('.')}: {message}" if loc else message)
    if len(errors) > limit:
        reasons.append(f"and {len(errors) - limit} more")
    return "; ".join(reasons)


def parse_link_header(value: str | None) -> dict[str, str]:
    """``rel -> url`` from an RFC 8288 ``Link`` header (Mastodon's ``next``/``prev``)."""
    links: dict[str, str] = {}
    if not value:
        return links
    for part in re.split(r",\s*(?=<)", value.strip()):
        match = re.match(r"\s*<([^>]*)>(.*)", part, re.DOTALL)
        if match is None:
            continue
        url, params = match.groups()
        for param in params.split(";"):
            key, _, rels = param.partition("=")
            if key.strip().lower() == "rel":
                for rel in rels.strip().strip('"').split():
                    links.setdefault(rel.lower(), url)
    return links


def _link_cursors(link_header: str | None) -> tuple[str | None, str | None]:
    """``(newest, oldest)`` notification ids named by the Link header, if it has them."""
    links = parse_link_header(link_header)
    newest = oldest = None
    if "prev" in links:
        params = httpx.URL(links["prev"]).params
        newest = params.get("min_id") or params.get("since_id")
    if "next" in links:
        oldest = httpx.URL(links["next"]).params.get("max_id")
    return newest, oldest


def _item_id(item: Any) -> str | None:
    if isinstance(item, dict):
        value = item.get("id")
        if isinstance(value, str) and value:
            return value
        if isinstance(value, int) and not isinstance(value, bool):  # Takahē-style small ints
            return str(value)
    return None


def _item_created_at(item: Any) -> datetime | None:
    if not isinstance(item, dict):
        return None
    # The notification's own time follows the paging order; the status time is the fallback.
    created = parse_rfc3339(item.get("created_at"))
    status = item.get("status")
    if created is None and isinstance(status, dict):
        created = parse_rfc3339(status.get("created_at"))
    return created


def _map_item(item: Any, *, channel: str) -> Mention | InvalidItem | SkippedItem:
    if not isinstance(item, dict):
        name = JSON_TYPE_NAMES.get(type(item), type(item).__name__)
        return InvalidItem(raw=item, reason=f"item is not a JSON object (got {name})")
    kind = item.get("type")
    if isinstance(kind, str) and kind != "mention":
        return SkippedItem(
            cursor=_item_id(item), reason=f"notification type {kind!r} is not a mention"
        )
    try:
        notification = Notification.model_validate(item)
    except ValidationError as exc:
        return InvalidItem(raw=item, reason=describe_validation_error(exc))
    if notification.status is None:
        return SkippedItem(
            cursor=notification.id,
            reason="status is null (deleted or not visible to this account)",
        )
    try:
        return to_mention(notification, channel=channel, raw=RawJSON.of(item))
    except ValidationError as exc:
        return InvalidItem(raw=item, reason=describe_validation_error(exc))
    except (ValueError, TypeError) as exc:  # one bad item must never fail the page
        return InvalidItem(raw=item, reason=f"could not map: {exc}")


def map_notifications_page(
    items: list[Any],
    *,
    channel: str,
    link_header: str | None = None,
    direction: Literal["older", "newer"] = "older",
) -> MentionPage:
    """Map one page of ``GET /api/v1/notifications`` (newest first) to a ``MentionPage``.

    Cursors come from the Link header (``next`` -> ``max_id``, ``prev`` -> ``min_id``); servers
    that send none (snac2, Takahē, the last page) fall back to the first and last item's id.
    """
    page = MentionPage(direction=direction)
    for item in items:
        mapped = _map_item(item, channel=channel)
        if isinstance(mapped, Mention):
            page.mentions.append(mapped)
        elif isinstance(mapped, InvalidItem):
            page.invalid.append(mapped)
        else:
            page.skipped.append(mapped)
    if not items:
        return page
    newest, oldest = _link_cursors(link_header)
    ids = [item_id for item_id in map(_item_id, items) if item_id is not None]
    page.newest_cursor = newest or (ids[0] if ids else None)
    page.oldest_cursor = oldest or (ids[-1] if ids else None)
    page.oldest_created_at = next(
        (created for created in map(_item_created_at, reversed(items)) if created is not None),
        None,
    )
    page.newest_created_at = next(
        (created for created in map(_item_created_at, items) if created is not None), None
    )
    return page
