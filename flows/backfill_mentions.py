"""The backfill flow: a time window fetched again, day by day, per channel."""

from __future__ import annotations

from datetime import datetime

from prefect import State, flow
from prefect.states import Failed

from flows.classify_mentions import classify_mentions
from socialops.backfill import DayResult
from tasks.backfill import (
    backfill_day,
    plan_backfill,
    publish_backfill_summary,
    start_progress,
    update_progress,
)
from tasks.notify import send_notifications
from tasks.route import route_classified


@flow(name="backfill-mentions")
def backfill_mentions(
    since: datetime,
    until: datetime,
    channels: list[str] | None = None,
    reclassify: bool = False,
    force: bool = False,
) -> list[DayResult] | State:
    """Fetch a time window again, one day per task; finished days are skipped on a rerun."""
    plan = plan_backfill(channels, since, until, force)
    done = sum(d.done for d in plan)
    progress = start_progress(len(plan), done)
    results: list[DayResult] = []
    failures: dict[str, str] = {}
    cursors: dict[str, str | None] = {}
    for day in plan:  # per channel, newest day first: each day starts where the newer ended
        if day.done:
            cursors[day.channel] = day.resume_cursor
            results.append(DayResult(channel=day.channel, day=day.day, skipped_as_done=True))
            continue
        if day.channel in failures:
            continue  # the older days of a failed channel need the newer ones' cursor
        try:
            result = backfill_day(
                day.channel, day.day, day.start, day.end, cursors.get(day.channel)
            )
        except Exception as exc:
            failures[day.channel] = f"{day.day.isoformat()}: {type(exc).__name__}: {exc}"
            continue
        cursors[day.channel] = result.resume_cursor
        results.append(result)
        done += 1
        update_progress(progress, len(plan), done)
    if reclassify and plan:
        # Every mention in the window gets classified again; routing then follows each change
        # of a still-open item (re-route, withdraw, raise urgency) and notifies.
        classify_mentions(since=min(d.start for d in plan), until=max(d.end for d in plan))
        route_classified(None, 1_000_000)
        send_notifications(None)
    publish_backfill_summary(results, failures)
    if failures:
        return Failed(
            message=f"{len(failures)} channel(s) failed (rerun to resume): "
            + "; ".join(f"{name} ({reason})" for name, reason in failures.items()),
            data=results,
        )
    return results
