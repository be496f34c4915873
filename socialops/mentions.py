"""Our platform-neutral mention: what every connector maps its payloads to."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler
from pydantic_core import core_schema

Platform = Literal["mastodon", "bluesky", "reddit", "x"]
PLATFORMS: tuple[str, ...] = ("mastodon", "bluesky", "reddit", "x")


class RawJSON:
    """A platform payload as the JSON it is stored as: one bytes object, not a tree of dicts.

    An ingest batch holds thousands of payloads between fetch and commit. As parsed dicts each
    is ~60 objects the garbage collector scans on every full collection, and the collections
    get more frequent as the batch grows: measured, 0.8 s of a 20,000-mention ingest went to
    them. Serialised once, in the connector, a payload is one object; storage writes the bytes
    as they are. ``value()`` parses them back for whoever needs the structure.
    """

    __slots__ = ("json",)

    def __init__(self, json: bytes) -> None:
        self.json = json

    @classmethod
    def of(cls, value: Any) -> RawJSON:
        # orjson hands back its whole output buffer (measured ~7 KB for a 3 KB payload); kept
        # for a batch, that doubles its memory, so the bytes are copied to their own size.
        return cls(bytes(memoryview(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS))))

    def value(self) -> Any:
        return orjson.loads(self.json)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RawJSON) and other.json == self.json

    def __hash__(self) -> int:
        return hash(self.json)

    def __repr__(self) -> str:
        return f"RawJSON({len(self.json)} bytes)"

    @classmethod
    def __get_pydantic_core_schema__(
        cls, _source: Any, _handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        # Anything JSON-serialisable is accepted and serialised; a dump gives the structure.
        return core_schema.no_info_plain_validator_function(
            lambda value: value if isinstance(value, RawJSON) else cls.of(value),
            serialization=core_schema.plain_serializer_function_ser_schema(lambda raw: raw.value()),
        )


def _empty_payload() -> RawJSON:
    return RawJSON(b"{}")


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
    raw: RawJSON = Field(default_factory=_empty_payload, repr=False)
    """The payload as received, for audits and reprocessing (dicts are accepted and serialised)."""


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
    newest_created_at: datetime | None = None
    direction: Literal["older", "newer"] = "older"

    @property
    def is_empty(self) -> bool:
        return not (self.mentions or self.invalid or self.skipped)

    @property
    def item_count(self) -> int:
        return len(self.mentions) + len(self.invalid) + len(self.skipped)
