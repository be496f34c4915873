"""Quiet hours: a normal item assigned while its department is closed is announced when the
department next opens, and then only if it still applies; urgent items are announced at once.

``quiet_until`` says when to announce; ``skip_stale_deferred`` runs before delivery and skips
the held notifications that no longer apply.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialops import notify, storage
from socialops.rota.schedule import RotaEngine
from socialops.routing.assignments import ACTED, OPEN, QUEUED
from socialops.routing.picker import handover_reason


def quiet_until(
    engine: RotaEngine, department: str, *, urgent: bool, due_at: datetime, now: datetime
) -> datetime | None:
    """When to announce an item assigned now: None for at once, else the start of the
    department's next business-hours period.

    Only normal items wait, only while the department is closed (nights, weekends, its
    holidays) and ``quiet_out_of_hours`` is on, and never past the item's due time (a normal
    SLA counted around the clock may fall due before the department opens).
    """
    dept = engine.departments.get(department)
    calendar = engine.calendars.get(department)
    if urgent or dept is None or calendar is None or not dept.quiet_out_of_hours:
        return None
    if calendar.period_at(now) is not None:
        return None
    opens = calendar.next_open(now)
    if opens is None or opens <= now or opens >= due_at:
        return None
    return opens


def skip_stale_deferred(*, session: Session, engine: RotaEngine, now: datetime) -> int:
    """Before delivery: skip (not fail) held notifications that are due but no longer apply.

    A notification held for quiet hours goes out only if its recipient still owns the item and
    it is still open. It is skipped, with the reason, when the item was acted on or withdrawn,
    when it has another owner (a hand-over notice told them), or when its owner is now off duty
    and the hand-over about to run will give it to whoever is on duty (and tell them).
    Returns how many were skipped.
    """
    now = now.astimezone(UTC)
    n, a = storage.NotificationRow, storage.AssignmentRow
    rows = session.execute(
        select(n.id, n.recipient, a)
        .join(a, a.id == n.assignment_id)
        .where(
            n.deferred_until.is_not(None),
            n.status.in_(notify.UNSENT),
            n.next_attempt_at <= now,
        )
        .order_by(n.id)
    ).all()
    on_duty: dict[str, set[str]] = {}
    skipped = 0
    for nid, recipient, assignment in rows:
        item = f"mention {assignment.mention_id}"
        reason: str | None = None
        if assignment.status == ACTED:
            reason = f"{item} was acted on by {assignment.acted_by or 'someone'}"
        elif assignment.status == QUEUED:
            reason = f"{item} is back in the {assignment.department} queue"
        elif assignment.status != OPEN:
            reason = f"{item} was {assignment.status}"
        elif assignment.assignee != recipient:
            reason = f"{item} is now {assignment.assignee}'s"
        elif assignment.escalation_level == 0 and assignment.department in engine.calendars:
            department = assignment.department
            if department not in on_duty:
                on_duty[department] = set(engine.on_duty(department, now).on_shift)
            why = handover_reason(engine, assignment, on_duty[department], now)
            if why is not None:
                reason = f"{recipient} is off duty ({why}): the hand-over passes {item} on"
        if reason is not None and notify.skip(
            session=session, notification_id=int(nid), reason=reason, now=now
        ):
            skipped += 1
    return skipped
