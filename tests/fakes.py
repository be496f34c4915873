"""Fakes of what is outside socialops (a platform's mention feed), never of our own code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from connectors.errors import RateLimited, Retryable
from socialops.mentions import InvalidItem, Mention, MentionPage, SkippedItem

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@dataclass
class FeedItem:
    cursor: str
    created_at: datetime
    kind: str = "mention"  # "mention", "invalid" or "skipped"


@dataclass
class FakeFeed:
    """A platform feed with Mastodon's paging semantics over zero-padded cursors.

    ``fail_on_call`` makes the n-th fetch raise (a dropped connection) to test resumption;
    ``quota`` answers ``RateLimited`` once that many pages were served since ``refill()``.
    """

    items: list[FeedItem] = field(default_factory=list)
    calls: list[tuple[str | None, str | None]] = field(default_factory=list)
    fail_on_call: set[int] = field(default_factory=set)
    channel: str = "mastodon-main"
    quota: int | None = None
    served: int = 0

    def refill(self) -> None:
        """A new rate-limit window."""
        self.served = 0

    def insert(self, item: FeedItem) -> None:
        """An item whose id sorts among those already served (it became visible late)."""
        self.items = sorted([*self.items, item], key=lambda i: i.cursor)

    @classmethod
    def every_minute(cls, count: int, *, newest: datetime = T0) -> FakeFeed:
        return cls(
            [
                FeedItem(f"{i:08d}", newest - timedelta(minutes=count - i))
                for i in range(1, count + 1)
            ]
        )

    def add(self, count: int, *, start: datetime) -> None:
        last = int(self.items[-1].cursor) if self.items else 0
        self.items += [
            FeedItem(f"{last + i:08d}", start + timedelta(minutes=i)) for i in range(1, count + 1)
        ]

    def fetch_mentions_page(
        self, *, max_id: str | None = None, min_id: str | None = None, limit: int = 80
    ) -> MentionPage:
        self.calls.append((max_id, min_id))
        if len(self.calls) in self.fail_on_call:
            raise Retryable("connection reset by peer")
        if self.quota is not None and self.served >= self.quota:
            raise RateLimited(
                "rate-limit quota spent until 12:05", reset_at=T0 + timedelta(minutes=5)
            )
        self.served += 1
        if min_id is not None:
            page = [i for i in self.items if i.cursor > min_id][:limit]
            direction = "newer"
        else:
            older = [i for i in self.items if max_id is None or i.cursor < max_id]
            page = older[-limit:]
            direction = "older"
        page = list(reversed(page))  # newest first, as platforms answer
        return MentionPage(
            mentions=[self._mention(i) for i in page if i.kind == "mention"],
            invalid=[
                InvalidItem(raw={"id": i.cursor}, reason="bad") for i in page if i.kind == "invalid"
            ],
            skipped=[
                SkippedItem(cursor=i.cursor, reason="status is null")
                for i in page
                if i.kind == "skipped"
            ],
            newest_cursor=page[0].cursor if page else None,
            oldest_cursor=page[-1].cursor if page else None,
            oldest_created_at=page[-1].created_at if page else None,
            newest_created_at=page[0].created_at if page else None,
            direction=direction,
        )

    def _mention(self, item: FeedItem) -> Mention:
        return Mention(
            platform="mastodon",
            external_id=f"s{item.cursor}",
            channel=self.channel,
            url=f"https://social.example/@ann/{item.cursor}",
            author_handle="ann",
            text=f"@northwind mention {item.cursor}",
            created_at=item.created_at,
            raw={"id": item.cursor},
        )


def fixed_clock(at: datetime = T0) -> Callable[[], datetime]:
    return lambda: at


def mention(external_id: str, **overrides: object) -> Mention:
    """A valid stored-shape mention; override any field."""
    values: dict[str, object] = {
        "platform": "mastodon",
        "external_id": external_id,
        "channel": "mastodon-main",
        "url": f"https://social.example/@ann/{external_id}",
        "author_handle": "ann@social.example",
        "author_display_name": "Ann ☕",
        "author_followers": 12,
        "text": f"hello @northwind {external_id}",
        "lang": "en",
        "created_at": datetime(2026, 11, 20, 9, 30, tzinfo=UTC),
        "raw": {"id": external_id, "nested": {"ok": True}},
    }
    values.update(overrides)
    return Mention.model_validate(values)
