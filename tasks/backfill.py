"""Backfill tasks: plan a window, fetch one day of one channel, the run's artifacts."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from prefect import task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff
from pydantic import BaseModel

from connectors import registry
from socialops import backfill
from socialops.config import load_config
from socialops.db import session_scope
from socialops.settings import get_settings
from tasks.ingest import quality_rules, retry_transient
from tasks.limits import platform_account


class PlannedDay(BaseModel):
    """One day of one channel in a backfill window, and whether an earlier run finished it."""

    channel: str
    day: date
    start: datetime
    end: datetime
    done: bool
    resume_cursor: str | None = None


@task(name="plan-backfill", cache_policy=NO_CACHE)
def plan_backfill(
    channels: list[str] | None, since: datetime, until: datetime, force: bool
) -> list[PlannedDay]:
    """The window's days per channel, newest first (naive times in the organisation's zone);
    with ``force`` the finished ones are forgotten and fetched again."""
    settings = get_settings()
    org = load_config(settings.config, channels_path=settings.channels)
    names = (
        [org.channel(n).name for n in channels]
        if channels
        else [c.name for c in org.channels if c.enabled]
    )
    days = backfill.window_days(since, until, org.organisation.timezone)
    plan: list[PlannedDay] = []
    with session_scope(settings.resolved_database_url()) as session:
        for name in names:
            if force:
                backfill.forget_days(session=session, channel=name, days=[d.day for d in days])
            done = backfill.finished_days(session=session, channel=name)
            plan.extend(
                PlannedDay(
                    channel=name,
                    day=d.day,
                    start=d.start,
                    end=d.end,
                    done=d.day in done,
                    resume_cursor=done.get(d.day),
                )
                for d in days
            )
    return plan


@task(
    name="backfill-day",
    task_run_name="backfill-{channel_name}-{day}",
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=1),
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
)
def backfill_day(
    channel_name: str, day: date, start: datetime, end: datetime, cursor: str | None
) -> backfill.DayResult:
    """Fetch one day of one channel from ``cursor`` backwards and store it (recorded as
    finished once the day is over), holding the channel's account limit."""
    settings = get_settings()
    org = load_config(settings.config, channels_path=settings.channels)
    channel = org.channel(channel_name)
    with (
        platform_account(channel.name),
        registry.open_source(
            channel, max_rate_limit_wait=settings.rate_limit_max_wait_seconds
        ) as source,
    ):
        return backfill.DayBackfill(
            channel=channel,
            source=source,
            database_url=settings.resolved_database_url(),
            rules=quality_rules(),
            batch_size=settings.ingest_batch_size,
        ).run(backfill.Day(day, start, end), cursor=cursor)


@task(name="start-backfill-progress", cache_policy=NO_CACHE)
def start_progress(total: int, done: int) -> UUID:
    artifact_id = create_progress_artifact(
        progress=_percent(done, total),
        key="backfill-progress",
        description=f"Days fetched of {total} (channels x days)",
    )
    assert isinstance(artifact_id, UUID)  # a sync task gets the value, not a coroutine
    return artifact_id


@task(name="update-backfill-progress", cache_policy=NO_CACHE)
def update_progress(artifact_id: UUID, total: int, done: int) -> None:
    update_progress_artifact(artifact_id=artifact_id, progress=_percent(done, total))


def _percent(done: int, total: int) -> float:
    return round(100.0 * done / total, 1) if total else 100.0


@task(name="publish-backfill-summary", cache_policy=NO_CACHE)
def publish_backfill_summary(results: list[backfill.DayResult], failures: dict[str, str]) -> str:
    markdown = backfill.summary_markdown(results, failures)
    create_markdown_artifact(
        markdown=markdown,
        key="backfill-summary",
        description="Days backfilled per channel: fetched, stored, duplicates, quarantined",
    )
    return markdown
