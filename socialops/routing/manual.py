"""People acting on items: giving one to a named person, and marking one acted on (which stops
its escalation). Both audited under the person's name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from socialops import notify, storage
from socialops.rota.schedule import RotaEngine
from socialops.routing.assignments import (
    ACTED,
    OPEN,
    QUEUED,
    WITHDRAWN,
    AssignmentView,
    RoutingError,
    department_of,
    leaving_queue,
    view_of,
)
from socialops.routing.escalation import first_step_at
from socialops.routing.notifications import notification_values

if TYPE_CHECKING:
    from socialops.config import OrgConfig

MANUAL_GRACE = timedelta(minutes=30)


def assign_manually(
    *,
    session: Session,
    org: OrgConfig,
    engine: RotaEngine,
    mention_id: int,
    handle: str,
    actor: str,
    now: datetime,
) -> AssignmentView:
    """Give a mention to a named person (audited, notified). Escalation restarts for them.
    A mention linked into a conversation gives them the conversation (its one assignment)."""
    from socialops.conversations import owner_mention

    now = now.astimezone(UTC)
    if handle not in engine.people:
        known = ", ".join(sorted(engine.people)) or "none configured"
        raise RoutingError(f"no person with handle {handle!r} (people: {known})")
    mention = session.get(storage.MentionRow, mention_id)
    if mention is None:
        raise RoutingError(f"no mention with id {mention_id}")
    mention_id = owner_mention(session, mention_id)
    mention = session.get(storage.MentionRow, mention_id) or mention
    a = storage.AssignmentRow
    assignment = session.execute(select(a).where(a.mention_id == mention_id)).scalar_one_or_none()
    previous: str | None = None
    if assignment is None:
        assignment = _new_assignment(session, org, engine, mention, handle=handle, now=now)
        session.add(assignment)
    else:
        previous = assignment.assignee
        _reassign(engine, assignment, handle=handle, now=now)
    session.flush()
    storage.audit(
        session=session,
        actor=actor,
        action="assign",
        subject_type="mention",
        subject_id=str(mention_id),
        details={"from": previous, "to": handle, "department": assignment.department},
    )
    _notify(session, org, engine, assignment, mention, handle=handle, actor=actor, now=now)
    return view_of(assignment)


def _new_assignment(
    session: Session,
    org: OrgConfig,
    engine: RotaEngine,
    mention: storage.MentionRow,
    *,
    handle: str,
    now: datetime,
) -> storage.AssignmentRow:
    """A first assignment, to ``handle``, for its current classification's department (triage
    when it has none)."""
    c = storage.ClassificationRow
    classification = session.execute(
        select(c).where(c.mention_id == mention.id, c.is_current.is_(True)).limit(1)
    ).scalar_one_or_none()
    department = department_of(org, classification.department if classification else "")
    urgent = bool(classification.urgent) if classification else False
    due_at = engine.due_at(department, urgent=urgent, start=mention.fetched_at)
    return storage.AssignmentRow(
        mention_id=mention.id,
        classification_id=classification.id if classification else None,
        department=department,
        assignee=handle,
        urgent=urgent,
        source="manual",
        status=OPEN,
        escalation_level=0,
        received_at=mention.fetched_at,
        assigned_at=now,
        first_assigned_at=now,
        due_at=due_at,
        next_escalation_at=first_step_at(engine, department, max(due_at, now + MANUAL_GRACE)),
        updated_at=now,
    )


def _reassign(
    engine: RotaEngine, assignment: storage.AssignmentRow, *, handle: str, now: datetime
) -> None:
    """To ``handle``, by hand: escalation starts again from the bottom (no sooner than
    ``MANUAL_GRACE`` from now), and a withdrawn item opens again."""
    for column, value in leaving_queue(assignment, now).items():
        setattr(assignment, column, value)
    assignment.assignee = handle
    assignment.source = "manual"
    assignment.escalation_level = 0
    if assignment.status in (WITHDRAWN, QUEUED):  # a person wants it acted on (by them)
        assignment.status = OPEN
    if assignment.first_assigned_at is None:
        assignment.first_assigned_at = now
    if assignment.status == OPEN:
        assignment.next_escalation_at = first_step_at(
            engine, assignment.department, max(assignment.due_at, now + MANUAL_GRACE)
        )
    assignment.updated_at = now


def _notify(
    session: Session,
    org: OrgConfig,
    engine: RotaEngine,
    assignment: storage.AssignmentRow,
    mention: storage.MentionRow,
    *,
    handle: str,
    actor: str,
    now: datetime,
) -> None:
    """Tell the new owner at once, naming who gave it to them."""
    notify_values: dict[str, Any] = notification_values(
        engine,
        recipient=handle,
        department=assignment.department,
        mention=mention,
        due_at=assignment.due_at,
        urgent=assignment.urgent,
        previous=actor,
    )
    notify.enqueue(
        session=session,
        org=org,
        dedupe_key=f"reassigned:{assignment.id}:{handle}:{now.isoformat()}",
        event="reassigned",
        recipient=handle,
        urgent=assignment.urgent,
        values=notify_values,
        now=now,
        assignment_id=assignment.id,
        mention_id=mention.id,
    )


def mark_acted(*, session: Session, mention_id: int, actor: str, now: datetime) -> bool:
    """Someone acted on the mention (replied, drafted, closed): escalation stops. Audited.
    An item still in its department's queue can be acted on too (it leaves the queue)."""
    from socialops.conversations import owner_mention

    now = now.astimezone(UTC)
    a = storage.AssignmentRow
    owner = owner_mention(session, mention_id)  # a linked mention: its conversation's item
    row = session.execute(
        select(a).where(a.mention_id == owner, a.status.in_((OPEN, QUEUED)))
    ).scalar_one_or_none()
    if row is None:
        return False
    result = session.execute(
        update(a)
        .where(a.id == row.id, a.status == row.status)
        .values(
            status=ACTED,
            acted_at=now,
            acted_by=actor,
            next_escalation_at=None,
            updated_at=now,
            **leaving_queue(row, now),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    storage.audit(
        session=session,
        actor=actor,
        action="acted",
        subject_type="mention",
        subject_id=str(mention_id),
        details={"at": now.isoformat(), "from_queue": row.status == QUEUED}
        | ({"via_linked_mention": mention_id, "item": owner} if owner != mention_id else {}),
    )
    return True
