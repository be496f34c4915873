"""X API v2 payloads as our models read them, and their mapping to our ``Mention``.

Payload models mirror API v2 (see tests/fixtures/x). The author comes from ``includes.users``
(``expansions=author_id``).
"""

from __future__ import annotations

import html
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from connectors.mastodon_payloads import describe_validation_error, parse_rfc3339
from socialops.mentions import InvalidItem, Mention, RawJSON, SkippedItem


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")


class PublicMetrics(_Payload):
    followers_count: int | None = None


class User(_Payload):
    """``User`` (the fields we read)."""

    id: str
    username: str
    name: str | None = None
    public_metrics: PublicMetrics | None = None


class ReferencedTweet(_Payload):
    type: str
    id: str


class NoteTweet(_Payload):
    text: str


class Tweet(_Payload):
    """``Tweet``. ``created_at`` stays a string: the quality suite judges it."""

    id: str = Field(pattern=r"^[0-9]{1,19}$")
    text: str
    author_id: str | None = None
    created_at: str | None = None
    conversation_id: str | None = None
    lang: str | None = None
    referenced_tweets: list[ReferencedTweet] = Field(default_factory=list)
    note_tweet: NoteTweet | None = None


# --------------------------------------------------------------------------------------------
# Mapping
# --------------------------------------------------------------------------------------------


def id_key(tweet_id: str) -> tuple[int, str]:
    """Order of X ids (decimal strings of snowflakes) without trusting them as numbers."""
    return len(tweet_id), tweet_id


def to_mention(tweet: Tweet, author: User, *, channel: str, raw: RawJSON) -> Mention:
    replied_to = next((r.id for r in tweet.referenced_tweets if r.type == "replied_to"), None)
    text = tweet.note_tweet.text if tweet.note_tweet else tweet.text
    return Mention(
        platform="x",
        external_id=tweet.id,
        channel=channel,
        url=f"https://x.com/{author.username}/status/{tweet.id}",
        author_handle=author.username,
        author_display_name=author.name or None,
        author_followers=author.public_metrics.followers_count if author.public_metrics else None,
        # v2 escapes &, < and > in text (the recordings carry none; test for it anyway).
        text=html.unescape(text),
        lang=None if tweet.lang in (None, "und", "zxx") else tweet.lang,
        created_at=parse_rfc3339(tweet.created_at),
        thread_id=tweet.conversation_id,
        in_reply_to_id=replied_to,
        visibility="public",
        raw=raw,
    )


def map_mentions_page(
    body: dict[str, Any], *, channel: str
) -> list[Mention | InvalidItem | SkippedItem]:
    """``data`` of a mentions response (newest first), authors from ``includes.users``."""
    users: dict[str, User] = {}
    includes = body.get("includes")
    for raw_user in includes.get("users", []) if isinstance(includes, dict) else []:
        try:
            user = User.model_validate(raw_user)
        except ValidationError:
            continue
        users[user.id] = user
    out: list[Mention | InvalidItem | SkippedItem] = []
    for item in body.get("data") or []:
        if not isinstance(item, dict):
            out.append(InvalidItem(raw=item, reason="item is not a JSON object"))
            continue
        try:
            tweet = Tweet.model_validate(item)
        except ValidationError as exc:
            out.append(InvalidItem(raw=item, reason=describe_validation_error(exc)))
            continue
        if any(r.type == "retweeted" for r in tweet.referenced_tweets):
            out.append(SkippedItem(cursor=tweet.id, reason="a repost, not a new mention"))
            continue
        author = users.get(tweet.author_id or "")
        if author is None:
            reason = (
                "author_id: missing (request expansions=author_id)"
                if tweet.author_id is None
                else f"author {tweet.author_id} is not in includes.users"
            )
            out.append(InvalidItem(raw=item, reason=reason))
            continue
        raw = dict(item, author=author.model_dump(exclude_none=True))
        out.append(to_mention(tweet, author, channel=channel, raw=RawJSON.of(raw)))
    return out


def item_id(item: Mention | InvalidItem | SkippedItem) -> str | None:
    if isinstance(item, Mention):
        return item.external_id
    if isinstance(item, SkippedItem):
        return item.cursor
    raw_id = item.raw.get("id") if isinstance(item.raw, dict) else None
    return raw_id if isinstance(raw_id, str) and raw_id.isdigit() else None
