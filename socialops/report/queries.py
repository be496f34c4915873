"""The report's SQL: SQLAlchemy Core ``GROUP BY`` queries, on SQLite and PostgreSQL alike.

Rows never come to Python to be counted: each query returns a bounded aggregation (a cube of
counts over a few low-cardinality keys and the UTC hour, or a histogram of response times in
whole minutes), and Python only folds those small results into the report's figures.

The big questions read the hourly roll-ups of :mod:`socialops.report.rollups` (migration
0016: counts per UTC hour, kept by triggers on the facts), so a week of a million mentions is
about 200,000 rows (mostly response minutes per hour), not a million. What an hour cannot
answer exactly (an hour a department opens or closes inside, items due in the report's own
hour, a week that does not start on a whole UTC hour) is read from ``report_facts``
(migration 0013): one narrow row per mention, kept current by triggers, so nothing joins a
million mentions to their classifications and assignments. The response roll-up is keyed in
the order of its ``GROUP BY`` within a UTC week (the hour last), so SQLite sums it while it
walks the key, without a sort; a local week overlaps at most two UTC weeks, and each overlap
is read by its week.

Exact percentiles without loading rows: the first query counts response times per group and
per minute; Python finds, for every percentile asked for, the minute its rank falls in and the
rank within it; a second query counts the exact seconds inside only those minutes. Both are
bounded (groups x minutes, then groups x 60 seconds per minute looked into), and the answer is
the exact nearest-rank percentile of the response times in whole seconds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session

from socialops import storage
from socialops.report import rollups
from socialops.report.week import IsoWeek
from socialops.rota.calendar import Interval

BUCKET_SECONDS = 60
WEEK_SECONDS = 7 * 86400
WEEK_SHIFT = 3 * 86400  # report_facts.week counts UTC weeks from Monday 1969-12-29
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

m = storage.MentionRow.__table__
c = storage.ClassificationRow.__table__
a = storage.AssignmentRow.__table__
q = storage.QuarantineRow.__table__
e = storage.EscalationStepRow.__table__
n = storage.NotificationRow.__table__
f = storage.ReportFactRow.__table__


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def epoch_seconds(at: datetime) -> int:
    """Whole seconds since the epoch (floor), as ``report_facts.created_ts`` stores them."""
    return (at - EPOCH) // timedelta(seconds=1)


def epoch_micros(at: datetime) -> int:
    return (at - EPOCH) // timedelta(microseconds=1)


def parse_hour_key(value: Any) -> datetime:
    return EPOCH + timedelta(seconds=int(value))


@dataclass(frozen=True)
class Span:
    """A stretch of the report's week inside one UTC week of ``report_facts``."""

    week: int
    lo: int  # epoch seconds, inclusive
    hi: int  # exclusive
    walk_by_week: bool  # the largest overlap: walk the week's index; the others by hour

    whole: bool = False  # the span is its whole UTC week: no need to look at created_ts

    def where(self) -> ColumnElement[bool]:
        if self.walk_by_week:
            if self.whole:
                return f.c.week == self.week
            # "+ 0": the range filters the walk of the week but must not be taken for an index
            # range (SQLite's skip-scan would then pick an index in the wrong order).
            ts = f.c.created_ts + 0
            return and_(f.c.week == self.week, ts >= self.lo, ts < self.hi)
        in_range = and_(f.c.created_ts >= self.lo, f.c.created_ts < self.hi)
        return and_(f.c.hour >= self.lo // 3600, f.c.hour <= (self.hi - 1) // 3600, in_range)


def spans(week: IsoWeek) -> list[Span]:
    lo, hi = epoch_seconds(week.start), epoch_seconds(week.end)
    first, last = (lo + WEEK_SHIFT) // WEEK_SECONDS, (hi - 1 + WEEK_SHIFT) // WEEK_SECONDS
    parts = []
    for w in range(first, last + 1):
        start = max(lo, w * WEEK_SECONDS - WEEK_SHIFT)
        end = min(hi, (w + 1) * WEEK_SECONDS - WEEK_SHIFT)
        if start < end:
            parts.append((w, start, end))
    widest = max(parts, key=lambda p: p[2] - p[1])
    return [Span(w, s, t, (w, s, t) == widest, t - s == WEEK_SECONDS) for w, s, t in parts]


def _in_week(column: Any, week: IsoWeek) -> ColumnElement[bool]:
    return and_(column >= week.start, column < week.end)


def _hours_where(week: IsoWeek) -> ColumnElement[bool]:
    lo, hi = epoch_seconds(week.start), epoch_seconds(week.end)
    where = and_(f.c.hour >= lo // 3600, f.c.hour <= (hi - 1) // 3600)
    if lo % 3600 or hi % 3600:  # a zone whose offset is not whole hours
        where = and_(where, f.c.created_ts >= lo, f.c.created_ts < hi)
    return where


# --------------------------------------------------------------------------------------------
# Volume: one cube over channel, department, urgency, sentiment and the UTC hour
# --------------------------------------------------------------------------------------------


def whole_hours(week: IsoWeek) -> tuple[int, int] | None:
    """The week as UTC hours ``[first, end)`` when it starts and ends on a whole UTC hour
    (every zone whose offsets are whole hours): then the hourly roll-ups hold it exactly."""
    lo, hi = epoch_seconds(week.start), epoch_seconds(week.end)
    if lo % 3600 or hi % 3600:
        return None
    return lo // 3600, hi // 3600


@dataclass(frozen=True)
class VolumeCell:
    channel: str
    department: str | None  # None: not classified yet
    urgent: bool
    sentiment: str | None
    hour: datetime  # UTC, truncated to the hour (or the minute, for half-hour zones)
    count: int


def volume_cube(*, session: Session, week: IsoWeek) -> list[VolumeCell]:
    hours = whole_hours(week)
    if hours and week.whole_hour_offsets():  # the hourly roll-up: a few thousand rows
        v = rollups.volume
        rows = session.execute(
            select(v.c.hour, v.c.channel, v.c.department, v.c.urgent, v.c.sentiment, v.c.n).where(
                v.c.hour >= hours[0], v.c.hour < hours[1], v.c.n != 0
            )
        )
        at: dict[int, datetime] = {}  # 168 hours, thousands of cells
        return [
            VolumeCell(
                ch,
                dept or None,
                bool(urg),
                sent or None,
                at.get(h) or at.setdefault(h, parse_hour_key(h * 3600)),
                k,
            )
            for h, ch, dept, urg, sent, k in rows
        ]
    # Local hours start mid-way through UTC hours: count the facts per minute.
    key = f.c.created_ts / 60
    stmt = (
        select(key, f.c.channel, f.c.department, f.c.urgent, f.c.sentiment, func.count())
        .where(_hours_where(week))
        .group_by(key, f.c.channel, f.c.department, f.c.urgent, f.c.sentiment)
    )
    return [
        VolumeCell(ch, dept, bool(urg), sent, parse_hour_key(int(h) * 60), int(k))
        for h, ch, dept, urg, sent, k in session.execute(stmt)
    ]


def sentiment_counts(*, session: Session, week: IsoWeek) -> dict[str, int]:
    """Mentions per sentiment (the previous week's, beside this one's): counted by the
    database, not folded from a cube of thousands of cells."""
    hours = whole_hours(week)
    if hours and week.whole_hour_offsets():
        v = rollups.volume
        stmt = (
            select(v.c.sentiment, func.sum(v.c.n))
            .where(v.c.hour >= hours[0], v.c.hour < hours[1], v.c.sentiment != rollups.NOBODY)
            .group_by(v.c.sentiment)
        )
    else:
        stmt = (
            select(f.c.sentiment, func.count())
            .where(_hours_where(week), f.c.sentiment.is_not(None))
            .group_by(f.c.sentiment)
        )
    return {str(s): int(k) for s, k in session.execute(stmt) if int(k or 0)}


# --------------------------------------------------------------------------------------------
# Response and SLA: the items of the mentions that arrived in the week
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Smaller questions
# --------------------------------------------------------------------------------------------


def handled_by_person(*, session: Session, week: IsoWeek) -> dict[str, dict[str, int]]:
    """Per assignee: items of the mentions that arrived in the week, by current status."""
    out: dict[str, dict[str, int]] = defaultdict(dict)
    hours = whole_hours(week)
    if hours:
        p = rollups.person
        stmts = [
            select(p.c.assignee, p.c.status, func.sum(p.c.n))
            .where(p.c.hour >= hours[0], p.c.hour < hours[1])
            .group_by(p.c.assignee, p.c.status)
        ]
    else:
        stmts = [
            select(f.c.assignee, f.c.a_status, func.count())
            .where(span.where(), f.c.a_status.is_not(None))
            .group_by(f.c.assignee, f.c.a_status)
            for span in spans(week)
        ]
    for stmt in stmts:
        for who, status, k in session.execute(stmt):
            if not int(k):
                continue
            mine = out[str(who or None)]  # nobody (a queued item) is "None", as before
            mine[str(status)] = mine.get(str(status), 0) + int(k)
    return dict(out)


def backlog_at(*, session: Session, at: datetime) -> dict[str, int]:
    """Items waiting for a first response at ``at``, per department: open now, or acted on
    only after ``at`` (two index ranges rather than a scan of all history)."""
    still_open = (
        select(a.c.department, func.count())
        .where(a.c.status == "open", a.c.received_at < at)
        .group_by(a.c.department)
    )
    acted_later = (  # through the acted_at index: few items are acted on after ``at``
        select(a.c.department, func.count())
        .where(a.c.acted_at >= at, a.c.received_at < at, func.coalesce(a.c.status, "") == "acted")
        .group_by(a.c.department)
    )
    out: dict[str, int] = defaultdict(int)
    for stmt in (still_open, acted_later):
        for dept, k in session.execute(stmt):
            out[str(dept)] += int(k)
    return dict(out)


def escalations(*, session: Session, week: IsoWeek) -> dict[tuple[str, str], int]:
    """Escalation steps fired in the week, per department and step (backup, lead, ...)."""
    stmt = (
        select(a.c.department, e.c.target, func.count())
        .select_from(e.join(a, a.c.id == e.c.assignment_id))
        .where(_in_week(e.c.fired_at, week))
        .group_by(a.c.department, e.c.target)
    )
    return {(str(d), str(t)): int(k) for d, t, k in session.execute(stmt)}


def _next_value(session: Session, column: Any, after: Any, *where: Any) -> Any:
    stmt = select(func.min(column)).where(*where)
    if after is not None:
        stmt = stmt.where(column > after)
    return session.execute(stmt).scalar_one()


def notifications(*, session: Session, week: IsoWeek) -> dict[tuple[str, str], int]:
    """Notifications queued in the week, per event and status.

    A loose index scan over ``(event, status, created_at)``: the few events and statuses are
    found by index look-ups, then each pair's week is counted from its own index range, so
    nothing is sorted and no other week is read."""
    out: dict[tuple[str, str], int] = {}
    event = _next_value(session, n.c.event, None)
    while event is not None:
        status = _next_value(session, n.c.status, None, n.c.event == event)
        while status is not None:
            count = session.execute(
                select(func.count()).where(
                    n.c.event == event, n.c.status == status, _in_week(n.c.created_at, week)
                )
            ).scalar_one()
            if count:
                out[(str(event), str(status))] = int(count)
            status = _next_value(session, n.c.status, status, n.c.event == event)
        event = _next_value(session, n.c.event, event)
    return out


def quarantined(*, session: Session, week: IsoWeek) -> dict[tuple[str, str], int]:
    stmt = (
        select(q.c.channel, q.c.stage, func.count())
        .where(_in_week(q.c.quarantined_at, week))
        .group_by(q.c.channel, q.c.stage)
    )
    return {(str(ch), str(st)): int(k) for ch, st, k in session.execute(stmt)}


@dataclass(frozen=True)
class Notable:
    mention_id: int
    channel: str
    author: str
    followers: int
    created_at: datetime
    text: str
    url: str | None
    department: str | None
    urgent: bool


def _notable(session: Session, stmt: Any) -> list[Notable]:
    return [
        Notable(
            int(r.id),
            r.channel,
            r.author_handle,
            int(r.author_followers or 0),
            r.created_at,
            r.text,
            r.url,
            r.department,
            bool(r.urgent),
        )
        for r in session.execute(stmt)
    ]


def notable_mentions(
    *, session: Session, week: IsoWeek, limit: int
) -> tuple[list[Notable], list[Notable]]:
    """The week's urgent mentions (newest first) and its most-followed authors' mentions."""
    mm = storage.MentionRow
    cc = storage.ClassificationRow
    cols = (
        mm.id,
        mm.channel,
        mm.author_handle,
        mm.author_followers,
        mm.created_at,
        mm.text,
        mm.url,
        cc.department,
        func.coalesce(cc.urgent, false()).label("urgent"),
    )
    join_on = and_(cc.mention_id == mm.id, cc.is_current == true())
    lo, hi = epoch_seconds(week.start), epoch_seconds(week.end)
    # Candidates from the facts' indexes (the last ones' ties included), then the exact order.
    newest = list(
        session.execute(
            select(f.c.created_ts)
            .where(f.c.urgent == true(), f.c.created_ts >= lo, f.c.created_ts < hi)
            .order_by(f.c.created_ts.desc())
            .limit(limit)
        ).scalars()
    )
    urgent_ids: list[int] = []
    if newest:
        urgent_ids = list(
            session.execute(
                select(f.c.mention_id).where(
                    f.c.urgent == true(), f.c.created_ts >= newest[-1], f.c.created_ts < hi
                )
            ).scalars()
        )
    followed_ids: list[int] = []
    for span in spans(week):
        top = list(
            session.execute(
                select(f.c.followers)
                .where(span.where())
                .order_by(f.c.followers.desc())
                .limit(limit)
            ).scalars()
        )
        if top:
            followed_ids += session.execute(
                select(f.c.mention_id).where(span.where(), f.c.followers >= top[-1])
            ).scalars()
    urgent = (
        select(*cols)
        .join(cc, join_on)
        .where(mm.id.in_(urgent_ids))
        .order_by(mm.created_at.desc())
        .limit(limit)
    )
    followed = (
        select(*cols)
        .outerjoin(cc, join_on)
        .where(mm.id.in_(followed_ids))
        .order_by(mm.author_followers.desc().nulls_last(), mm.id)
        .limit(limit)
    )
    return _notable(session, urgent), _notable(session, followed)


def previous_and_current(week: IsoWeek) -> tuple[datetime, datetime]:
    return week.previous().start, week.end


def utc_hours(week: IsoWeek) -> list[datetime]:
    at, out = week.start, []
    while at < week.end:
        out.append(at)
        at += timedelta(hours=1)
    return out


__all__ = [
    "BUCKET_SECONDS",
    "Notable",
    "ResponseCube",
    "ResponseKey",
    "VolumeCell",
    "backlog_at",
    "escalations",
    "exact_seconds",
    "handled_by_person",
    "notable_mentions",
    "notifications",
    "quarantined",
    "response_cube",
    "sentiment_counts",
    "spans",
    "volume_cube",
]
