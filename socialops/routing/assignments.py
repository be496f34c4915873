"""What every routing job shares about an assignment: its states, who changes it, how the
inbox shows it, and which department owns a classification."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialops import storage

if TYPE_CHECKING:
    from socialops.config import OrgConfig

ROUTER = "socialops:route"
ESCALATOR = "socialops:escalate"
NO_ACTION = "none"  # the classifier's department for spam and chit-chat
OPEN, ACTED, WITHDRAWN = "open", "acted", "withdrawn"  # an assignment's status


class RoutingError(Exception):
    """A routing request that cannot be done (unknown mention or person). For people."""


@dataclass(frozen=True)
class AssignmentView:
    """What the inbox shows about a mention's owner."""

    mention_id: int
    department: str
    assignee: str
    urgent: bool
    status: str  # open, acted, withdrawn (reclassified as needing nobody)
    due_at: datetime
    assigned_at: datetime
    escalation_level: int
    source: str

    def overdue(self, now: datetime) -> bool:
        return self.status == OPEN and now >= self.due_at


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
