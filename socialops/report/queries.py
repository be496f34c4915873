"""The report's SQL: SQLAlchemy Core ``GROUP BY`` queries, on SQLite and PostgreSQL alike.

Rows never come to Python to be counted: each query returns a bounded aggregation (a cube of
counts over a few low-cardinality keys and the UTC hour, or a histogram of response times in
whole minutes), and Python only folds those small results into the report's figures.

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
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.orm import Session

from socialops import storage
from socialops.report.week import IsoWeek
from socialops.rota.calendar import Interval

BUCKET_SECONDS = 60

m = storage.MentionRow.__table__
c = storage.ClassificationRow.__table__
a = storage.AssignmentRow.__table__
q = storage.QuarantineRow.__table__
e = storage.EscalationStepRow.__table__
n = storage.NotificationRow.__table__


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _seconds_between(dialect: str, later: Any, earlier: Any) -> ColumnElement[Any]:
    """Whole seconds from ``earlier`` to ``later`` (rounded), as an integer."""
    if dialect == "sqlite":  # timestamps are ISO text there; julianday reads them
        diff = (func.julianday(later) - func.julianday(earlier)) * 86400.0
        return cast(func.round(diff), Integer)
    return cast(func.round(func.extract("epoch", later - earlier)), BigInteger)


def hour_key(dialect: str, column: Any, *, minutes: bool = False) -> ColumnElement[Any]:
    """The UTC hour (or minute) an instant falls in: a cheap prefix of the stored text on
    SQLite, ``date_trunc`` on PostgreSQL. Python maps it to the local hour (DST-aware)."""
    if dialect == "sqlite":
        return func.substr(column, 1, 16 if minutes else 13)
    return func.date_trunc("minute" if minutes else "hour", func.timezone("UTC", column))


def parse_hour_key(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    text = str(value)
    if len(text) == 13:
        text += ":00"
    return datetime.fromisoformat(text.replace(" ", "T")).replace(tzinfo=UTC)


def _in_week(column: Any, week: IsoWeek) -> ColumnElement[bool]:
    return and_(column >= week.start, column < week.end)


def _current_classification() -> Any:
    return m.outerjoin(c, and_(c.c.mention_id == m.c.id, c.c.is_current))


# --------------------------------------------------------------------------------------------
# Volume: one cube over channel, department, urgency, sentiment and the UTC hour
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VolumeCell:
    channel: str
    department: str | None  # None: not classified yet
    urgent: bool
    sentiment: str | None
    hour: datetime  # UTC, truncated to the hour (or the minute, for half-hour zones)
    count: int


def volume_cube(*, session: Session, week: IsoWeek) -> list[VolumeCell]:
    dialect = _dialect(session)
    key = hour_key(dialect, m.c.created_at, minutes=not week.whole_hour_offsets()).label("h")
    urgent = func.coalesce(c.c.urgent, false()).label("urgent")
    stmt = (
        select(m.c.channel, c.c.department, urgent, c.c.sentiment, key, func.count())
        .select_from(_current_classification())
        .where(_in_week(m.c.created_at, week))
        .group_by(m.c.channel, c.c.department, urgent, c.c.sentiment, key)
    )
    return [
        VolumeCell(ch, dept, bool(urg), sent, parse_hour_key(h), int(k))
        for ch, dept, urg, sent, h, k in session.execute(stmt)
    ]


def sentiment_counts(*, session: Session, week: IsoWeek) -> dict[str, int]:
    stmt = (
        select(c.c.sentiment, func.count())
        .select_from(m.join(c, and_(c.c.mention_id == m.c.id, c.c.is_current)))
        .where(_in_week(m.c.created_at, week))
        .group_by(c.c.sentiment)
    )
    return {str(s): int(k) for s, k in session.execute(stmt)}


# --------------------------------------------------------------------------------------------
# Response and SLA: assignments whose SLA clock started in the week
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResponseKey:
    department: str
    channel: str
    urgent: bool
    business_hours: bool


@dataclass
class ResponseCube:
    """Per fine group: SLA outcomes, and a histogram of response times (whole minutes)."""

    outcomes: dict[tuple[ResponseKey, str], int] = field(default_factory=dict)
    minutes: dict[ResponseKey, dict[int, int]] = field(default_factory=dict)


def _open_case(
    dialect_column: Any, departments: Mapping[str, Sequence[Interval]]
) -> ColumnElement[Any]:
    """1 when the instant falls in its department's business hours that week, else 0."""
    whens = []
    for department, periods in departments.items():
        if periods:
            inside = or_(
                *(and_(dialect_column >= p.start, dialect_column < p.end) for p in periods)
            )
            whens.append((and_(a.c.department == department, inside), literal(1)))
    if not whens:
        return literal(0)
    return case(*whens, else_=literal(0))


def _response_parts(
    session: Session, week: IsoWeek, open_periods: Mapping[str, Sequence[Interval]], as_of: datetime
) -> tuple[Any, Any, Any, Any]:
    dialect = _dialect(session)
    seconds = _seconds_between(dialect, a.c.acted_at, m.c.created_at)
    outcome = case(
        (a.c.status == "withdrawn", literal("withdrawn")),
        (and_(a.c.acted_at.is_not(None), a.c.acted_at <= a.c.due_at), literal("met")),
        (a.c.acted_at.is_not(None), literal("breached")),
        (a.c.due_at < as_of, literal("breached")),
        else_=literal("pending"),
    ).label("outcome")
    bh = _open_case(m.c.created_at, open_periods).label("bh")
    return seconds, outcome, bh, _in_week(m.c.created_at, week)


