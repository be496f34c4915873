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

Response times and SLA outcomes (a cube, then exact percentiles without loading rows) are
in :mod:`socialops.report.responses`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    false,
    func,
    select,
    true,
)
from sqlalchemy.orm import Session

from socialops import storage
from socialops.report import rollups
from socialops.report.week import IsoWeek

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
    "VolumeCell",
    "backlog_at",
    "escalations",
    "handled_by_person",
    "notable_mentions",
    "notifications",
    "quarantined",
    "sentiment_counts",
    "spans",
    "volume_cube",
]
