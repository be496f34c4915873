"""Our platform-neutral mention: what every connector maps its payloads to."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Platform = Literal["mastodon", "bluesky", "reddit", "x"]
PLATFORMS: tuple[str, ...] = ("mastodon", "bluesky", "reddit", "x")


class Mention(BaseModel):
    """One post that mentions the brand, as stored.

    Fields are deliberately lenient where platforms are (``created_at`` may be ``None`` when the
    platform sent something unparseable): the data-quality suite, not the parser, decides what is
    quarantined, so nothing is dropped silently.
    """

    model_config = ConfigDict(frozen=True)

    platform: str
    external_id: str
    channel: str
    url: str | None = None
    author_handle: str
    author_display_name: str | None = None
    author_followers: int | None = None
    text: str
    lang: str | None = None
    created_at: datetime | None = None
    thread_id: str | None = None
    in_reply_to_id: str | None = None
    visibility: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)


class InvalidItem(BaseModel):
    """A payload item that could not be mapped to a Mention: kept for the quarantine."""

    model_config = ConfigDict(frozen=True)

    raw: Any
    reason: str


class SkippedItem(BaseModel):
    """A payload item that is not a mention at all (e.g. a notification whose status is gone)."""

    model_config = ConfigDict(frozen=True)

    cursor: str | None
    reason: str


class MentionPage(BaseModel):
    """One page of a platform's mention feed, mapped.

    ``newest_cursor``/``oldest_cursor`` are the platform's own paging ids for the page (opaque
    strings: never compare them as numbers); ``None`` on an empty page.
    """

    mentions: list[Mention] = Field(default_factory=list)
    invalid: list[InvalidItem] = Field(default_factory=list)
    skipped: list[SkippedItem] = Field(default_factory=list)
    newest_cursor: str | None = None
    oldest_cursor: str | None = None
    oldest_created_at: datetime | None = None
    direction: Literal["older", "newer"] = "older"

    @property
    def is_empty(self) -> bool:
        return not (self.mentions or self.invalid or self.skipped)

    @property
    def item_count(self) -> int:
        return len(self.mentions) + len(self.invalid) + len(self.skipped)