def response_cube(
    *,
    session: Session,
    week: IsoWeek,
    open_periods: Mapping[str, Sequence[Interval]],
    as_of: datetime,
) -> ResponseCube:
    seconds, outcome, bh, where = _response_parts(session, week, open_periods, as_of)
    minute = case(
        (a.c.acted_at.is_not(None), func.floor(seconds / BUCKET_SECONDS)), else_=None
    ).label("minute")
    stmt = (
        select(a.c.department, m.c.channel, a.c.urgent, bh, outcome, minute, func.count())
        .select_from(m.join(a, a.c.mention_id == m.c.id))
        .where(where)
        .group_by(a.c.department, m.c.channel, a.c.urgent, bh, outcome, minute)
    )
    cube = ResponseCube()
    for dept, channel, urgent, is_open, out, minute_value, k in session.execute(stmt):
        key = ResponseKey(dept, channel, bool(urgent), bool(is_open))
        cube.outcomes[(key, out)] = cube.outcomes.get((key, out), 0) + int(k)
        if minute_value is not None:
            hist = cube.minutes.setdefault(key, {})
            hist[int(minute_value)] = hist.get(int(minute_value), 0) + int(k)
    return cube


def exact_seconds(
    *,
    session: Session,
    week: IsoWeek,
    open_periods: Mapping[str, Sequence[Interval]],
    as_of: datetime,
    minutes: Iterable[int],
) -> dict[ResponseKey, dict[int, int]]:
    """Counts of each exact response time (seconds), only inside the given minutes."""
    wanted = sorted(set(minutes))
    if not wanted:
        return {}
    seconds, _outcome, bh, where = _response_parts(session, week, open_periods, as_of)
    lo, hi = wanted[0] * BUCKET_SECONDS, (wanted[-1] + 1) * BUCKET_SECONDS
    minute = func.floor(seconds / BUCKET_SECONDS)
    stmt = (
        select(a.c.department, m.c.channel, a.c.urgent, bh, seconds.label("s"), func.count())
        .select_from(m.join(a, a.c.mention_id == m.c.id))
        .where(where, a.c.acted_at.is_not(None), seconds >= lo, seconds < hi)
        .where(minute.in_(wanted))
        .group_by(a.c.department, m.c.channel, a.c.urgent, bh, seconds)
    )
    out: dict[ResponseKey, dict[int, int]] = defaultdict(dict)
    for dept, channel, urgent, is_open, s, k in session.execute(stmt):
        out[ResponseKey(dept, channel, bool(urgent), bool(is_open))][int(s)] = int(k)
    return dict(out)


# --------------------------------------------------------------------------------------------
# Smaller questions
# --------------------------------------------------------------------------------------------


def handled_by_person(*, session: Session, week: IsoWeek) -> dict[str, dict[str, int]]:
    """Per assignee: items whose SLA clock started in the week, by current status."""
    stmt = (
        select(a.c.assignee, a.c.status, func.count())
        .where(_in_week(a.c.received_at, week))
        .group_by(a.c.assignee, a.c.status)
    )
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for who, status, k in session.execute(stmt):
        out[str(who)][str(status)] = int(k)
    return dict(out)


def backlog_at(*, session: Session, at: datetime) -> dict[str, int]:
    """Items waiting for a first response at ``at``, per department: open now, or acted on
    only after ``at`` (two index look-ups rather than a scan of all history)."""
    still_open = (
        select(a.c.department, func.count())
        .where(a.c.status == "open", a.c.received_at < at)
        .group_by(a.c.department)
    )
    acted_later = (
        select(a.c.department, func.count())
        .where(a.c.acted_at >= at, a.c.received_at < at, a.c.status == "acted")
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


def notifications(*, session: Session, week: IsoWeek) -> dict[tuple[str, str], int]:
    """Notifications queued in the week, per event and status."""
    stmt = (
        select(n.c.event, n.c.status, func.count())
        .where(_in_week(n.c.created_at, week))
        .group_by(n.c.event, n.c.status)
    )
    return {(str(ev), str(st)): int(k) for ev, st, k in session.execute(stmt)}


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
    urgent = (
        select(*cols)
        .join(cc, join_on)
        .where(cc.urgent == true(), mm.created_at >= week.start, mm.created_at < week.end)
        .order_by(mm.created_at.desc())
        .limit(limit)
    )
    top_ids = (
        select(mm.id)
        .where(mm.created_at >= week.start, mm.created_at < week.end)
        .order_by(mm.author_followers.desc().nulls_last(), mm.id)
        .limit(limit)
        .scalar_subquery()
    )
    followed = (
        select(*cols)
        .outerjoin(cc, join_on)
        .where(mm.id.in_(top_ids))
        .order_by(mm.author_followers.desc().nulls_last(), mm.id)
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
    "volume_cube",
]
_unused = tuple_
