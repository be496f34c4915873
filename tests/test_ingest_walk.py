"""The crash-safe channel walk, against a fake platform feed and a real database."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text

from connectors.errors import RateLimited, Retryable
from connectors.feeds import Entry, MergedFeed, Stream, StreamPage
from socialops import storage
from socialops.config import Channel
from socialops.db import get_engine, session_scope
from socialops.ingest import ChannelIngest, ChannelResult, CursorStuck
from socialops.mentions import InvalidItem, MentionPage
from socialops.quality import QualityRules
from tests.fakes import T0, FakeFeed, FeedItem, fixed_clock, mention

CHANNEL = Channel(
    name="mastodon-main",
    platform="mastodon",
    base_url="https://social.example",
    token_env="T",
    backfill_hours=24,
    page_size=80,
)


def ingest(
    feed: FakeFeed, url: str, *, at=T0, batch: int = 500, **channel: object
) -> ChannelResult:
    return ChannelIngest(
        channel=CHANNEL.model_copy(update=channel),
        source=feed,
        database_url=url,
        batch_size=batch,
        rules=QualityRules(),
        now=fixed_clock(at),
    ).run()


def stored_ids(url: str) -> list[str]:
    with session_scope(url) as session:
        return list(
            session.execute(
                select(storage.MentionRow.external_id).order_by(storage.MentionRow.external_id)
            ).scalars()
        )


def test_first_run_walks_back_to_the_window_then_forwards(database_url: str) -> None:
    feed = FakeFeed.every_minute(3000)  # 50 hours of history, one a minute
    result = ingest(feed, database_url)
    in_window = [i for i in feed.items if i.created_at >= T0 - timedelta(hours=24)]
    assert len(in_window) == 1441
    assert stored_ids(database_url) == sorted(f"s{i.cursor}" for i in in_window)
    assert (result.stored, result.duplicates, result.quarantined) == (1441, 0, 0)
    assert result.outside_window == result.fetched - 1441 > 0
    assert result.newest_cursor == feed.items[-1].cursor and result.backfill_complete
    assert feed.calls[0] == (None, None) and feed.calls[-1] == (None, feed.items[-1].cursor)


def test_second_run_fetches_only_what_is_new(database_url: str) -> None:
    feed = FakeFeed.every_minute(200)
    ingest(feed, database_url)
    feed.add(170, start=T0)
    feed.calls.clear()
    result = ingest(feed, database_url, at=T0 + timedelta(hours=3))
    assert (result.stored, result.duplicates) == (170, 0)
    # First the overlap behind the stored position is read again (10 minutes: 10 items), then
    # forwards from the position.
    assert feed.calls[:2] == [("00000200", None), (None, "00000200")]
    assert (result.rechecked, result.late) == (80, 0)
    assert len(stored_ids(database_url)) == 370
    again = ingest(feed, database_url, at=T0 + timedelta(hours=3))
    assert (again.fetched, again.stored) == (0, 0)


def test_a_dropped_connection_mid_walk_resumes_and_stores_each_once(database_url: str) -> None:
    feed = FakeFeed.every_minute(1000)
    feed.fail_on_call = {9}  # after 8 pages and one committed batch of 500+
    with pytest.raises(Retryable):
        ingest(feed, database_url, backfill_hours=48)
    with session_scope(database_url) as session:
        state = storage.get_channel_state(session=session, channel="mastodon-main")
        assert state is not None and state.newest_cursor is None
        assert state.backfill_cursor is not None  # the resume point, committed with its rows
    partial = len(stored_ids(database_url))
    assert 0 < partial < 1000
    feed.fail_on_call = set()
    result = ingest(feed, database_url, backfill_hours=48)
    assert stored_ids(database_url) == sorted(f"s{i.cursor}" for i in feed.items)
    assert result.stored == 1000 - partial


def test_a_crash_between_fetch_and_store_loses_nothing(sqlite_url: str) -> None:
    from socialops.db import migrate

    migrate(sqlite_url)
    feed = FakeFeed.every_minute(300)
    with get_engine(sqlite_url).begin() as conn:  # the disk "fails" on the first insert
        conn.execute(
            text(
                "CREATE TRIGGER fail_insert BEFORE INSERT ON mentions "
                "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
            )
        )
    with pytest.raises(Exception, match="disk I/O error"):
        ingest(feed, sqlite_url)
    with session_scope(sqlite_url) as session:
        assert storage.get_channel_state(session=session, channel="mastodon-main") is None
    assert stored_ids(sqlite_url) == []
    with get_engine(sqlite_url).begin() as conn:
        conn.execute(text("DROP TRIGGER fail_insert"))
    result = ingest(feed, sqlite_url)
    assert result.stored == 300 and len(stored_ids(sqlite_url)) == 300


def test_the_page_budget_leaves_a_resumable_backfill(database_url: str) -> None:
    feed = FakeFeed.every_minute(1000)
    first = ingest(feed, database_url, max_pages_per_run=4, backfill_hours=48)
    assert (first.pages, first.stored, first.backfill_complete) == (4, 320, False)
    second = ingest(feed, database_url, backfill_hours=48)
    assert second.backfill_complete and second.stored == 680
    assert len(stored_ids(database_url)) == 1000


def test_invalid_and_skipped_items_are_counted_and_quarantined(database_url: str) -> None:
    feed = FakeFeed.every_minute(100)
    feed.items[10].kind = "invalid"
    feed.items[20].kind = "skipped"
    feed.items[30].kind = "skipped"
    result = ingest(feed, database_url)
    assert (result.stored, result.quarantined, result.skipped) == (97, 1, {"status is null": 2})
    assert result.quarantine_reasons == {"bad": 1}
    with session_scope(database_url) as session:
        rows = session.execute(select(storage.QuarantineRow)).scalars().all()
        assert [(r.stage, r.reason, r.raw) for r in rows] == [("parse", "bad", {"id": "00000011"})]
        audit = session.execute(select(storage.AuditRow)).scalars().all()
        assert [a.action for a in audit] == ["ingest.channel"]
        assert audit[0].details["stored"] == 97


def test_explicit_backfill_keeps_the_forward_position(database_url: str) -> None:
    feed = FakeFeed.every_minute(100)
    ingest(feed, database_url)
    newest = feed.items[-1].cursor
    result = ChannelIngest(
        channel=CHANNEL,
        source=feed,
        database_url=database_url,
        batch_size=500,
        rules=QualityRules(),
        now=fixed_clock(T0),
        backfill=True,
    ).run()
    assert (result.stored, result.duplicates) == (0, 100)
    assert result.newest_cursor == newest


def test_an_empty_feed_is_fine(database_url: str) -> None:
    result = ingest(FakeFeed([]), database_url)
    assert (result.fetched, result.stored, result.newest_cursor) == (0, 0, None)
    feed = FakeFeed([FeedItem("00000001", T0)])
    assert ingest(feed, database_url).stored == 1


def state_of(url: str) -> storage.ChannelState | None:
    with session_scope(url) as session:
        state = storage.get_channel_state(session=session, channel="mastodon-main")
        if state is not None:
            session.expunge(state)
        return state


def test_a_rate_limit_mid_walk_commits_what_was_fetched_and_resumes_there(
    database_url: str,
) -> None:
    """A quota smaller than one batch (5 pages a window, 5,000 per batch): before, every run
    re-fetched the same pages and stored nothing; now each run keeps its pages."""
    feed = FakeFeed.every_minute(1000)  # 13 pages, backfill of 48 h reaches them all
    feed.quota = 5
    stored: list[int] = []
    while len(stored) < 10:
        feed.refill()
        walk = ChannelIngest(
            channel=CHANNEL.model_copy(update={"backfill_hours": 48}),
            source=feed,
            database_url=database_url,
            batch_size=5000,
            rules=QualityRules(),
            now=fixed_clock(T0),
        )
        try:
            stored.append(walk.run().stored)
            break
        except RateLimited:
            stored.append(walk.result.stored)
            assert walk.result.error == "RateLimited: rate-limit quota spent until 12:05"
            state = state_of(database_url)
            assert state is not None and state.backfill_cursor is not None
    assert stored == [400, 400, 200]  # the last run: 3 pages, then forwards (nothing new)
    ids = stored_ids(database_url)
    assert len(ids) == len(set(ids)) == 1000

    # Forwards too: 900 new mentions, 4 pages a window.
    feed.add(900, start=T0)
    feed.quota = 4
    stored = []
    for _ in range(6):
        feed.refill()
        try:
            stored.append(
                ingest(feed, database_url, at=T0 + timedelta(hours=16), batch=5000).stored
            )
            break
        except RateLimited:
            stored.append(len(stored_ids(database_url)) - 1000 - sum(stored))
    assert stored[0] == 240  # the first window: the overlap page, then 3 new pages kept
    assert len(set(stored_ids(database_url))) == len(stored_ids(database_url)) == 1900


def test_a_failure_mid_walk_reports_what_it_committed(database_url: str) -> None:
    feed = FakeFeed.every_minute(1000)
    feed.fail_on_call = {4}
    walk = ChannelIngest(
        channel=CHANNEL.model_copy(update={"backfill_hours": 48}),
        source=feed,
        database_url=database_url,
        batch_size=5000,
        rules=QualityRules(),
        now=fixed_clock(T0),
    )
    with pytest.raises(Retryable):
        walk.run()
    assert (walk.result.pages, walk.result.stored) == (3, 240)
    assert walk.result.error == "Retryable: connection reset by peer"
    assert walk.result.backfill_complete is False
    with session_scope(database_url) as session:
        audit = session.execute(select(storage.AuditRow)).scalars().one()
        assert audit.action == "ingest.channel-failed" and audit.details["stored"] == 240


def test_an_id_revealed_late_behind_the_position_is_found_by_the_overlap(
    database_url: str,
) -> None:
    feed = FakeFeed.every_minute(200)
    ingest(feed, database_url)
    # Its id was given before the newest ones, but it became visible only now.
    feed.insert(FeedItem("000001975", T0 - timedelta(minutes=3)))
    feed.add(5, start=T0)
    result = ingest(feed, database_url, at=T0 + timedelta(hours=1))
    assert "s000001975" in stored_ids(database_url)
    assert (result.stored, result.late, result.duplicates) == (6, 1, 0)
    assert result.fetched == 5  # the re-read is counted apart: `rechecked`
    assert result.rechecked == 80  # one page: it reaches back past the 10-minute window
    # The summary's sum holds: the late find counts as fetched and stored.
    figures = result.accounted()
    assert (figures["fetched"], figures["stored"]) == (6, 6)
    assert figures["fetched"] == sum(v for k, v in figures.items() if k != "fetched")


def test_the_overlap_can_be_turned_off(database_url: str) -> None:
    feed = FakeFeed.every_minute(200)
    ingest(feed, database_url)
    feed.insert(FeedItem("000001975", T0 - timedelta(minutes=3)))
    feed.calls.clear()
    result = ingest(feed, database_url, overlap_minutes=0)
    assert feed.calls == [(None, "00000200")] and result.late == 0


class RepeatingServer:
    """A broken or hostile server: ``next`` leads back to the same page, forever."""

    def __init__(self) -> None:
        self.calls = 0
        self.page = FakeFeed.every_minute(3).fetch_mentions_page()
        self.page.invalid.append(InvalidItem(raw={"id": "bad-1"}, reason="bad"))

    def fetch_mentions_page(
        self, *, max_id: str | None = None, min_id: str | None = None, limit: int = 80
    ) -> MentionPage:
        self.calls += 1
        return self.page.model_copy(update={"oldest_cursor": "00000001"})


def test_a_cursor_that_does_not_move_stops_the_walk(database_url: str) -> None:
    server = RepeatingServer()
    walk = ChannelIngest(
        channel=CHANNEL,
        source=server,
        database_url=database_url,
        batch_size=500,
        rules=QualityRules(),
        now=fixed_clock(T0),
    )
    with pytest.raises(CursorStuck, match="does not move past cursor '00000001'"):
        walk.run()
    assert server.calls == 2  # not 1,000
    assert (walk.result.stored, walk.result.quarantined) == (3, 1)  # the first page, kept
    with session_scope(database_url) as session:
        assert len(session.execute(select(storage.QuarantineRow)).scalars().all()) == 1


class CyclingServer:
    """Pages that advance their cursors but serve the same items again and again."""

    def __init__(self, pages: int) -> None:
        self.pages = pages
        self.served = 0
        self.items = FakeFeed.every_minute(3).fetch_mentions_page()
        self.items.invalid.append(InvalidItem(raw={"id": "bad-1", "n": 1}, reason="bad"))

    def fetch_mentions_page(
        self, *, max_id: str | None = None, min_id: str | None = None, limit: int = 80
    ) -> MentionPage:
        self.served += 1
        if self.served > self.pages:
            return MentionPage()
        cursor = f"c{1000 - self.served}"
        return self.items.model_copy(update={"oldest_cursor": cursor, "newest_cursor": cursor})


def test_an_item_served_twice_in_a_run_is_taken_once(database_url: str) -> None:
    walk = ChannelIngest(
        channel=CHANNEL,
        source=CyclingServer(pages=5),
        database_url=database_url,
        batch_size=500,
        rules=QualityRules(),
        now=fixed_clock(T0),
    )
    result = walk.run()
    assert (result.stored, result.quarantined, result.duplicates) == (3, 1, 0)
    assert result.repeated == 4 * 4  # four more pages of the same 3 mentions and 1 bad item
    assert result.quarantine_reasons == {"bad": 1}
    figures = result.accounted()  # the copies served again count as skipped
    assert (figures["fetched"], figures["skipped"]) == (20, 16)
    assert figures["fetched"] == sum(v for k, v in figures.items() if k != "fetched")


def _merged_feed(items: list[tuple[str, datetime]], at: datetime) -> MergedFeed:
    """A Bluesky/Reddit-style source: one newest-first stream, paged by an opaque cursor."""

    def fetch(cursor: str | None, since: datetime | None, limit: int) -> StreamPage:
        start = int(cursor or 0)
        newest_first = sorted(items, key=lambda i: i[1], reverse=True)
        page = newest_first[start : start + limit]
        entries = [
            Entry(item=mention(ext, created_at=when), at=when, key=ext) for ext, when in page
        ]
        more = start + limit < len(newest_first)
        return StreamPage(entries=entries, next_cursor=str(start + limit) if more else None)

    return MergedFeed(
        [Stream("notifications", fetch)],
        cutoff=at - timedelta(hours=24),
        reread=timedelta(minutes=30),
        max_pages=10,
        now=fixed_clock(at),
    )


def test_a_quiet_run_that_only_rereads_its_window_does_not_stop_on_its_own_position(
    database_url: str,
) -> None:
    """A feed merged from several streams re-reads a window behind its time position on every
    forward sweep. A run that finds nothing newer, only what it re-read, must hand back a
    position the walk has not asked for yet, or a quiet channel fails every other run."""
    items = [(f"m{i}", T0 - timedelta(minutes=5 * i)) for i in range(5)]
    channel = {"name": "bluesky-main", "platform": "bluesky"}
    results = []
    for run in range(4):
        at = T0 + timedelta(minutes=run)
        walk = ChannelIngest(
            channel=CHANNEL.model_copy(update=channel),
            source=_merged_feed(items, at),
            database_url=database_url,
            batch_size=500,
            rules=QualityRules(),
            now=fixed_clock(at),
        )
        results.append(walk.run())
        if run == 1:
            items.append(("m-new", T0 + timedelta(seconds=30)))
    assert [r.error for r in results] == [None] * 4
    assert [r.stored for r in results] == [5, 0, 1, 0]
    assert all(r.newest_cursor and r.newest_cursor.startswith("t:") for r in results)
