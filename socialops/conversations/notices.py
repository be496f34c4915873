"""What joining a conversation does to its assignment, its audit trail and its owner."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from socialops import storage
from socialops.conversations.tables import LINKER, PLATFORM_NAMES
from socialops.routing.assignments import OPEN
from socialops.routing.escalation import first_step_at
from socialops.routing.notifications import queue_item_notification
from socialops.routing.quiet_hours import quiet_until

if TYPE_CHECKING:
    from socialops.config import OrgConfig
    from socialops.rota.schedule import RotaEngine
    from socialops.routing.runs import RouteRun


def announce_link(
    session: Session,
    org: OrgConfig,
    engine: RotaEngine,
    *,
    conversation_id: int,
    opener_id: int,
    mention: storage.MentionRow,
    urgent: bool,
    evidence: dict[str, Any],
    now: datetime,
    run: RouteRun,
) -> None:
    """Audit the link, make the conversation urgent if this mention is, tell its owner."""
    assignment, raised = _touch_opener(
        session, engine, opener_id=opener_id, mention=mention, urgent=urgent, now=now
    )
    platform = PLATFORM_NAMES.get(mention.platform, mention.platform)
    storage.audit(
        session=session,
        actor=LINKER,
        action="linked",
        subject_type="mention",
        subject_id=str(mention.id),
        details={
            "conversation_id": conversation_id,
            "opener_mention_id": opener_id,
            "assignment_id": assignment.id,
            "assignee": assignment.assignee,
            "made_urgent": raised,
            **evidence,
        },
    )
    run.linked += 1
    if assignment.assignee is None:  # queued: whoever takes it sees the whole conversation
        return
    not_before = quiet_until(
        engine, assignment.department, urgent=raised, due_at=assignment.due_at, now=now
    )
    queued = queue_item_notification(
        session=session,
        org=org,
        engine=engine,
        key=f"linked:{conversation_id}:{mention.id}",
        event="urgent" if raised else "linked",
        recipient=assignment.assignee,
        department=assignment.department,
        mention=mention,
        due_at=assignment.due_at,
        urgent=assignment.urgent,
        now=now,
        assignment_id=assignment.id,
        into=run.notifications,
        not_before=not_before,
        reason=f"also raised on {platform} (conversation {conversation_id}, "
        f"with mention {opener_id}: {evidence['detail']}, similarity {evidence['similarity']})",
    )
    run.deferred += int(queued and not_before is not None)


def _touch_opener(
    session: Session,
    engine: RotaEngine,
    *,
    opener_id: int,
    mention: storage.MentionRow,
    urgent: bool,
    now: datetime,
) -> tuple[Any, bool]:
    """The conversation's item, locked and touched; made urgent (sooner due time, the first
    escalation step from it) when this mention is urgent and the item was not. Returns the
    item (what the notice needs) and whether it was raised."""
    a = storage.AssignmentRow
    if not urgent:  # one statement: touch the item (and lock it) and read what the notice needs
        return session.execute(
            update(a)
            .where(a.mention_id == opener_id)
            .values(updated_at=now)
            .returning(a.id, a.assignee, a.department, a.due_at, a.urgent)
            .execution_options(synchronize_session=False)
        ).one(), False
    # it may make the conversation urgent: read and lock the item first
    assignment = session.execute(
        select(a).where(a.mention_id == opener_id).with_for_update()
    ).scalar_one()
    raised = not assignment.urgent
    if raised:
        due_at = min(
            assignment.due_at,
            engine.due_at(assignment.department, urgent=True, start=mention.fetched_at),
        )
        assignment.urgent = True
        assignment.due_at = due_at
        if assignment.status == OPEN:
            assignment.next_escalation_at = first_step_at(engine, assignment.department, due_at)
    assignment.updated_at = now
    session.flush()
    return assignment, raised
