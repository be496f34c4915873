"""Windowed backfills: days in the organisation's zone, resumable, idempotent with live ingest."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.errors import Retryable
from socialops import backfill, storage
from socialops.config import Channel
from socialops.db import session_scope
from socialops.quality import QualityRules
from tests.fakes import FakeFeed
from tests.test_ingest_flow import Sandboxed, run_flow, sandboxed, stored_ids

__all__ = ["sandboxed"]  # the fixture, shared with the ingest flow tests

CHANNEL = Channel(
    name="mastodon-main",
    platform="mastodon",
    base_url="https://social.example",
    token_env="X_TOKEN",
    page_size=40,
)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_days_are_the_organisations_days_newest_first_clipped_to_the_window() -> None:
    # 29 March 2026: the clocks go forward in London (a 23-hour day).
    days = backfill.window_days(
        datetime(2026, 3, 28, 12), datetime(2026, 3, 30, 6), "Europe/London"
    )
    assert [d.day for d in days] == [date(2026, 3, 30), date(2026, 3, 29), date(2026, 3, 28)]
    assert days[0].end == datetime(2026, 3, 30, 5, tzinfo=UTC)  # 06:00 BST, clipped
    assert days[1].end - days[1].start == timedelta(hours=23)
    assert days[2].start == datetime(2026, 3, 28, 12, tzinfo=UTC)  # 12:00 GMT
    with pytest.raises(ValueError, match="must be after"):
        backfill.window_days(datetime(2026, 3, 2), datetime(2026, 3, 1), "UTC")


def _run(feed: FakeFeed, url: str, day: backfill.Day, cursor: str | None) -> backfill.DayResult:
    return backfill.DayBackfill(
        channel=CHANNEL, source=feed, database_url=url, rules=QualityRules(), now=NOW
    ).run(day, cursor=cursor)


def test_each_day_is_resumed_where_the_newer_one_ended_and_a_failure_resumes(
    database_url: str,
) -> None:
    feed = FakeFeed.every_minute(3 * 24 * 60, newest=NOW - timedelta(minutes=1))
    days = backfill.window_days(NOW - timedelta(days=2, hours=12), NOW, "UTC")
    assert len(days) == 3
    first = _run(feed, database_url, days[0], None)
    assert first.finished and first.stored == 12 * 60
    feed.calls.clear()
    feed.fail_on_call = {3}
    with pytest.raises(Retryable):
        _run(feed, database_url, days[1], first.resume_cursor)
    assert feed.calls[0] == (first.resume_cursor, None)  # no walk from the top again
    with session_scope(database_url) as session:
        done = backfill.finished_days(session=session, channel=CHANNEL.name)
    assert set(done) == {days[0].day}  # the failed day is not recorded
    cursor = backfill.start_cursor(done, days[1].day)
    assert cursor == first.resume_cursor
    feed.fail_on_call = set()
    second = _run(feed, database_url, days[1], cursor)
    third = _run(feed, database_url, days[2], second.resume_cursor)
    assert second.stored == third.stored == 24 * 60  # 00:00 to 00:00, each minute once
    ids = stored(database_url)
    assert len(ids) == len(set(ids)) == 60 * 60
    expected_oldest = NOW - timedelta(days=2, hours=12)
    assert min(created(database_url)) == expected_oldest


def test_a_day_not_over_yet_is_fetched_but_not_recorded(database_url: str) -> None:
    feed = FakeFeed.every_minute(120, newest=NOW - timedelta(minutes=1))
    today = backfill.window_days(NOW - timedelta(hours=1), NOW + timedelta(hours=3), "UTC")[0]
    result = _run(feed, database_url, today, None)
    assert result.stored == 60 and not result.finished
    with session_scope(database_url) as session:
        assert backfill.finished_days(session=session, channel=CHANNEL.name) == {}


def stored(url: str) -> list[str]:
    with session_scope(url) as session:
        return list(session.scalars(select(storage.MentionRow.external_id)))


def created(url: str) -> list[datetime]:
    with session_scope(url) as session:
        return [c for c in session.scalars(select(storage.MentionRow.created_at)) if c]


@pytest.mark.e2e
@pytest.mark.usefixtures("prefect_api")
def test_backfill_flow_then_live_ingest_store_each_mention_once_and_a_rerun_skips(
    sandboxed: Callable[..., Sandboxed], socialops_env: Path
) -> None:
    from prefect.client.orchestration import get_client

    from flows.backfill_mentions import backfill_mentions
    from tasks.limits import account_limit_name

    sandbox = sandboxed(history_hours=6, rate_per_hour=150)
    until = sandbox.clock.at - timedelta(minutes=30)
    since = until - timedelta(hours=4)
    results = backfill_mentions(since=since, until=until)
    assert isinstance(results, list)
    assert {r.channel for r in results} == {"mastodon-main", "mastodon-help"}
    assert all(r.finished and not r.skipped_as_done for r in results)
    backfilled = set(stored_ids())
    assert backfilled and sum(r.stored for r in results) == len(backfilled)
    window = [c for c in created(socialops_env_url()) if not since <= c < until]
    assert window == []  # nothing outside the window

    again = backfill_mentions(since=since, until=until)
    assert isinstance(again, list) and all(r.skipped_as_done for r in again)

    state, live = run_flow()  # live ingest after: nothing twice, no gap
    assert state.is_completed()
    ids = stored_ids()
    assert len(ids) == len(set(ids)) and set(ids) == sandbox.expected()["stored"]
    assert sum(r.duplicates for r in live.results) >= len(backfilled)

    with get_client(sync_client=True) as client:  # the accounts' limits exist, one slot each
        for channel in ("mastodon-main", "mastodon-help"):
            limit = client.read_global_concurrency_limit_by_name(account_limit_name(channel))
            assert limit.limit == 1 and limit.active_slots == 0


def socialops_env_url() -> str:
    from socialops.settings import get_settings

    return get_settings().resolved_database_url()
