"""Time to first owner and time in queue, per department (the night queue, migration 0008).

Of the items whose SLA clock started in the week (``received_at``) and that waited in their
department's queue (``queued_at`` set or ``queued_seconds`` > 0): **time to first owner** is
``first_assigned_at - received_at`` (those that have had an owner); **time in queue** the
seconds they waited, finished stays (``queued_seconds``) plus, for one still queued, the wait
so far as of when the report is made. An item routed straight to a person had an owner from
its routing on (its first response is in the response times). Counted by the database, exact
nearest-rank percentiles in whole seconds; every query reads only the queued items, through
the partial index ``ix_assignments_queue_report`` (migration 0015), so the cost follows the
queue, not the week's volume.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, literal_column, or_, select
from sqlalchemy.orm import Session

from socialops import storage
from socialops.report import durations
from socialops.report.week import IsoWeek

a = storage.AssignmentRow.__table__

DEFINITION = (
    "items whose SLA clock started in the week and that waited in their department's queue; "
    "time to first owner: from the SLA clock's start to the first owner; time in queue: the "
    "wait in the queue (to the report's time for items still queued); whole seconds, "
    "nearest-rank percentiles"
)


def waited_in_queue() -> ColumnElement[bool]:
    """The items that waited in a queue: the partial index's own condition (written the same
    way, a literal 0 and not a parameter, so SQLite and PostgreSQL see it implies it)."""
    return or_(a.c.queued_at.is_not(None), a.c.queued_seconds > literal_column("0"))


def queue_time(*, session: Session, week: IsoWeek, as_of: datetime) -> dict[str, Any]:
    """Per department: items that waited in a queue, still queued, still without an owner;
    their time to first owner and time in queue (count, median, p90)."""
    dialect = session.get_bind().dialect.name
    in_week = and_(a.c.received_at >= week.start, a.c.received_at < week.end)
    waited = waited_in_queue()
    still = and_(a.c.status == "queued", a.c.queued_at.is_not(None))
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for dept, n_waited, n_still, unowned in session.execute(
        select(
            a.c.department,
            func.count(),
            func.sum(case((a.c.status == "queued", 1), else_=0)),
            func.sum(
                case(
                    (and_(a.c.first_assigned_at.is_(None), a.c.status != "withdrawn"), 1),
                    else_=0,
                )
            ),
        )
        .where(waited, in_week)
        .group_by(a.c.department)
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
        select(
            a.c.department.label("grp"),
            durations.seconds_between(dialect, a.c.first_assigned_at, a.c.received_at).label(
                "seconds"
            ),
        ).where(waited, in_week, a.c.first_assigned_at.is_not(None)),
    )
    now = literal(as_of, storage.UTCDateTime())
    current = case((still, durations.seconds_between(dialect, now, a.c.queued_at)), else_=0)
    in_queue = durations.percentiles(
        session,
        select(
            a.c.department.label("grp"),
            (func.coalesce(a.c.queued_seconds, 0) + current).label("seconds"),
        ).where(waited, in_week),
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
