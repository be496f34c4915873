"""What every routing job shares about an assignment: its states, who changes it, how the
inbox shows it, and which department owns a classification."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialops import storage

if TYPE_CHECKING:
    from socialops.config import OrgConfig

ROUTER = "socialops:route"
ESCALATOR = "socialops:escalate"
NO_ACTION = "none"  # the classifier's department for spam and chit-chat
OPEN, ACTED, WITHDRAWN = "open", "acted", "withdrawn"  # an assignment's status
QUEUED = "queued"  # waits in its department's queue, without an owner


class RoutingError(Exception):
    """A routing request that cannot be done (unknown mention or person). For people."""


@dataclass(frozen=True)
class AssignmentView:
    """What the inbox shows about a mention's owner."""

    mention_id: int
    department: str
    assignee: str | None  # None while queued
    urgent: bool
    status: str  # queued, open, acted, withdrawn (reclassified as needing nobody)
    due_at: datetime
    assigned_at: datetime
    escalation_level: int
    source: str
    received_at: datetime | None = None
    queued_at: datetime | None = None  # when it last entered the queue (None: never)
    first_assigned_at: datetime | None = None  # None: nobody has owned it yet
    queued_seconds: int = 0  # waited in earlier, finished stays in the queue

    def overdue(self, now: datetime) -> bool:
        return self.status in (OPEN, QUEUED) and now >= self.due_at

    def seconds_in_queue(self, now: datetime) -> int:
        """How long it has waited in its department's queue, all stays counted."""
        waiting = self.status == QUEUED and self.queued_at is not None
        current = (now - self.queued_at).total_seconds() if waiting and self.queued_at else 0
        return self.queued_seconds + max(0, int(current))


def view_of(row: storage.AssignmentRow) -> AssignmentView:
    """The inbox's view of one assignment row."""
    return AssignmentView(
        mention_id=row.mention_id,
        department=row.department,
        assignee=row.assignee,
        urgent=row.urgent,
        status=row.status,
        due_at=row.due_at,
        assigned_at=row.assigned_at,
        escalation_level=row.escalation_level,
        source=row.source,
        received_at=row.received_at,
        queued_at=row.queued_at,
        first_assigned_at=row.first_assigned_at,
        queued_seconds=row.queued_seconds or 0,
    )


def assignments_for(*, session: Session, mention_ids: Sequence[int]) -> dict[int, AssignmentView]:
    """Owner, due time and state of the given mentions (absent: not routed yet)."""
    if not mention_ids:
        return {}
    a = storage.AssignmentRow
    rows = session.execute(select(a).where(a.mention_id.in_(list(mention_ids)))).scalars()
    return {row.mention_id: view_of(row) for row in rows}


def department_of(org: OrgConfig, classified: str) -> str:
    """The department that owns a classification ("triage" for anything unknown)."""
    return classified if classified in org.departments else "triage"


def leaving_queue(row: storage.AssignmentRow, now: datetime) -> dict[str, Any]:
    """Column values for an item that leaves its department's queue now (to an owner, acted
    on, withdrawn): its wait joins ``queued_seconds``; empty when it was not queued."""
    if row.status != QUEUED or row.queued_at is None:
        return {}
    waited = max(0, int((now - row.queued_at).total_seconds()))
    return {"queued_seconds": (row.queued_seconds or 0) + waited}
