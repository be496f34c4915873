"""Routing new items: every classified mention without an owner gets the person on duty in
its department (or, a normal one nobody on shift can take, its department's queue), a due
time from the department's SLA, an audit entry and a notification; the same pass first gives
the queues out and then follows reclassifications of the items already routed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Row, exists, select
from sqlalchemy.orm import Session

from socialops import conversations, storage
from socialops.rota.models import Event
from socialops.rota.schedule import RotaEngine
from socialops.routing.assignments import NO_ACTION, OPEN, QUEUED, ROUTER, department_of
from socialops.routing.escalation import first_step_at
from socialops.routing.notifications import queue_item_notification
from socialops.routing.picker import OwnerPicker
from socialops.routing.queue import assign_queued, place, queue_lengths
from socialops.routing.quiet_hours import quiet_until
from socialops.routing.reclassify import follow_reclassified
from socialops.routing.runs import RouteRun

if TYPE_CHECKING:
    from socialops.config import OrgConfig


def route_classified(
    *, session: Session, org: OrgConfig, engine: RotaEngine, now: datetime, limit: int = 500
) -> RouteRun:
    """Give the departments' queues to the people on shift (:func:`assign_queued`), then
    route every classified, unrouted mention (urgent first; a normal one waits in its
    department's queue when nobody on shift can take it) and queue its notification; then
    follow reclassifications of the items already routed (:func:`follow_reclassified`)."""
    now = now.astimezone(UTC)
    run = RouteRun(at=now)
    picker = OwnerPicker(session, engine, now)
    assign_queued(session=session, org=org, engine=engine, picker=picker, now=now, run=run)
    for classification, mention in _unrouted(session, limit):
        # The same person on the same issue elsewhere: joins that conversation's assignment.
        if conversations.attach(
            session=session,
            org=org,
            engine=engine,
            classification=classification,
            mention=mention,
            now=now,
            run=run,
        ):
            continue
        _route_one(session, org, engine, picker, classification, mention, now=now, run=run)
    follow_reclassified(
        session=session, org=org, engine=engine, now=now, picker=picker, run=run, limit=limit
    )
    run.queue = queue_lengths(session=session)
    return run


@dataclass(frozen=True)
class _NewAssignment:
    """What routing gives one mention: an owner, or (``assignee`` None) its department's
    queue."""

    department: str
    assignee: str | None
    source: str  # rota, fallback, queue
    urgent: bool
    due_at: datetime


def _unrouted(
    session: Session, limit: int
) -> Sequence[Row[storage.ClassificationRow, storage.MentionRow]]:
    """Currently classified mentions without an assignment, urgent first, oldest first."""
    c, m, a = storage.ClassificationRow, storage.MentionRow, storage.AssignmentRow
    cm = conversations.ConversationMentionRow
    stmt = (
        select(c, m)
        .join(m, m.id == c.mention_id)
        .where(
            c.is_current.is_(True),
            ~exists().where(a.mention_id == c.mention_id),
            ~exists().where(  # linked into a conversation: its assignment covers it
                cm.mention_id == c.mention_id,
                cm.role == conversations.MEMBER,
                cm.status == conversations.LINKED,
            ),
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
    """Give one mention to the person on duty in its department, or put it in the
    department's queue: stored, audited, announced (or counted as unassigned, for the next
    pass)."""
    department = department_of(org, classification.department)
    if department not in engine.calendars:
        run.unassigned += 1
        return
    urgent = bool(classification.urgent)
    due_at = engine.due_at(department, urgent=urgent, start=mention.fetched_at)
    placed = place(
        picker, department, urgent=urgent, due_at=due_at, cap=org.routing.max_open_per_person
    )
    if placed is None:
        run.unassigned += 1
        return
    new = _NewAssignment(department, placed.handle, placed.source, urgent, due_at)
    assignment_id = _insert(session, engine, classification, mention, new, now=now)
    if assignment_id is None:  # routed meanwhile by another run
        if new.assignee is not None:
            picker.relieve(new.assignee)
        return
    _audit(session, classification, mention, new, shift=picker.duty(department).shift, now=now)
    if new.assignee is None:
        run.queued += 1
        return
    _notify(session, org, engine, new, mention, assignment_id, now=now, run=run)


def _notify(
    session: Session,
    org: OrgConfig,
    engine: RotaEngine,
    new: _NewAssignment,
    mention: storage.MentionRow,
    assignment_id: int,
    *,
    now: datetime,
    run: RouteRun,
) -> None:
    """Tell the new owner (quiet hours apply) and count the item as routed."""
    assert new.assignee is not None
    event: Event = "urgent" if new.urgent else "assigned"
    department = new.department
    not_before = quiet_until(engine, department, urgent=new.urgent, due_at=new.due_at, now=now)
    queue_item_notification(
        session=session,
        org=org,
        engine=engine,
        key=f"assigned:{assignment_id}",
        event=event,
        recipient=new.assignee,
        department=department,
        mention=mention,
        due_at=new.due_at,
        urgent=new.urgent,
        now=now,
        assignment_id=assignment_id,
        into=run.notifications,
        not_before=not_before,
    )
    run.deferred += int(not_before is not None)
    run.routed += 1
    run.urgent += int(new.urgent)
    run.by_department[department] = run.by_department.get(department, 0) + 1
    run.by_assignee[new.assignee] = run.by_assignee.get(new.assignee, 0) + 1


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
            status=OPEN if new.assignee is not None else QUEUED,
            escalation_level=0,
            received_at=mention.fetched_at,
            assigned_at=now,
            queued_at=None if new.assignee is not None else now,
            first_assigned_at=now if new.assignee is not None else None,
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
        action="assigned" if new.assignee is not None else "queued",
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
