"""Walking a channel's mention feed into storage, crash-safe.

The walk is written against :class:`MentionSource` (any connector's client) so it stays free of
HTTP and of Prefect. Positions:

- ``newest_cursor``: everything up to it is stored; later runs page forwards from it (``min_id``).
- ``backfill_cursor``/``backfill_newest``: a backward walk (the first run, or a backfill) in
  progress, resumable where it stopped.

Every batch is validated, then its mentions, its quarantined items and the position that covers
them are committed in ONE transaction. A crash anywhere before that commit leaves the position
where it was, so the next run fetches the same items again and loses nothing; uniqueness on
(platform, external_id) means nothing is stored twice.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

from pydantic import BaseModel, Field

from socialops import storage
from socialops.config import Channel
from socialops.db import session_scope
from socialops.mentions import InvalidItem, Mention, MentionPage
from socialops.quality import QualityRules, validate_mentions

T = TypeVar("T")


class MentionSource(Protocol):
    """What the walk needs from a platform client."""

    def fetch_mentions_page(
        self, *, max_id: str | None = None, min_id: str | None = None, limit: int = 80
    ) -> MentionPage: ...


class _Walk:
    """The pages of one walk, each request's cursor taken from the page before.

    Stops at an empty page, after the page ``last`` says is the last, or when the page budget is
    spent (``budget_spent``: there may be more to fetch next run).
    """

    def __init__(
        self,
        fetch: Callable[[str | None], MentionPage],
        *,
        start: str | None,
        budget: int,
        next_cursor: Callable[[MentionPage], str | None],
        last: Callable[[MentionPage], bool],
    ) -> None:
        self.fetch, self.cursor, self.budget = fetch, start, budget
        self.next_cursor, self.last = next_cursor, last
        self.fetched = 0
        self.budget_spent = False

    def pages(self) -> Iterator[MentionPage]:
        while True:
            if self.fetched >= self.budget:
                self.budget_spent = True
                return
            page = self.fetch(self.cursor)
            self.fetched += 1
            cursor = self.next_cursor(page)
            if page.is_empty or cursor is None:
                return
            yield page
            if self.last(page):
                return
            self.cursor = cursor


_DONE = object()


def prefetched(pages: Iterator[T], depth: int = 3) -> Iterator[T]:
    """Iterate ``pages`` while a background thread fetches up to ``depth`` ahead.

    Fetching waits on the network while validating and storing wait on the CPU and the
    database: overlapping them is most of the speed of a long walk. An error in the fetching
    thread is raised here, after the pages fetched before it.
    """
    slots: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        slots.put(page, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            slots.put(exc)

    worker = threading.Thread(target=produce, name="prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join(timeout=30)


class ChannelResult(BaseModel):
    """What one channel's ingest did: the figures of the run's summary."""

    channel: str
    platform: str
    pages: int = 0
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    outside_window: int = 0
    skipped: dict[str, int] = Field(default_factory=dict)
    quarantine_reasons: dict[str, int] = Field(default_factory=dict)
    newest_cursor: str | None = None
    backfill_complete: bool = True
    seconds: float = 0.0


@dataclass
class _Batch:
    mentions: list[Mention] = field(default_factory=list)
    invalid: list[InvalidItem] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.mentions) + len(self.invalid)


@dataclass
class _Position:
    newest_cursor: str | None
    backfill_cursor: str | None
    backfill_newest: str | None


class ChannelIngest:
    """One ingest of one channel: backward walk if needed, then forward to the newest mention."""

    def __init__(
        self,
        *,
        channel: Channel,
        source: MentionSource,
        database_url: str,
        batch_size: int,
        rules: QualityRules,
        backfill: bool = False,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        actor: str = "ingest",
    ) -> None:
        self.channel = channel
        self.source = source
        self.database_url = database_url
        self.batch_size = batch_size
        self.rules = rules
        self.backfill = backfill
        self.now = now
        self.actor = actor
        self.result = ChannelResult(channel=channel.name, platform=channel.platform)
        self._skipped: Counter[str] = Counter()
        self._reasons: Counter[str] = Counter()

    # -- the walk ---------------------------------------------------------------------------
    def run(self) -> ChannelResult:
        started = time.perf_counter()
        position = self._load_position()
        pages_left = self.channel.max_pages_per_run
        if self.backfill or position.newest_cursor is None or position.backfill_cursor:
            position, pages_left = self._walk_backwards(position, pages_left)
        if position.backfill_cursor is None and pages_left > 0:
            position = self._walk_forwards(position, pages_left)
        self.result.newest_cursor = position.newest_cursor
        self.result.backfill_complete = position.backfill_cursor is None
        self.result.skipped = dict(self._skipped)
        self.result.quarantine_reasons = dict(self._reasons)
        self.result.seconds = round(time.perf_counter() - started, 3)
        with session_scope(self.database_url) as session:
            storage.audit(
                session=session,
                actor=self.actor,
                action="ingest.channel",
                subject_type="channel",
                subject_id=self.channel.name,
                details=self.result.model_dump(mode="json"),
            )
        return self.result

    @property
    def _prefetch_depth(self) -> int:
        # A batch's worth of pages ahead: the next batch is fetched and mapped while this one is
        # validated and committed (SQLite and the sockets release the interpreter lock). Memory
        # stays bounded at about two batches.
        return max(3, -(-self.batch_size // self.channel.page_size))

    def _load_position(self) -> _Position:
        with session_scope(self.database_url) as session:
            state = storage.get_channel_state(session=session, channel=self.channel.name)
            if state is None:
                return _Position(None, None, None)
            return _Position(state.newest_cursor, state.backfill_cursor, state.backfill_newest)

    def _walk_backwards(self, position: _Position, pages_left: int) -> tuple[_Position, int]:
        cutoff = self.now() - timedelta(hours=self.channel.backfill_hours)
        cursor = position.backfill_cursor  # resume an interrupted walk, else start at the top
        top = position.backfill_newest if cursor else None
        walk = _Walk(
            lambda c: self.source.fetch_mentions_page(max_id=c, limit=self.channel.page_size),
            start=cursor,
            budget=pages_left,
            next_cursor=lambda page: page.oldest_cursor,
            last=lambda page: (
                page.oldest_created_at is not None and page.oldest_created_at < cutoff
            ),
        )
        batch = _Batch()
        for page in prefetched(walk.pages(), depth=self._prefetch_depth):
            top = top or page.newest_cursor
            self._take(page, batch, cutoff=cutoff)
            cursor = page.oldest_cursor
            if len(batch) >= self.batch_size:
                position = _Position(position.newest_cursor, cursor, top)
                self._commit(batch, position)
                batch = _Batch()
        pages_left -= walk.fetched
        if walk.budget_spent:  # keep the resume point for the next run
            position = _Position(position.newest_cursor, cursor, top)
            self._commit(batch, position)
            return position, pages_left
        # The walk reached the end of the feed or the cutoff. On a first run the top of the walk
        # becomes the forward position; a backfill of a running channel keeps the forward
        # position it had, so any gap between the two is still walked forwards.
        position = _Position(position.newest_cursor or top, None, None)
        self._commit(batch, position)
        return position, pages_left

    def _walk_forwards(self, position: _Position, pages_left: int) -> _Position:
        walk = _Walk(
            lambda c: self.source.fetch_mentions_page(min_id=c, limit=self.channel.page_size),
            start=position.newest_cursor,
            budget=pages_left,
            next_cursor=lambda page: page.newest_cursor,
            last=lambda page: False,
        )
        batch = _Batch()
        for page in prefetched(walk.pages(), depth=self._prefetch_depth):
            self._take(page, batch, cutoff=None)
            position = _Position(page.newest_cursor, None, None)
            if len(batch) >= self.batch_size:
                self._commit(batch, position)
                batch = _Batch()
        self._commit(batch, position)
        return position

    # -- one page, one batch ----------------------------------------------------------------
    def _take(self, page: MentionPage, batch: _Batch, *, cutoff: datetime | None) -> None:
        self.result.pages += 1
        self.result.fetched += page.item_count
        for skipped in page.skipped:
            self._skipped[skipped.reason] += 1
        batch.invalid.extend(page.invalid)
        for mention in page.mentions:
            if cutoff and mention.created_at and mention.created_at < cutoff:
                self.result.outside_window += 1
            else:
                batch.mentions.append(mention)

    def _commit(self, batch: _Batch, position: _Position) -> None:
        report = validate_mentions(batch.mentions, now=self.now(), rules=self.rules)
        with session_scope(self.database_url) as session:
            storage.quarantine_items(
                session=session,
                channel=self.channel.name,
                platform=self.channel.platform,
                stage="parse",
                items=batch.invalid,
            )
            storage.quarantine_items(
                session=session,
                channel=self.channel.name,
                platform=self.channel.platform,
                stage="quality",
                items=report.invalid,
            )
            inserted = storage.store_mentions(session=session, mentions=report.valid)
            storage.save_channel_state(
                session=session,
                channel=self.channel.name,
                platform=self.channel.platform,
                newest_cursor=position.newest_cursor,
                backfill_cursor=position.backfill_cursor,
                backfill_newest=position.backfill_newest,
            )
        # Counted after the commit: the figures describe what is stored, not what was tried.
        for item in (*batch.invalid, *report.invalid):
            self._reasons[item.reason] += 1
        self.result.quarantined += len(batch.invalid) + len(report.invalid)
        self.result.stored += inserted
        self.result.duplicates += len(report.valid) - inserted


class IngestRun(BaseModel):
    """One ingest over several channels: who succeeded with what, and who failed and why."""

    results: list[ChannelResult] = Field(default_factory=list)
    failures: dict[str, str] = Field(default_factory=dict)

    @property
    def stored(self) -> int:
        return sum(r.stored for r in self.results)
