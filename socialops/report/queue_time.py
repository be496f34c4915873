"""Time to first owner and time in queue, per department (the night queue, migration 0008).

Of the items whose SLA clock started in the week (``received_at``) and that waited in their
department's queue (``queued_at`` set or ``queued_seconds`` > 0): **time to first owner** is
``first_assigned_at - received_at`` (those that have had an owner); **time in queue** the
seconds they waited, finished stays (``queued_seconds``) plus, for one still queued, the wait
so far as of when the report is made. An item routed straight to a person had an owner from
its routing on (its first response is in the response times). Counted by the database, exact
nearest-rank percentiles in whole seconds; every query reads only the queued items, from
``report_queue_facts`` (migration 0016: their times as integers, kept by triggers on the
assignments) through one covering index, so the cost follows the queue, not the week's
volume, and no timestamp is parsed per item.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    and_,
    case,
    func,
    literal,
    select,
)
from sqlalchemy.orm import Session

from socialops.report import durations, rollups
from socialops.report.queries import epoch_micros, epoch_seconds
from socialops.report.week import IsoWeek

qf = rollups.QueueFactRow.__table__

DEFINITION = (
    "items whose SLA clock started in the week and that waited in their department's queue; "
    "time to first owner: from the SLA clock's start to the first owner; time in queue: the "
    "wait in the queue (to the report's time for items still queued); whole seconds, "
    "nearest-rank percentiles"
)


def _rounded_seconds(micros: Any) -> ColumnElement[Any]:
    """Whole seconds of a duration in integer microseconds, rounded half away from zero (as
    ``round()`` of the seconds); integer division truncates on both databases."""
    return case(
        (micros >= 0, (micros + 500_000) // 1_000_000),
        else_=-((500_000 - micros) // 1_000_000),
    )


def queue_time(*, session: Session, week: IsoWeek, as_of: datetime) -> dict[str, Any]:
    """Per department: items that waited in a queue, still queued, still without an owner;
    their time to first owner and time in queue (count, median, p90)."""
    lo, hi = epoch_seconds(week.start), epoch_seconds(week.end)
    in_week = and_(qf.c.received_ts >= lo, qf.c.received_ts < hi)
    still = and_(qf.c.status == "queued", qf.c.queued_at_us.is_not(None))
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for dept, n_waited, n_still, unowned in session.execute(
        select(
            qf.c.department,
            func.count(),
            func.sum(case((qf.c.status == "queued", 1), else_=0)),
            func.sum(
                case(
                    (and_(qf.c.owner_seconds.is_(None), qf.c.status != "withdrawn"), 1),
                    else_=0,
                )
            ),
        )
        .where(in_week)
        .group_by(qf.c.department)
    ):
        counts[str(dept)] = {
            "waited_in_queue": int(n_waited),
            "still_queued": int(n_still or 0),
            "without_owner": int(unowned or 0),
        }
    if not counts:
        return {
            "definition": DEFINITION,
            "waited_in_queue": 0,
            "still_queued": 0,
            "without_owner": 0,
            "time_to_first_owner": durations.empty(),
            "time_in_queue": durations.empty(),
            "by_department": {},
        }
    to_owner = durations.percentiles(
        session,
        select(qf.c.department.label("grp"), qf.c.owner_seconds.label("seconds")).where(
            in_week, qf.c.owner_seconds.is_not(None)
        ),
    )
    waiting_us = literal(epoch_micros(as_of), BigInteger) - qf.c.queued_at_us
    current = case((still, _rounded_seconds(waiting_us)), else_=0)
    in_queue = durations.percentiles(
        session,
        select(
            qf.c.department.label("grp"),
            (func.coalesce(qf.c.queued_seconds, 0) + current).label("seconds"),
        ).where(in_week),
    )
    by_department = {
        dept: {
            **counts[dept],
            "time_to_first_owner": to_owner.get(dept, durations.empty()),
            "time_in_queue": in_queue.get(dept, durations.empty()),
        }
        for dept in sorted(counts)
    }
    totals = {
        key: sum(v[key] for v in counts.values())
        for key in ("waited_in_queue", "still_queued", "without_owner")
    }
    return {
        "definition": DEFINITION,
        **totals,
        "time_to_first_owner": to_owner[durations.ALL],
        "time_in_queue": in_queue[durations.ALL],
        "by_department": by_department,
    }
