"""The crash-safe channel walk, against a fake platform feed and a real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from connectors.errors import Retryable
from socialops import storage
from socialops.config import Channel
from socialops.db import get_engine, session_scope
from socialops.ingest import ChannelIngest, ChannelResult
from socialops.quality import QualityRules
from tests.fakes import T0, FakeFeed, FeedItem, fixed_clock

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
    assert feed.calls[0] == (None, "00000200")  # forwards from the stored position
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
