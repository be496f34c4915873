"""Approvals and publications in the weekly report, counted by the database.

**Approval requests** come from the append-only audit log, where the sign-off stage records
every step of a draft (:mod:`socialops.signoff`): a request is a draft version put up for
sign-off (``draft``/``plan_post`` that left it ``pending``, or an ``edit``, which starts the
approvals again), made in the week. Its **decision** is the first of: the approval that made
it ``approved``, a rejection while it was pending, its expiry while pending (a planned time
that passed). **Turnaround** is from the request to an approval or rejection (expiries are
counted, not timed), in whole seconds, with exact nearest-rank median and p90.

**Publishing** reads the drafts: replies and planned posts published in the week (by
``published_at``) per channel; failures are ``publish_failed`` steps (the platform refused the
text) in the week, and planned posts that expired unpublished.

Until the sign-off stage has written a draft in this database, both say ``not recorded``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import Session

from socialops import storage
from socialops.report import durations
from socialops.report.week import IsoWeek

NOT_RECORDED = "not recorded"
RECORDED = "recorded"
OUTCOMES = ("approved", "rejected", "expired", "pending")
# The steps that put a draft version up for sign-off or decide it (publishing steps are not).
SIGN_OFF_STEPS = ("draft", "plan_post", "edit", "approve", "reject", "expire")

au = storage.AuditRow.__table__
d = storage.DraftRow.__table__

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


def approvals(*, session: Session, week: IsoWeek) -> dict[str, Any]:
    """Approval requests, decisions and turnaround in the week, per department."""
    if not recorded(session):
        return {"status": NOT_RECORDED, "requested": None, "approved": None, "turnaround": None}
    dialect = session.get_bind().dialect.name
    status = au.c.details["status"].as_string()
    before = au.c.details["before"].as_string()
    version = au.c.details["version"].as_integer()
    is_draft = au.c.subject_type == "draft"
    is_request = and_(
        _in_week(au.c.at, week),
        or_(
            and_(au.c.action.in_(("draft", "plan_post")), status == "pending"),
            au.c.action == "edit",
        ),
    )
    is_decision = or_(
        and_(au.c.action == "approve", status == "approved"),
        and_(au.c.action.in_(("reject", "expire")), before == "pending"),
    )
    # One pass over the draft steps since the week began, one row per draft version: when it
    # was put up for sign-off in the week, and its decision (a version has at most one: it is
    # no longer pending after it). No self-join.
    versions = (
        select(
            au.c.subject_id.label("subject_id"),
            func.min(case((is_request, au.c.at))).label("requested_at"),
            func.min(case((is_decision, au.c.at))).label("decided_at"),
            func.min(case((is_decision, au.c.action))).label("action"),
        )
        .where(is_draft, au.c.at >= week.start, au.c.action.in_(SIGN_OFF_STEPS))
        .group_by(au.c.subject_id, version)
        .subquery("versions")
    )
    joined = versions.join(d, d.c.id == cast(versions.c.subject_id, storage.BigIntId))
    outcome = func.coalesce(versions.c.action, literal("pending")).label("outcome")
    timed = versions.c.action.in_(("approve", "reject"))
    seconds = case(
        (timed, durations.seconds_between(dialect, versions.c.decided_at, versions.c.requested_at))
    ).label("seconds")
    # One pass over the week's draft steps: per department, outcome and exact turnaround in
    # whole seconds (at most one row per request; the percentiles are read from these counts).
    by: dict[str, dict[str, Any]] = defaultdict(lambda: dict.fromkeys(OUTCOMES, 0))
    hists: dict[str, dict[int, int]] = defaultdict(dict)
    for department, action, secs, count in session.execute(
        select(d.c.department, outcome, seconds, func.count())
        .select_from(joined)
        .where(versions.c.requested_at.is_not(None))
        .group_by(d.c.department, outcome, seconds)
    ):
        label = {"approve": "approved", "reject": "rejected", "expire": "expired"}.get(
            str(action), "pending"
        )
        by[str(department)][label] += int(count)
        if secs is not None:
            hist = hists[str(department)]
            hist[int(secs)] = hist.get(int(secs), 0) + int(count)
    turnaround = durations.from_histograms(hists)
    without: dict[str, int] = {
        str(dept): int(count)
        for dept, count in session.execute(
            select(d.c.department, func.count())
            .select_from(au.join(d, d.c.id == _draft_id()))
            .where(
                is_draft,
                _in_week(au.c.at, week),
                au.c.action.in_(("draft", "plan_post")),
                status == "approved",
            )
            .group_by(d.c.department)
        )
    }
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
