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

import contextvars
import hashlib
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, Field

from socialops import storage
from socialops.config import Channel
from socialops.db import session_scope
from socialops.mentions import InvalidItem, Mention, MentionPage, RawJSON
from socialops.quality import QualityRules, validate_mentions

T = TypeVar("T")


class MentionSource(Protocol):
    """What the walk needs from a platform client."""

    def fetch_mentions_page(
        self, *, max_id: str | None = None, min_id: str | None = None, limit: int = 80
    ) -> MentionPage: ...


class CursorStuck(Exception):
    """The platform's next page did not move past the one before: a broken or hostile server.

    Following it would fetch the same page until the budget runs out, so the walk stops.
    """


class _Walk:
    """The pages of one walk, each request's cursor taken from the page before.

    Stops at an empty page, after the page ``last`` says is the last, or when the page budget is
    spent (``budget_spent``: there may be more to fetch next run). Raises ``CursorStuck`` when
    a page's cursor repeats one this walk already asked for.
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
        self._asked: set[str] = set()

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
            if cursor == self.cursor or cursor in self._asked:
                raise CursorStuck(
                    f"the platform's next page does not move past cursor {cursor!r} "
                    f"(page {self.fetched} of this walk repeats one before it): a broken "
                    "or hostile server; stopped the walk"
                )
            if self.cursor is not None:
                self._asked.add(self.cursor)
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

    # The fetching thread runs in a copy of this one's context, so what the platform client
    # logs there (a retried 503...) is still known to belong to this task's run.
    context = contextvars.copy_context()
    worker = threading.Thread(target=context.run, args=(produce,), name="prefetch", daemon=True)
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
    rechecked: int = 0
    """Items re-read behind the newest position (ids can become visible out of order)."""
    late: int = 0
    """Of ``stored``, mentions found only by that re-read: they appeared after newer ones."""
    repeated: int = 0
    """Items the platform served twice in this run (kept once, quarantined at most once)."""
    repeated_rechecked: int = 0
    """Of ``repeated``, those seen twice by the re-read (not part of ``fetched``)."""
    late_quarantined: int = 0
    """Of ``quarantined``, bad items found only by the re-read (not part of ``fetched``)."""
    error: str | None = None
    """Why the channel stopped early; what it committed before is in the figures above."""
    resume_at: datetime | None = None
    """When a rate-limited channel can continue (the next run after it picks it up)."""

    def carry(self, earlier: ChannelResult) -> None:
        """Add what an earlier attempt of the same run committed."""
        for name in ("pages", "fetched", "stored", "duplicates", "quarantined"):
            setattr(self, name, getattr(self, name) + getattr(earlier, name))
        for name in (
            "outside_window",
            "rechecked",
            "late",
            "repeated",
            "repeated_rechecked",
            "late_quarantined",
        ):
            setattr(self, name, getattr(self, name) + getattr(earlier, name))
        for counts, more in (
            (self.skipped, earlier.skipped),
            (self.quarantine_reasons, earlier.quarantine_reasons),
        ):
            for reason, n in more.items():
                counts[reason] = counts.get(reason, 0) + n
        self.seconds = round(self.seconds + earlier.seconds, 3)

    def accounted(self) -> dict[str, int]:
        """The run's figures as one sum: ``fetched`` = ``skipped`` + ``quarantined`` +
        ``stored`` + ``already_stored`` + ``outside_window``, for every channel that did not
        fail in storage.

        ``fetched`` is what the walk read plus what the re-read behind the position found new
        (the re-read's known items are ``rechecked``, reported apart); ``skipped`` counts items
        that are not mentions and items the platform served twice in the run (taken once);
        ``quarantined`` and ``stored`` count rows new in the database; ``already_stored`` what
        it held already (mentions, or bad items kept before).
        """
        walk_repeated = self.repeated - self.repeated_rechecked
        return {
            "fetched": self.fetched + self.late + self.late_quarantined,
            "skipped": sum(self.skipped.values()) + walk_repeated,
            "quarantined": self.quarantined,
            "stored": self.stored,
            "already_stored": self.duplicates,
            "outside_window": self.outside_window,
        }


class ChannelFailed(Exception):
    """A channel stopped on an error after committing what it had fetched.

    ``result`` holds those figures (and the error); ``retryable`` says whether trying again
    soon can help; ``resume_at`` is when a rate limit lifts.
    """

    def __init__(
        self,
        message: str,
        *,
        result: ChannelResult,
        retryable: bool = False,
        resume_at: datetime | None = None,
    ) -> None:
        super().__init__(message)
        self.result = result
        self.retryable = retryable
        self.resume_at = resume_at

    def __reduce__(self) -> tuple[Any, ...]:  # keyword-only arguments survive pickling
        return (
            _rebuild_channel_failed,
            (str(self), self.result, self.retryable, self.resume_at),
        )


def _rebuild_channel_failed(
    message: str, result: ChannelResult, retryable: bool, resume_at: datetime | None
) -> ChannelFailed:
    return ChannelFailed(message, result=result, retryable=retryable, resume_at=resume_at)


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
    """One ingest of one channel: backward walk if needed, a re-read of the overlap behind the
    newest position, then forward to the newest mention.

    Whatever stops a walk (a rate limit, a server gone, a cursor that does not move), what was
    fetched before it is committed with the position that covers it, then the error is raised:
    the next run continues from there, and ``result`` says what this one stored.
    """

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
        self._seen: set[str] = set()  # mentions' and bad items' keys taken in this run
        self._position = _Position(None, None, None)
        self._storage_failed = False  # then there is nothing to rescue: the database is down

    # -- the walk ---------------------------------------------------------------------------
    def run(self) -> ChannelResult:
        """Walk, commit, audit; on an error, commit what was fetched, audit, and raise."""
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            self._walk()
        except Exception as exc:
            error = exc
            self.result.error = f"{type(exc).__name__}: {exc}"
        position = self._position
        self.result.newest_cursor = position.newest_cursor
        self.result.backfill_complete = position.backfill_cursor is None
        self.result.skipped = dict(self._skipped)
        self.result.quarantine_reasons = dict(self._reasons)
        self.result.seconds = round(time.perf_counter() - started, 3)
        try:
            with session_scope(self.database_url) as session:
                storage.audit(
                    session=session,
                    actor=self.actor,
                    action="ingest.channel" if error is None else "ingest.channel-failed",
                    subject_type="channel",
                    subject_id=self.channel.name,
                    details=self.result.model_dump(mode="json"),
                )
        except Exception:
            if error is None:
                raise
            # The first error is the news; an audit that cannot be written follows from it.
        if error is not None:
            raise error
        return self.result

    def _walk(self) -> None:
        self._position = position = self._load_position()
        pages_left = self.channel.max_pages_per_run
        backwards = self.backfill or position.newest_cursor is None or position.backfill_cursor
        if backwards:
            position, pages_left = self._walk_backwards(position, pages_left)
        if position.backfill_cursor is None and pages_left > 0:
            # A backward walk from the top has just read what an overlap would read again.
            if (
                not backwards
                and self.channel.overlap_minutes > 0
                and not getattr(self.source, "rereads_overlap", False)
            ):
                pages_left = self._reread_overlap(position, pages_left)
            if pages_left > 0:
                self._walk_forwards(position, pages_left)

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
        try:
            for page in prefetched(walk.pages(), depth=self._prefetch_depth):
                top = top or page.newest_cursor
                self._take(page, batch, cutoff=cutoff)
                cursor = page.oldest_cursor
                if len(batch) >= self.batch_size:
                    position = _Position(position.newest_cursor, cursor, top)
                    self._commit(batch, position)
                    batch = _Batch()
        except Exception:
            # Keep what was fetched, and where to resume: a walk that always fails at the same
            # point (a quota smaller than a batch) still moves forward run after run.
            if cursor is not None and not self._storage_failed:
                self._commit(batch, _Position(position.newest_cursor, cursor, top))
            raise
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

    def _reread_overlap(self, position: _Position, pages_left: int) -> int:
        """Read again, backwards, the items just behind the newest position.

        Servers give an item its id before the row is committed, in concurrent workers, so an
        id older than the newest one seen can become visible later. Walking back
        ``overlap_minutes`` (of item time) from the position each run finds those; storage
        keeps everything else once. The position does not move.
        """
        window = timedelta(minutes=self.channel.overlap_minutes)
        anchor: list[datetime] = []  # the newest item time behind the position

        def past_window(page: MentionPage) -> bool:
            if not anchor:
                first = page.newest_created_at or page.oldest_created_at
                if first is None:
                    return True  # no times to measure a window by: one page is the overlap
                anchor.append(first)
            oldest = page.oldest_created_at
            return oldest is None or oldest < anchor[0] - window

        walk = _Walk(
            lambda c: self.source.fetch_mentions_page(max_id=c, limit=self.channel.page_size),
            start=position.newest_cursor,
            budget=pages_left,
            next_cursor=lambda page: page.oldest_cursor,
            last=past_window,
        )
        batch = _Batch()
        try:
            for page in prefetched(walk.pages(), depth=3):
                self._take(page, batch, cutoff=None, overlap=True)
        except Exception:
            if len(batch) and not self._storage_failed:  # late items found so far are kept
                self._commit(batch, position, overlap=True)
            raise
        self._commit(batch, position, overlap=True)
        return pages_left - walk.fetched

    def _walk_forwards(self, position: _Position, pages_left: int) -> None:
        walk = _Walk(
            lambda c: self.source.fetch_mentions_page(min_id=c, limit=self.channel.page_size),
            start=position.newest_cursor,
            budget=pages_left,
            next_cursor=lambda page: page.newest_cursor,
            last=lambda page: False,
        )
        batch = _Batch()
        committed = position
        try:
            for page in prefetched(walk.pages(), depth=self._prefetch_depth):
                self._take(page, batch, cutoff=None)
                position = _Position(page.newest_cursor, None, None)
                if len(batch) >= self.batch_size:
                    self._commit(batch, position)
                    committed, batch = position, _Batch()
        except Exception:
            if position != committed and not self._storage_failed:
                self._commit(batch, position)  # what was fetched since the last commit is kept
            raise
        self._commit(batch, position)

    # -- one page, one batch ----------------------------------------------------------------
    def _take(
        self, page: MentionPage, batch: _Batch, *, cutoff: datetime | None, overlap: bool = False
    ) -> None:
        self.result.pages += 1
        if overlap:
            self.result.rechecked += page.item_count
        else:
            self.result.fetched += page.item_count
        seen = self._seen
        for skipped in page.skipped:
            if not overlap:
                self._skipped[skipped.reason] += 1
        for item in page.invalid:
            key = "invalid:" + _item_key(item.raw)
            if key in seen:
                self.result.repeated += 1
                self.result.repeated_rechecked += overlap
                continue
            seen.add(key)
            batch.invalid.append(item)
        for mention in page.mentions:
            key = mention.external_id
            if key in seen:
                self.result.repeated += 1
                self.result.repeated_rechecked += overlap
                continue
            seen.add(key)
            if cutoff and mention.created_at and mention.created_at < cutoff:
                self.result.outside_window += 1
            else:
                batch.mentions.append(mention)

    def _commit(self, batch: _Batch, position: _Position, *, overlap: bool = False) -> None:
        try:
            self._store(batch, position, overlap=overlap)
        except Exception:
            self._storage_failed = True
            raise

    def _store(self, batch: _Batch, position: _Position, *, overlap: bool) -> None:
        if overlap and not len(batch):
            return
        report = validate_mentions(batch.mentions, now=self.now(), rules=self.rules)
        with session_scope(self.database_url) as session:
            bad = storage.quarantine_items(
                session=session,
                channel=self.channel.name,
                platform=self.channel.platform,
                stage="parse",
                items=batch.invalid,
            )
            bad += storage.quarantine_items(
                session=session,
                channel=self.channel.name,
                platform=self.channel.platform,
                stage="quality",
                items=report.invalid,
            )
            inserted = storage.store_mentions(session=session, mentions=report.valid)
            if not overlap:
                storage.save_channel_state(
                    session=session,
                    channel=self.channel.name,
                    platform=self.channel.platform,
                    newest_cursor=position.newest_cursor,
                    backfill_cursor=position.backfill_cursor,
                    backfill_newest=position.backfill_newest,
                )
        self._position = position
        # Counted after the commit: the figures describe what is stored, not what was tried.
        self.result.stored += inserted
        if overlap:
            # Re-read items were handled by an earlier run: only what is new here counts.
            self.result.late += inserted
            self.result.quarantined += bad
            self.result.late_quarantined += bad
            return
        for item in (*batch.invalid, *report.invalid):
            self._reasons[item.reason] += 1
        # New rows only: a bad item kept by an earlier run is "already stored", as a mention is.
        invalid = len(batch.invalid) + len(report.invalid)
        self.result.quarantined += bad
        self.result.duplicates += len(report.valid) - inserted + invalid - bad


def _item_key(raw: Any) -> str:
    """Which item a bad payload is, to take it once per run: its id, else its content."""
    if isinstance(raw, dict):
        value = raw.get("id")
        if isinstance(value, str | int) and not isinstance(value, bool):
            return f"id:{value}"
    return "sha:" + hashlib.sha256(RawJSON.of(raw).json).hexdigest()


class IngestRun(BaseModel):
    """One ingest over several channels: who succeeded with what, and who failed and why."""

    results: list[ChannelResult] = Field(default_factory=list)
    failures: dict[str, str] = Field(default_factory=dict)

    @property
    def stored(self) -> int:
        return sum(r.stored for r in self.results)
