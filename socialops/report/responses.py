"""The report's response-time and SLA questions: a cube of SLA outcomes and response-minute
histograms per department, channel and business hours, and the exact seconds inside the few
minutes a percentile falls in (see :mod:`socialops.report.queries` for how the report's SQL
reads the hourly roll-ups and the facts).

Exact percentiles without loading rows: :func:`response_cube` counts response times per group
and per minute; the caller finds, for every percentile asked for, the minute its rank falls in
and the rank within it; :func:`exact_seconds` counts the exact seconds inside only those
minutes. Both are bounded (groups x minutes, then groups x 60 seconds per minute looked into).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, case, func, literal, not_, or_, select
from sqlalchemy.orm import Session

from socialops.report import rollups
from socialops.report.queries import epoch_micros, epoch_seconds, f, spans, whole_hours
from socialops.report.week import IsoWeek
from socialops.rota.calendar import Interval


class ResponseKey(NamedTuple):
    """A fine group of response times (a tuple: tens of thousands are hashed per report)."""

    department: str
    channel: str
    business_hours: bool


@dataclass
class ResponseCube:
    """Per fine group: SLA outcomes, and a histogram of response times (whole minutes)."""

    outcomes: dict[tuple[ResponseKey, str], int] = field(default_factory=dict)
    minutes: dict[ResponseKey, dict[int, int]] = field(default_factory=dict)


def _open_case(departments: Mapping[str, Sequence[Interval]]) -> ColumnElement[Any]:
    """1 when the mention arrived in its department's business hours that week, else 0."""
    whens = []
    for department, periods in departments.items():
        if periods:
            inside = or_(
                *(
                    and_(
                        f.c.created_ts >= epoch_seconds(p.start),
                        f.c.created_ts < epoch_seconds(p.end),
                    )
                    for p in periods
                )
            )
            whens.append((and_(f.c.a_department == department, inside), literal(1)))
    if not whens:
        return literal(0)
    return case(*whens, else_=literal(0))


def _add(counts: dict[Any, int], key: Any, k: int) -> None:
    if k:
        counts[key] = counts.get(key, 0) + k


PARTLY = 2**32  # a partly open hour's weight in the packed sum (a week's count is far below)


@dataclass(frozen=True)
class OpenHours:
    """A department's hours of the week: wholly open (as runs of hours), partly open."""

    runs: list[tuple[int, int]]  # inclusive hour numbers
    partial: list[int]


