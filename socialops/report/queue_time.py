"""Time to first owner and time in queue, per department (the night queue, migration 0008).

Of the items whose SLA clock started in the week (``received_at``) and that waited in their
department's queue (``queued_at`` set or ``queued_seconds`` > 0): **time to first owner** is
``first_assigned_at - received_at`` (those that have had an owner); **time in queue** the
seconds they waited, finished stays (``queued_seconds``) plus, for one still queued, the wait
so far as of when the report is made. An item routed straight to a person had an owner from
its routing on (its first response is in the response times). Counted by the database, exact
nearest-rank percentiles in whole seconds; every query reads only the queued items, from
``report_queue_facts`` (migration 0016: their times as integers, kept by triggers on the
assignments). Each duration is counted while one index is walked in its order within the
UTC week(s) the report's week overlaps (migration 0017), so nothing is sorted, the cost
follows the queue, not the week's volume, and no timestamp is parsed per item.
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
    not_,
    select,
)
from sqlalchemy.orm import Session

from socialops.report import durations, rollups
from socialops.report.queries import epoch_micros, spans
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


# Still in the queue: the wait so far counts too (to the report's time).
_STILL = and_(qf.c.status == "queued", qf.c.queued_at_us.is_not(None))


def _spans(week: IsoWeek) -> list[ColumnElement[bool]]:
    """The week as ranges of the queue facts' week indexes: one per UTC week it overlaps
    (``received_ts + 0``: a filter inside the range, never taken for an index range)."""
    received = qf.c.received_ts + 0
    return [
        and_(qf.c.week == span.week, received >= span.lo, received < span.hi)
        for span in spans(week)
    ]


def _still_waiting(
    session: Session, where: list[ColumnElement[bool]], as_of: datetime
) -> dict[str, dict[int, int]]:
    """Time in queue of the items still queued (finished stays plus the wait so far), exact
    seconds per department: few items, but each one's own value."""
    waiting_us = literal(epoch_micros(as_of), BigInteger) - qf.c.queued_at_us
    seconds = func.coalesce(qf.c.queued_seconds, 0) + _rounded_seconds(waiting_us)
    out: dict[str, dict[int, int]] = defaultdict(dict)
    for span in where:
        for dept, secs, k in session.execute(
            select(qf.c.department, seconds, func.count())
            .where(span, _STILL)
            .group_by(qf.c.department, seconds)
        ):
            hist = out[str(dept)]
            hist[int(secs)] = hist.get(int(secs), 0) + int(k)
    return dict(out)


def queue_time(*, session: Session, week: IsoWeek, as_of: datetime) -> dict[str, Any]:
    """Per department: items that waited in a queue, still queued, still without an owner;
    their time to first owner and time in queue (count, median, p90)."""
    where = _spans(week)
    # One walk in order of the time to first owner counts the items too (all of them: those
    # without an owner have no time but are counted).
    to_owner, counts = durations.walked_percentiles(
        session,
        group=qf.c.department,
        seconds=qf.c.owner_seconds,
        spans=where,
        tallies={
            "waited_in_queue": literal(1),
            "still_queued": case((qf.c.status == "queued", 1), else_=0),
            "without_owner": case(
                (and_(qf.c.owner_seconds.is_(None), qf.c.status != "withdrawn"), 1), else_=0
            ),
        },
    )
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
    in_queue, _ = durations.walked_percentiles(
        session,
        group=qf.c.department,
        seconds=qf.c.queued_seconds,
        spans=[and_(w, not_(_STILL)) for w in where],
        nulls_as_zero=True,
        extra=_still_waiting(session, where, as_of),
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
