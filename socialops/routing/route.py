"""Routing new items: every classified mention without an owner gets the person on duty in
its department, a due time from the department's SLA, an audit entry and a notification; the
same pass then follows reclassifications of the items already routed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Row, exists, select
from sqlalchemy.orm import Session

from socialops import storage
from socialops.rota.models import Event
from socialops.rota.schedule import RotaEngine
from socialops.routing.assignments import NO_ACTION, OPEN, ROUTER, department_of
from socialops.routing.escalation import first_step_at
from socialops.routing.notifications import queue_item_notification
from socialops.routing.picker import OwnerPicker
from socialops.routing.quiet_hours import quiet_until
from socialops.routing.reclassify import follow_reclassified
from socialops.routing.runs import RouteRun

if TYPE_CHECKING:
    from socialops.config import OrgConfig


def route_classified(
    *, session: Session, org: OrgConfig, engine: RotaEngine, now: datetime, limit: int = 500
) -> RouteRun:
    """Assign every classified, unassigned mention (urgent first) and queue its notification;
    then follow reclassifications of the items already routed (:func:`follow_reclassified`)."""
    now = now.astimezone(UTC)
    run = RouteRun(at=now)
    picker = OwnerPicker(session, engine, now)
    for classification, mention in _unrouted(session, limit):
        _route_one(session, org, engine, picker, classification, mention, now=now, run=run)
    follow_reclassified(
        session=session, org=org, engine=engine, now=now, picker=picker, run=run, limit=limit
    )
    return run


@dataclass(frozen=True)
class _NewAssignment:
    """What routing gives one mention."""

    department: str
    assignee: str
    source: str  # rota, fallback
    urgent: bool
    due_at: datetime


def _unrouted(
    session: Session, limit: int
) -> Sequence[Row[storage.ClassificationRow, storage.MentionRow]]:
    """Currently classified mentions without an assignment, urgent first, oldest first."""
    c, m, a = storage.ClassificationRow, storage.MentionRow, storage.AssignmentRow
    stmt = (
        select(c, m)
        .join(m, m.id == c.mention_id)
        .where(
            c.is_current.is_(True),
            ~exists().where(a.mention_id == c.mention_id),
            # Spam and chit-chat need nobody, unless something in them is urgent.
            (c.department != NO_ACTION) | c.urgent.is_(True),
        )
        .order_by(c.urgent.desc(), m.fetched_at, m.id)
        .limit(limit)
    )
    return session.execute(stmt).all()


def _route_one(
    session: Session,
    org: OrgConfig,
    engine: RotaEngine,
    picker: OwnerPicker,
    classification: storage.ClassificationRow,
    mention: storage.MentionRow,
    *,
    now: datetime,
    run: RouteRun,
) -> None:
    """Give one mention to the person on duty in its department: stored, audited, announced
    (or counted as unassigned, for the next pass)."""
    department = department_of(org, classification.department)
    if department not in engine.calendars:
        run.unassigned += 1
        return
    handle, source = picker.choose(department)
    if handle is None:
        run.unassigned += 1
        return
    urgent = bool(classification.urgent)
    due_at = engine.due_at(department, urgent=urgent, start=mention.fetched_at)
    new = _NewAssignment(department, handle, source, urgent, due_at)
    assignment_id = _insert(session, engine, classification, mention, new, now=now)
    if assignment_id is None:  # routed meanwhile by another run
        return
    _audit(session, classification, mention, new, shift=picker.duty(department).shift, now=now)
    event: Event = "urgent" if urgent else "assigned"
    not_before = quiet_until(engine, department, urgent=urgent, due_at=due_at, now=now)
    queue_item_notification(
        session=session,
        org=org,
        engine=engine,
        key=f"assigned:{assignment_id}",
        event=event,
        recipient=handle,
        department=department,
        mention=mention,
        due_at=due_at,
        urgent=urgent,
        now=now,
        assignment_id=assignment_id,
        into=run.notifications,
        not_before=not_before,
    )
    run.deferred += int(not_before is not None)
    run.routed += 1
    run.urgent += int(urgent)
    run.by_department[department] = run.by_department.get(department, 0) + 1
    run.by_assignee[handle] = run.by_assignee.get(handle, 0) + 1


def _insert(
    session: Session,
    engine: RotaEngine,
    classification: storage.ClassificationRow,
    mention: storage.MentionRow,
    new: _NewAssignment,
    *,
    now: datetime,
) -> int | None:
    """The new assignment's id; None if another run routed the mention meanwhile."""
    table = storage.AssignmentRow.__table__
    inserted = session.execute(
        storage.dialect_insert(session, table)
        .values(
            mention_id=mention.id,
            classification_id=classification.id,
            department=new.department,
            assignee=new.assignee,
            urgent=new.urgent,
            source=new.source,
            status=OPEN,
            escalation_level=0,
            received_at=mention.fetched_at,
            assigned_at=now,
            due_at=new.due_at,
            next_escalation_at=first_step_at(engine, new.department, new.due_at),
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["mention_id"])
        .returning(table.c.id)
    ).first()
    return None if inserted is None else int(inserted[0])


def _audit(
    session: Session,
    classification: storage.ClassificationRow,
    mention: storage.MentionRow,
    new: _NewAssignment,
    *,
    shift: str,
    now: datetime,
) -> None:
    storage.audit(
        session=session,
        actor=ROUTER,
        action="assigned",
        subject_type="mention",
        subject_id=str(mention.id),
        details={
            "assignee": new.assignee,
            "department": new.department,
            "classified_as": classification.department,
            "urgent": new.urgent,
            "due_at": new.due_at.isoformat(),
            "shift": shift,
            "source": new.source,
            "at": now.isoformat(),
        },
    )