def open_hours(
    open_periods: Mapping[str, Sequence[Interval]], first: int, end: int
) -> dict[str, OpenHours]:
    """Per department, which UTC hours in ``[first, end)`` its business hours cover wholly
    and which in part (a period starting or ending inside the hour: 08:30, 17:30...)."""
    out: dict[str, OpenHours] = {}
    for department, periods in open_periods.items():
        merged: list[list[int]] = []
        for s, e in sorted((epoch_seconds(p.start), epoch_seconds(p.end)) for p in periods):
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        covered: dict[int, int] = defaultdict(int)
        for s, e in merged:
            for h in range(max(s // 3600, first), min((e - 1) // 3600 + 1, end)):
                covered[h] += min(e, (h + 1) * 3600) - max(s, h * 3600)
        full = sorted(h for h, c in covered.items() if c >= 3600)
        runs: list[tuple[int, int]] = []
        for h in full:
            if runs and runs[-1][1] == h - 1:
                runs[-1] = (runs[-1][0], h)
            else:
                runs.append((h, h))
        out[department] = OpenHours(runs, sorted(h for h, c in covered.items() if c < 3600))
    return out


def _partial_facts(hours: Mapping[str, OpenHours]) -> list[ColumnElement[bool]]:
    """Per department, its facts rows in an hour its business hours cover only in part (one
    index range each: ``hour IN (...) AND a_department = ...``)."""
    return [
        and_(f.c.hour.in_(oh.partial), f.c.a_department == d)
        for d, oh in hours.items()
        if oh.partial
    ]


def _fold_facts(session: Session, cube: ResponseCube, where: Any, bh: Any, as_of: datetime) -> None:
    """Outcomes and minutes of the facts rows ``where``, decided row by row."""
    overdue = case((and_(f.c.sla.is_(None), f.c.due_us < epoch_micros(as_of)), 1), else_=0)
    keys = (f.c.a_department, f.c.channel, f.c.sla, f.c.response_minute)
    # The business-hours test is the costly part: once per row, and again only for the few
    # items still waiting (a final outcome does not look at the due time).
    waiting_bh = case((f.c.sla.is_(None), bh * overdue), else_=0)
    aggregates = (func.count(), func.sum(bh), func.sum(overdue), func.sum(waiting_bh))
    stmt = select(*keys, *aggregates).where(where, f.c.a_department.is_not(None)).group_by(*keys)
    for dept, channel, sla, minute, k, k_bh, k_late, k_bh_late in session.execute(stmt):
        k, k_bh, k_late, k_bh_late = int(k), int(k_bh or 0), int(k_late or 0), int(k_bh_late or 0)
        inside, outside = ResponseKey(dept, channel, True), ResponseKey(dept, channel, False)
        if sla is None:  # waiting: breached once due, else pending
            _add(cube.outcomes, (inside, "breached"), k_bh_late)
            _add(cube.outcomes, (inside, "pending"), k_bh - k_bh_late)
            _add(cube.outcomes, (outside, "breached"), k_late - k_bh_late)
            _add(cube.outcomes, (outside, "pending"), k - k_bh - k_late + k_bh_late)
        else:
            _add(cube.outcomes, (inside, sla), k_bh)
            _add(cube.outcomes, (outside, sla), k - k_bh)
        if minute is not None:
            _add(cube.minutes.setdefault(inside, {}), int(minute), k_bh)
            _add(cube.minutes.setdefault(outside, {}), int(minute), k - k_bh)


def response_cube(
    *,
    session: Session,
    week: IsoWeek,
    open_periods: Mapping[str, Sequence[Interval]],
    as_of: datetime,
) -> ResponseCube:
    """SLA outcomes and response-minute histograms per department, channel and business
    hours (did the mention arrive while its department was open).

    From the hourly roll-up where an hour is wholly open or wholly closed for its department,
    and items still waiting that fall due in another hour than the report's time; the rest (an
    hour a period starts or ends inside, items due in the report's own hour) from the facts,
    row by row. Exact either way."""
    cube = ResponseCube()
    bh = _open_case(open_periods)
    hours = whole_hours(week)
    if hours is None:  # a zone whose week does not start on a whole UTC hour: the facts
        for span in spans(week):
            _fold_facts(session, cube, span.where(), bh, as_of)
        cube.minutes = {key: hist for key, hist in cube.minutes.items() if hist}
        return cube
    first, end = hours
    by_department = open_hours(open_periods, first, end)
    r = rollups.response
    kind = _business_kind(by_department)
    as_hour = epoch_micros(as_of) // rollups.US_PER_HOUR
    keys = (r.c.department, r.c.channel, r.c.sla, r.c.minute, r.c.due_hour)
    # Summed in the key's order per UTC week (no sort): all, and the wholly open and partly
    # open hours packed in one sum (one business-hours test per row, not two).
    sums = (func.sum(r.c.n), func.sum(r.c.n * kind))
    for span in spans(week):
        stmt = (
            select(*keys, *sums)
            .where(
                r.c.week == span.week,
                r.c.hour >= max(first, span.lo // 3600),
                r.c.hour < min(end, span.hi // 3600),
            )
            .group_by(*keys)
        )
        _fold_rollup(cube, session.execute(stmt), as_hour)
    partial = _partial_facts(by_department)
    for where in partial:
        _fold_facts(session, cube, where, bh, as_of)
    due_now = and_(
        f.c.sla.is_(None),
        f.c.due_us >= as_hour * rollups.US_PER_HOUR,
        f.c.due_us < (as_hour + 1) * rollups.US_PER_HOUR,
        f.c.created_ts >= first * 3600,
        f.c.created_ts < end * 3600,
        *(not_(where) for where in partial),
    )
    _fold_facts(session, cube, due_now, bh, as_of)
    cube.minutes = {key: hist for key, hist in cube.minutes.items() if hist}
    return cube


def _business_kind(by_department: Mapping[str, OpenHours]) -> Any:
    """Per roll-up row: 1 when its hour was wholly open for its department, ``PARTLY`` when a
    period starts or ends inside it, else 0."""
    r = rollups.response
    whens = {}
    for d, oh in by_department.items():
        inner = []
        if oh.runs:
            inner.append((or_(*(r.c.hour.between(a, b) for a, b in oh.runs)), literal(1)))
        if oh.partial:
            inner.append((r.c.hour.in_(oh.partial), literal(PARTLY)))
        if inner:
            whens[d] = case(*inner, else_=literal(0))
    return case(whens, value=r.c.department, else_=literal(0)) if whens else literal(0)


def _fold_rollup(cube: ResponseCube, rows: Any, as_hour: int) -> None:
    """Add the roll-up's summed rows to the cube: a waiting item's outcome as of the report's
    hour (those due in that very hour are skipped: the facts count them), the wholly open
    hours as business hours, the wholly closed ones as out of hours (the partly open ones are
    counted from the facts)."""
    outcomes, minutes = cube.outcomes, cube.minutes
    for dept, channel, sla, minute, due_hour, k_all, packed in rows:
        if sla == "":
            if due_hour == as_hour:
                continue  # due in the report's own hour: counted from the facts
            sla = "breached" if due_hour < as_hour else "pending"
        k_part, k_open = divmod(int(packed or 0), PARTLY)
        for key, k in (
            (ResponseKey(dept, channel, True), k_open),
            (ResponseKey(dept, channel, False), int(k_all) - k_open - k_part),
        ):
            if not k:
                continue
            outcomes[key, sla] = outcomes.get((key, sla), 0) + k
            if minute != rollups.NO_RESPONSE:
                hist = minutes.get(key)
                if hist is None:
                    hist = minutes[key] = {}
                hist[minute] = hist.get(minute, 0) + k


def exact_seconds(
    *,
    session: Session,
    week: IsoWeek,
    open_periods: Mapping[str, Sequence[Interval]],
    as_of: datetime,
    minutes: Iterable[int],
) -> dict[ResponseKey, dict[int, int]]:
    """Counts of each exact response time (seconds), only inside the given minutes.

    Per UTC week the report's week overlaps, the index ``(week, response_minute,
    response_seconds, a_department, channel, ...)`` (migration 0017) holds those minutes in
    the order of this ``GROUP BY``: counted while walked, with no sort; the business-hours
    test is a sum, not a key."""
    del as_of  # a response time does not depend on it
    wanted = sorted(set(minutes))
    if not wanted:
        return {}
    bh = _open_case(open_periods)
    keys = (f.c.response_minute, f.c.response_seconds, f.c.a_department, f.c.channel)
    out: dict[ResponseKey, dict[int, int]] = defaultdict(dict)
    for span in spans(week):
        ts = f.c.created_ts + 0  # a filter of the walk, not an index range
        stmt = (
            select(*keys, func.count(), func.sum(bh))
            .where(
                f.c.week == span.week,
                f.c.response_minute.in_(wanted),
                ts >= span.lo,
                ts < span.hi,
                f.c.a_department.is_not(None),
            )
            .group_by(*keys)
        )
        for _, s, dept, channel, k, k_bh in session.execute(stmt):
            k, k_bh = int(k), int(k_bh or 0)
            for is_open, count in ((True, k_bh), (False, k - k_bh)):
                if count:
                    hist = out[ResponseKey(dept, channel, is_open)]
                    hist[int(s)] = hist.get(int(s), 0) + count
    return dict(out)
