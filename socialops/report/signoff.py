"""Approvals and publications in the weekly report, counted by the database.

**Approval requests** come from the append-only audit log, where the sign-off stage records
every step of a draft (:mod:`socialops.signoff`): a request is a draft version put up for
sign-off (``draft``/``plan_post`` that left it ``pending``, or an ``edit``, which starts the
approvals again), made in the week. Its **decision** is the first of: the approval that made
it ``approved``, a rejection while it was pending, its expiry while pending (a planned time
that passed). **Turnaround** is from the request to an approval or rejection (expiries are
counted, not timed), in whole seconds, with exact nearest-rank median and p90. The database
keeps these per draft version in ``report_signoff_facts`` (migration 0019, kept by triggers on
the audit log: :mod:`socialops.report.signoff_facts`); the report counts the week's rows per
department, outcome and turnaround while it walks their index.

**Publishing** reads the drafts: replies and planned posts published in the week (by
``published_at``) per channel; failures are ``publish_failed`` steps (the platform refused the
text) in the week, and planned posts that expired unpublished.

Until the sign-off stage has written a draft in this database, both say ``not recorded``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import ColumnElement, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session

from socialops import storage
from socialops.report import durations, signoff_facts
from socialops.report.queries import epoch_micros, spans
from socialops.report.week import IsoWeek

NOT_RECORDED = "not recorded"
RECORDED = "recorded"
OUTCOMES = ("approved", "rejected", "expired", "pending")

au = storage.AuditRow.__table__
d = storage.DraftRow.__table__
sf = signoff_facts.facts

DEFINITION = (
    "a request is a draft version put up for sign-off in the week (new, or edited); turnaround "
    "is from the request to its approval or rejection, whole seconds, nearest-rank percentiles"
)


def recorded(session: Session) -> bool:
    """Has the sign-off stage written anything here?"""
    return session.execute(select(d.c.id).limit(1)).first() is not None


def _draft_id() -> Any:
    return cast(au.c.subject_id, storage.BigIntId)


def _in_week(column: Any, week: IsoWeek) -> Any:
    return and_(column >= week.start, column < week.end)


def _spans(week: IsoWeek) -> list[ColumnElement[bool]]:
    """The week as ranges of the sign-off facts' week index: one per UTC week it overlaps
    (the request time a filter inside each: PostgreSQL then estimates the rows well and
    counts them in a hash, rather than sorting a misjudged few on disk)."""
    requested = sf.c.requested_us
    return [
        and_(
            sf.c.week == span.week,
            requested >= span.lo * 1_000_000,
            requested < span.hi * 1_000_000,
        )
        for span in spans(week)
    ]


def approvals(*, session: Session, week: IsoWeek) -> dict[str, Any]:
    """Approval requests, decisions and turnaround in the week, per department: counted per
    department, outcome and turnaround from the sign-off facts (migration 0019), one index
    range per UTC week the week overlaps, walked in the ``GROUP BY``'s order."""
    if not recorded(session):
        return {"status": NOT_RECORDED, "requested": None, "approved": None, "turnaround": None}
    # A decision counts from the week's start on (as the query over the steps did): one
    # stamped earlier (before its own request: clocks) leaves the request pending.
    early = func.sum(case((sf.c.decided_us < epoch_micros(week.start), 1), else_=0))
    by: dict[str, dict[str, Any]] = defaultdict(lambda: dict.fromkeys(OUTCOMES, 0))
    hists: dict[str, dict[int, int]] = defaultdict(dict)
    without: dict[str, int] = defaultdict(int)
    for where in _spans(week):
        for department, outcome, secs, count, before in session.execute(
            select(sf.c.department, sf.c.outcome, sf.c.seconds, func.count(), early)
            .where(where)
            .group_by(sf.c.department, sf.c.outcome, sf.c.seconds)
        ):
            dept, count, before = str(department), int(count), int(before or 0)
            if outcome == signoff_facts.DIRECT:
                without[dept] += count
                continue
            label = str(outcome) if outcome in OUTCOMES else "pending"
            by[dept][label] += count - before
            by[dept]["pending"] += before
            if secs is not None and count > before:
                hist = hists[dept]
                hist[int(secs)] = hist.get(int(secs), 0) + count - before
    turnaround = durations.from_histograms(hists)
    departments = sorted(set(by) | set(without))
    by_department = {
        dept: {
            "requested": sum(by[dept].values()) if dept in by else 0,
            **(by[dept] if dept in by else dict.fromkeys(OUTCOMES, 0)),
            "without_sign_off": without.get(dept, 0),
            "turnaround": turnaround.get(dept, durations.empty()),
        }
        for dept in departments
    }
    totals = {k: sum(v[k] for v in by_department.values()) for k in OUTCOMES}
    return {
        "status": RECORDED,
        "definition": DEFINITION,
        "requested": sum(totals.values()),
        **totals,
        "without_sign_off": sum(without.values()),
        "turnaround": turnaround[durations.ALL],
        "by_department": by_department,
    }


