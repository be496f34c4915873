"""Reddit's payloads as our models read them, their mapping to our ``Mention``, and the
text rules of the account's own posts (title and body, RATELIMIT waits).

Payload models mirror Reddit's Listings (see tests/fixtures/reddit): a username mention is an
inbox comment (``t1``), a search result a submission (``t3``). The fullname (``t1_ekftbox``) is
the ``external_id``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from connectors import feeds
from connectors.mastodon_payloads import describe_validation_error
from socialops.mentions import InvalidItem, Mention, RawJSON, SkippedItem

WEB = "https://www.reddit.com"


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")


class InboxComment(_Payload):
    """A ``t1`` child of ``/message/mentions`` (the fields we read)."""

    name: str
    author: str
    body: str = ""
    created_utc: float
    context: str | None = None
    parent_id: str | None = None
    subreddit: str | None = None
    type: str | None = None


class Submission(_Payload):
    """A ``t3`` child of a search Listing (the fields we read)."""

    name: str
    author: str
    title: str = ""
    selftext: str = ""
    created_utc: float
    permalink: str | None = None
    subreddit: str | None = None
    over_18: bool = False


class OwnComment(_Payload):
    """A ``t1`` of ``/user/<name>/comments`` or of a ``/api/comment`` answer (fields we read)."""

    name: str
    body: str = ""
    parent_id: str | None = None
    link_id: str | None = None
    subreddit: str | None = None
    permalink: str | None = None
    created_utc: float | None = None


class OwnSubmission(_Payload):
    """A ``t3`` of ``/user/<name>/submitted`` (the fields we read)."""

    name: str
    title: str = ""
    selftext: str = ""
    permalink: str | None = None
    url: str | None = None
    created_utc: float | None = None


class Submitted(_Payload):
    """``json.data`` of a ``/api/submit`` answer."""

    name: str
    url: str | None = None


# --------------------------------------------------------------------------------------------
# Mapping
# --------------------------------------------------------------------------------------------


def epoch_time(value: float) -> datetime | None:
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def comment_url(context: str | None) -> str | None:
    """The comment's permalink: ``context`` without ``?context=3``."""
    if not context:
        return None
    path = context.split("?", 1)[0]
    return path if path.startswith("http") else WEB + path


def _thread_of(context: str | None) -> str | None:
    match = re.search(r"/comments/([a-z0-9]+)/", context or "")
    return f"t3_{match.group(1)}" if match else None


def comment_to_mention(comment: InboxComment, *, channel: str, raw: RawJSON) -> Mention:
    return Mention(
        platform="reddit",
        external_id=comment.name,
        channel=channel,
        url=comment_url(comment.context),
        author_handle=comment.author,
        text=comment.body,
        created_at=epoch_time(comment.created_utc),
        thread_id=_thread_of(comment.context),
        in_reply_to_id=comment.parent_id,
        visibility="public",
        raw=raw,
    )


def submission_to_mention(post: Submission, *, channel: str, raw: RawJSON) -> Mention:
    text = post.title if not post.selftext else f"{post.title}\n\n{post.selftext}"
    permalink = post.permalink or ""
    return Mention(
        platform="reddit",
        external_id=post.name,
        channel=channel,
        url=(permalink if permalink.startswith("http") else WEB + permalink) if permalink else None,
        author_handle=post.author,
        text=text,
        created_at=epoch_time(post.created_utc),
        thread_id=post.name,
        visibility="public",
        raw=raw,
    )


def map_listing(
    children: list[Any], *, channel: str, kind: Literal["t1", "t3"]
) -> list[feeds.Entry]:
    """A Listing's children (newest first) as feed entries; other kinds are skipped."""
    entries = []
    for child in children:
        data = child.get("data") if isinstance(child, dict) else None
        if not isinstance(data, dict):
            entries.append(feeds.Entry(InvalidItem(raw=child, reason="child has no data"), None))
            continue
        created = data.get("created_utc")
        at = epoch_time(created) if isinstance(created, int | float) else None
        if child.get("kind") != kind:
            reason = f"{child.get('kind')!r} is not a {'comment' if kind == 't1' else 'post'}"
            entries.append(feeds.Entry(SkippedItem(cursor=data.get("name"), reason=reason), at))
            continue
        try:
            if kind == "t1":
                mention = comment_to_mention(
                    InboxComment.model_validate(data), channel=channel, raw=RawJSON.of(child)
                )
            else:
                mention = submission_to_mention(
                    Submission.model_validate(data), channel=channel, raw=RawJSON.of(child)
                )
        except ValidationError as exc:
            reason = "data." + describe_validation_error(exc)
            name = data.get("name") if isinstance(data.get("name"), str) else None
            entries.append(feeds.Entry(InvalidItem(raw=child, reason=reason), at, key=name))
            continue
        entries.append(feeds.Entry(mention, at, key=mention.external_id))
    return entries


def own_comment_url(comment: OwnComment) -> str | None:
    """A link to one of the account's comments: its permalink, else built from the thread."""
    link = comment.permalink
    if link:
        return link if link.startswith("http") else WEB + link
    if comment.link_id and comment.subreddit:
        thread, own = comment.link_id[3:], comment.name[3:]
        return f"{WEB}/r/{comment.subreddit}/comments/{thread}/_/{own}/"
    return None


TITLE_LIMIT = 300
"""Reddit refuses a post title longer than this."""


def split_post(text: str) -> tuple[str, str]:
    """A planned post as Reddit's ``(title, body)``: the first line is the title; one too long
    for a title is cut at a word and the whole text becomes the body."""
    text = text.strip()
    first, _, rest = text.partition("\n")
    first = first.strip()
    if len(first) <= TITLE_LIMIT:
        return first, rest.strip()
    cut = first[: TITLE_LIMIT - 1].rsplit(" ", 1)[0].rstrip(",;:.-") or first[: TITLE_LIMIT - 1]
    return cut + "…", text


def submission_text(post: OwnSubmission) -> str:
    """The text a planned post was made from (the inverse of :func:`split_post`)."""
    if post.title.endswith("…") and post.selftext:
        return post.selftext
    return f"{post.title}\n\n{post.selftext}" if post.selftext else post.title


_WAIT = re.compile(r"(\d+)\s*(second|minute|hour)", re.IGNORECASE)


def ratelimit_wait(message: str) -> timedelta:
    """``"you are doing that too much. try again in 5 minutes."`` -> 5 minutes (else 1)."""
    match = _WAIT.search(message)
    if match is None:
        return timedelta(minutes=1)
    amount, unit = int(match.group(1)), match.group(2).lower()
    return timedelta(seconds=amount * {"second": 1, "minute": 60, "hour": 3600}[unit])
