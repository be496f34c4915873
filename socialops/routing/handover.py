"""Hand-over: an open item whose owner's shift has ended (or who is on leave) moves to whoever
is on duty now, who is told once for everything they took over; a normal item nobody on shift
can take (the department has closed, or everyone is at the open-item cap) goes back to its
department's queue instead, so no item keeps an owner who is not there."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from socialops import notify, storage
from socialops.rota.schedule import RotaEngine
from socialops.routing.assignments import ESCALATOR, OPEN
from socialops.routing.notifications import queue_notification
from socialops.routing.picker import OwnerPicker, handover_reason
from socialops.routing.queue import place, requeue
from socialops.routing.quiet_hours import quiet_until
from socialops.routing.runs import EscalationRun

if TYPE_CHECKING:
    from socialops.config import OrgConfig


_Moved = tuple[storage.AssignmentRow, storage.MentionRow, str]  # item, mention, previous owner


def hand_over(
    *, session: Session, org: OrgConfig, engine: RotaEngine, now: datetime, run: EscalationRun
) -> None:
    """Open items whose owner is off duty (shift over, or on leave) go to whoever is on duty.

    Items already escalated stay with the person they were escalated to; an item someone
    assigned by hand stays put unless its owner is on leave. The new owner gets one notice
    for what they took over, except normal items of a closed department (quiet hours): each
    of those is announced when the department opens, if it is still theirs.
    """
    now = now.astimezone(UTC)
    rows = _open_unescalated(session)
    picker = OwnerPicker(session, engine, now)
    moved: dict[str, list[_Moved]] = defaultdict(list)
    cap = org.routing.max_open_per_person
    for assignment, mention in rows:
        owner = assignment.assignee
        assert owner is not None  # open items have an owner
        handle = _take_over(session, engine, picker, assignment, cap=cap, now=now, run=run)
        if handle is not None:
            moved[handle].append((assignment, mention, owner))
            run.handed_over += 1
    for handle, items in moved.items():
        _announce(session, org, engine, handle, items, now=now, run=run)


def _open_unescalated(
    session: Session,
) -> Sequence[Row[storage.AssignmentRow, storage.MentionRow]]:
    a, m = storage.AssignmentRow, storage.MentionRow
    return session.execute(
        select(a, m)
        .join(m, m.id == a.mention_id)
        .where(a.status == OPEN, a.escalation_level == 0)
        .order_by(a.urgent.desc(), a.due_at, a.id)
    ).all()


def _take_over(
    session: Session,
    engine: RotaEngine,
    picker: OwnerPicker,
    assignment: storage.AssignmentRow,
    *,
    cap: int,
    now: datetime,
    run: EscalationRun,
) -> str | None:
    """Give the item to the person on duty if its owner is off duty (audited): the new owner,
    or None when it stays (owner on duty, nobody else, or changed meanwhile) or goes back to
    its department's queue (a normal item nobody on shift can take under the cap)."""
    if assignment.department not in engine.calendars:
        return None
    owner = assignment.assignee
    reason = handover_reason(engine, assignment, picker.on_duty(assignment.department), now)
    if owner is None or reason is None:
        return None
    placed = place(
        picker, assignment.department, urgent=assignment.urgent, due_at=assignment.due_at, cap=cap
    )
    if placed is None or placed.handle == owner:
        if placed is not None and placed.handle is not None:
            picker.relieve(placed.handle)
        return None
    picker.relieve(owner)
    if placed.handle is None:
        run.requeued += int(
            requeue(session=session, assignment=assignment, actor=ESCALATOR, reason=reason, now=now)
        )
        return None
    handle = placed.handle
    a = storage.AssignmentRow
    changed = session.execute(
        update(a)
        .where(a.id == assignment.id, a.assignee == owner, a.escalation_level == 0)
        .values(assignee=handle, source="rota", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        picker.relieve(handle)
        return None
    storage.audit(
        session=session,
        actor=ESCALATOR,
        action="handover",
        subject_type="mention",
        subject_id=str(assignment.mention_id),
        details={
            "from": owner,
            "to": handle,
            "reason": reason,
            "department": assignment.department,
            "at": now.isoformat(),
        },
    )
    return handle


def _announce(
    session: Session,
    org: OrgConfig,
    engine: RotaEngine,
    handle: str,
    items: list[_Moved],
    *,
    now: datetime,
    run: EscalationRun,
) -> None:
    """Quiet hours: normal items handed over while their department is closed are each
    announced when it opens (if still this person's); the rest in one notice now."""
    at_once = []
    for item in items:
        assignment, mention, _previous = item
        not_before = quiet_until(
            engine,
            assignment.department,
            urgent=assignment.urgent,
            due_at=assignment.due_at,
            now=now,
        )
        if not_before is None:
            at_once.append(item)
            continue
        queued = queue_notification(
            session=session,
            org=org,
            key=f"handover:{handle}:{assignment.id}:{now.isoformat()}",
            event="handover",
            recipient=handle,
            urgent=False,
            values=_handover_values(engine, handle, [item]),
            now=now,
            assignment_id=assignment.id,
            mention_id=mention.id,
            into=run.notifications,
            not_before=not_before,
        )
        run.deferred += int(queued)
    if not at_once:
        return
    queue_notification(
        session=session,
        org=org,
        key=f"handover:{handle}:{now.isoformat()}",
        event="handover",
        recipient=handle,
        urgent=any(assignment.urgent for assignment, _m, _p in at_once),
        values=_handover_values(engine, handle, at_once),
        now=now,
        assignment_id=None,
        mention_id=None,
        into=run.notifications,
    )


def _handover_values(
    engine: RotaEngine,
    handle: str,
    items: Sequence[_Moved],
) -> dict[str, object]:
    person = engine.people.get(handle)
    tz = person.timezone if person else "UTC"
    lines = [
        f"- mention {mention.id} ({assignment.department}, "
        f"{'urgent' if assignment.urgent else 'normal'}) from {previous}, due "
        f"{notify.local_time(assignment.due_at, tz)}"
        for assignment, mention, previous in items
    ]
    previous_owners = sorted({previous for _a, _m, previous in items})
    return {
        "assignee": handle,
        "assignee_name": person.name if person else handle,
        "count": len(items),
        "items": "\n".join(lines),
        "previous": ", ".join(previous_owners),
        "reason": f"shifts changed: {', '.join(previous_owners)} handed over to you",
    }