def _next_pair(session: Session, after: tuple[str, str] | None) -> tuple[str, str] | None:
    """The next (channel, kind) of the published drafts after ``after``, each step one seek
    of the index ``(status, channel, kind, published_at)``: the next kind of the same channel,
    else the first kind of the next channel (an ``OR`` of the two would walk the index)."""
    published = d.c.status == "published"
    first = select(d.c.channel, d.c.kind).where(published).limit(1)
    if after is not None:
        channel, kind = after
        row = session.execute(
            first.where(d.c.channel == channel, d.c.kind > kind).order_by(d.c.kind)
        ).first()
        if row is not None:
            return str(row[0]), str(row[1])
        first = first.where(d.c.channel > channel)
    row = session.execute(first.order_by(d.c.channel, d.c.kind)).first()
    return None if row is None else (str(row[0]), str(row[1]))


def _published(session: Session, week: IsoWeek) -> list[tuple[str, str, int]]:
    """Drafts published in the week per channel and kind: a loose scan of the index
    ``(status, channel, kind, published_at)`` (migration 0016) finds the few pairs, then each
    pair's week is one index range, counted without a sort or a look at other weeks."""
    published = d.c.status == "published"
    out = []
    pair = _next_pair(session, None)
    while pair is not None:
        channel, k = pair
        count = session.execute(
            select(func.count()).where(
                published, d.c.channel == channel, d.c.kind == k, _in_week(d.c.published_at, week)
            )
        ).scalar_one()
        if count:
            out.append((channel, k, int(count)))
        pair = _next_pair(session, pair)
    return out


def publishing(*, session: Session, week: IsoWeek) -> dict[str, Any]:
    """Replies and planned posts published in the week, failed attempts and missed posts,
    per channel."""
    if not recorded(session):
        return {"status": NOT_RECORDED, "replies": None, "posts": None, "failures": None}
    counts: dict[str, dict[str, int]] = defaultdict(
        lambda: {"replies": 0, "posts": 0, "failures": 0, "expired_posts": 0}
    )
    kind = {"reply": "replies", "post": "posts"}
    for channel, k, count in _published(session, week):
        counts[str(channel)][kind.get(str(k), "posts")] += int(count)
    events = au.join(d, d.c.id == _draft_id())
    for channel, action, count in session.execute(
        select(d.c.channel, au.c.action, func.count())
        .select_from(events)
        .where(
            au.c.subject_type == "draft",
            _in_week(au.c.at, week),
            or_(
                au.c.action == "publish_failed",
                and_(au.c.action == "expire", d.c.kind == "post"),
            ),
        )
        .group_by(d.c.channel, au.c.action)
    ):
        key = "failures" if action == "publish_failed" else "expired_posts"
        counts[str(channel)][key] += int(count)
    by_channel = {ch: counts[ch] for ch in sorted(counts)}
    return {
        "status": RECORDED,
        "replies": sum(v["replies"] for v in by_channel.values()),
        "posts": sum(v["posts"] for v in by_channel.values()),
        "failures": sum(v["failures"] for v in by_channel.values()),
        "expired_posts": sum(v["expired_posts"] for v in by_channel.values()),
        "by_channel": by_channel,
    }
