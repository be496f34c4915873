"""Following reclassifications: an open item whose mention was classified again moves to its
new department, is withdrawn (now spam or chit-chat), becomes urgent, or keeps its owner and
deadline with the new decision recorded; a withdrawn item that needs someone again reopens.

Each change is audited in the routing pass's transaction and notified; the previous owner is
told when an item they had been told about is no longer theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from socialops import notify, storage
from socialops.rota.models import Event
from socialops.rota.schedule import RotaEngine
from socialops.routing.assignments import (
    NO_ACTION,
    OPEN,
    QUEUED,
    ROUTER,
    WITHDRAWN,
    department_of,
    leaving_queue,
)
from socialops.routing.escalation import first_step_at, next_step_at
from socialops.routing.notifications import ANNOUNCEMENTS, queue_item_notification
from socialops.routing.picker import OwnerPicker
from socialops.routing.queue import Placement, place
from socialops.routing.quiet_hours import quiet_until
from socialops.routing.runs import RouteRun

if TYPE_CHECKING:
    from socialops.config import OrgConfig


def _needs_someone(classification: storage.ClassificationRow) -> bool:
    return classification.department != NO_ACTION or bool(classification.urgent)


@dataclass
class _Reclassified:
    """One routing pass's handling of items whose mention was classified again."""

    session: Session
    org: OrgConfig
    engine: RotaEngine
    now: datetime
    picker: OwnerPicker
    run: RouteRun

    def handle(
        self,
        assignment: storage.AssignmentRow,
        classification: storage.ClassificationRow,
        mention: storage.MentionRow,
    ) -> None:
        department = department_of(self.org, classification.department)
        urgent = bool(classification.urgent)
        if assignment.status == WITHDRAWN:
            if _needs_someone(classification):
                self.move(assignment, classification, mention, department, reopen=True)
            else:  # still nothing to do: only remember which decision this is
                self.claim(assignment, classification_id=classification.id)
        elif assignment.source == "manual":
            # A person chose the owner: that outranks the model. A rise in urgency still
            # tightens the deadline and pages the owner they chose.
            if urgent and not assignment.urgent:
                self.raise_urgency(assignment, classification, mention, kept="assigned by hand")
            else:
                self.relabel(assignment, classification, kept="assigned by hand")
        elif not _needs_someone(classification):
            self.withdraw(assignment, classification, mention)
        elif department != assignment.department:
            self.move(assignment, classification, mention, department, reopen=False)
        elif urgent and assignment.status == QUEUED:
            # Waiting in the queue, now urgent: it needs the person on duty now.
            self.move(assignment, classification, mention, department, reopen=False)
        elif urgent and not assignment.urgent:
            self.raise_urgency(assignment, classification, mention, kept=None)
        else:  # urgency lowered (the deadline is never loosened), or nothing routing uses
            self.relabel(assignment, classification, kept=None)

    # ----------------------------------------------------------------------------------------

    def claim(self, assignment: storage.AssignmentRow, **values: Any) -> bool:
        """Update the row only if nobody changed it since it was read (another pass, a
        hand-over, someone acting on it): then it is left for the next pass to look at."""
        a = storage.AssignmentRow
        same_decision = (
            a.classification_id.is_(None)
            if assignment.classification_id is None
            else a.classification_id == assignment.classification_id
        )
        result = self.session.execute(
            update(a)
            .where(
                a.id == assignment.id,
                a.status == assignment.status,
                a.assignee == assignment.assignee,
                same_decision,
            )
            .values(updated_at=self.now, **values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def audit(self, action: str, mention_id: int, details: dict[str, Any]) -> None:
        storage.audit(
            session=self.session,
            actor=ROUTER,
            action=action,
            subject_type="mention",
            subject_id=str(mention_id),
            details={**details, "at": self.now.isoformat()},
        )

    def supersede(self, assignment: storage.AssignmentRow, reason: str) -> bool:
        """Cancel what still waits to go to the previous owner; True if they had been told
        the item was theirs (nothing announcing it was still waiting)."""
        if assignment.assignee is None:  # queued: nobody was told it was theirs
            return False
        cancelled = notify.skip_unsent(
            session=self.session,
            assignment_id=assignment.id,
            recipient=assignment.assignee,
            reason=reason,
            now=self.now,
        )
        return not any(event in ANNOUNCEMENTS for event in cancelled)

    def release(
        self,
        assignment: storage.AssignmentRow,
        classification: storage.ClassificationRow,
        mention: storage.MentionRow,
        reason: str,
    ) -> None:
        """Tell the previous owner the item is no longer theirs (at once: it stops them
        working on it; only sent to someone who had been told it was theirs)."""
        if assignment.assignee is None:
            return
        queue_item_notification(
            session=self.session,
            org=self.org,
            engine=self.engine,
            key=f"released:{assignment.id}:{classification.id}",
            event="released",
            recipient=assignment.assignee,
            department=assignment.department,
            mention=mention,
            due_at=assignment.due_at,
            urgent=assignment.urgent,
            now=self.now,
            assignment_id=assignment.id,
            into=self.run.notifications,
            reason=reason,
        )

    def announce(
        self,
        assignment_id: int,
        mention: storage.MentionRow,
        *,
        key: str,
        event: Event,
        recipient: str,
        department: str,
        urgent: bool,
        due_at: datetime,
        quiet: bool,
    ) -> None:
        not_before = (
            quiet_until(self.engine, department, urgent=urgent, due_at=due_at, now=self.now)
            if quiet
            else None
        )
        queued = queue_item_notification(
            session=self.session,
            org=self.org,
            engine=self.engine,
            key=key,
            event=event,
            recipient=recipient,
            department=department,
            mention=mention,
            due_at=due_at,
            urgent=urgent,
            now=self.now,
            assignment_id=assignment_id,
            into=self.run.notifications,
            not_before=not_before,
        )
        self.run.deferred += int(queued and not_before is not None)

    # ----------------------------------------------------------------------------------------

    def move(
        self,
        assignment: storage.AssignmentRow,
        classification: storage.ClassificationRow,
        mention: storage.MentionRow,
        department: str,
        *,
        reopen: bool,
    ) -> None:
        """To the new department's person on duty, with its SLA counted from when the mention
        was stored, a fresh escalation chain, and a notification; the old owner is told."""
        urgent = bool(classification.urgent)
        due_at = self.engine.due_at(department, urgent=urgent, start=assignment.received_at)
        chosen = self.new_owner(assignment, department, urgent=urgent, due_at=due_at)
        if chosen is None:
            return
        handle, source = chosen.handle, chosen.source
        if not self.claim(
            assignment,
            classification_id=classification.id,
            department=department,
            assignee=handle,
            urgent=urgent,
            source=source,
            status=OPEN if handle else QUEUED,
            escalation_level=0,
            assigned_at=self.now,
            due_at=due_at,
            next_escalation_at=first_step_at(self.engine, department, due_at),
            reminded_at=None,
            **self.queue_times(assignment, queued=handle is None),
        ):
            if handle is not None:
                self.picker.relieve(handle)
            return
        self.record_move(
            assignment,
            classification,
            mention,
            department=department,
            handle=handle,
            source=source,
            due_at=due_at,
            reopen=reopen,
        )
        if handle is None:  # waits in the new department's queue: nobody to tell yet
            return
        self.announce(
            assignment.id,
            mention,
            key=f"{'reopened' if reopen else 'rerouted'}:{assignment.id}:{classification.id}",
            event="urgent" if urgent else "assigned",
            recipient=handle,
            department=department,
            urgent=urgent,
            due_at=due_at,
            quiet=True,
        )

    def new_owner(
        self, assignment: storage.AssignmentRow, department: str, *, urgent: bool, due_at: datetime
    ) -> Placement | None:
        """Where a moved item goes in ``department`` (a person, or its queue), or None when
        nobody can take it (counted as unassigned: the next pass tries again)."""
        if department not in self.engine.calendars:
            self.run.unassigned += 1
            return None
        owner, picker = assignment.assignee, self.picker
        counted = assignment.status == OPEN and owner is not None
        if counted and owner is not None:  # it leaves its owner's load before anyone is chosen
            picker.relieve(owner)
        cap = self.org.routing.max_open_per_person
        placed = place(picker, department, urgent=urgent, due_at=due_at, cap=cap)
        if placed is None:
            if counted and owner is not None:
                picker.load[owner] += 1
            self.run.unassigned += 1  # nobody to take it: the next pass tries again
            return None
        return placed

    def queue_times(self, assignment: storage.AssignmentRow, *, queued: bool) -> dict[str, Any]:
        """Queue bookkeeping for an item about to be queued (``queued``) or owned: a stay in a
        queue starts or ends, and a first owner is remembered."""
        if queued:
            still = assignment.status == QUEUED and assignment.queued_at is not None
            return {"queued_at": assignment.queued_at if still else self.now}
        return {
            "first_assigned_at": assignment.first_assigned_at or self.now,
            **leaving_queue(assignment, self.now),
        }

    def record_move(
        self,
        assignment: storage.AssignmentRow,
        classification: storage.ClassificationRow,
        mention: storage.MentionRow,
        *,
        department: str,
        handle: str | None,
        source: str,
        due_at: datetime,
        reopen: bool,
    ) -> None:
        """Audit and count a move (``assignment`` as it was before); the previous owner of a
        re-routed item is told it is no longer theirs, if they had been told it was."""
        owner = assignment.assignee
        details = {
            "from_department": assignment.department,
            "to_department": department,
            "from": owner,
            "to": handle,
            "classified_as": classification.department,
            "urgent": bool(classification.urgent),
            "due_at": due_at.isoformat(),
            "source": source,
            "classification_id": classification.id,
            "previous_classification_id": assignment.classification_id,
        }
        if reopen:
            self.audit("reopened", mention.id, details)
            self.run.reopened += 1
        else:
            self.audit("rerouted", mention.id, details)
            self.run.rerouted += 1
            name = self.engine.departments[department].name
            told = self.supersede(assignment, f"superseded: mention re-routed to {name}")
            if told and handle != owner:
                whom = f"{handle} has it now" if handle else f"it waits in {name}'s queue"
                self.release(
                    assignment,
                    classification,
                    mention,
                    f"it was reclassified for {name}, and {whom}",
                )
        self.run.changes.append(
            f"mention {mention.id}: {assignment.department}/{owner or 'queue'} -> "
            f"{department}/{handle or 'queue'}" + (" (reopened)" if reopen else "")
        )

    def withdraw(
        self,
        assignment: storage.AssignmentRow,
        classification: storage.ClassificationRow,
        mention: storage.MentionRow,
    ) -> None:
        """Now spam or chit-chat, and not urgent: nobody needs to act, so it is closed rather
        than left open to escalate."""
        if not self.claim(
            assignment,
            classification_id=classification.id,
            status=WITHDRAWN,
            urgent=False,
            next_escalation_at=None,
            **leaving_queue(assignment, self.now),
        ):
            return
        owner = assignment.assignee
        if owner is not None and assignment.status == OPEN:
            self.picker.relieve(owner)
        reason = "reclassified as spam or chit-chat: nobody needs to act"
        self.audit(
            "withdrawn",
            mention.id,
            {
                "reason": reason,
                "department": assignment.department,
                "assignee": owner,
                "classified_as": classification.department,
                "classification_id": classification.id,
                "previous_classification_id": assignment.classification_id,
            },
        )
        if self.supersede(assignment, f"superseded: {reason}"):
            self.release(assignment, classification, mention, reason)
        self.run.withdrawn += 1
        self.run.changes.append(
            f"mention {mention.id}: {assignment.department}/{owner or 'queue'} withdrawn"
        )

    def raise_urgency(
        self,
        assignment: storage.AssignmentRow,
        classification: storage.ClassificationRow,
        mention: storage.MentionRow,
        *,
        kept: str | None,
    ) -> None:
        """Now urgent: the urgent SLA from when it was stored (never a later deadline than
        it had), and the owner is paged at once."""
        department = assignment.department
        if assignment.assignee is None:  # queued items that become urgent are moved instead
            return
        due_at = assignment.due_at
        if department in self.engine.calendars:
            urgent_due = self.engine.due_at(department, urgent=True, start=assignment.received_at)
            due_at = min(due_at, urgent_due)
        before = self.org.notifications.due_soon_before
        if not self.claim(
            assignment,
            classification_id=classification.id,
            urgent=True,
            due_at=due_at,
            next_escalation_at=(
                next_step_at(self.engine, department, due_at, assignment.escalation_level)
                if department in self.engine.departments
                else assignment.next_escalation_at
            ),
            # The page gives the new due time: no separate reminder if it is that close.
            reminded_at=self.now if due_at <= self.now + before else None,
        ):
            return
        self.audit(
            "urgency-raised",
            mention.id,
            {
                "department": department,
                "assignee": assignment.assignee,
                "classified_as": classification.department,
                "from_due_at": assignment.due_at.isoformat(),
                "due_at": due_at.isoformat(),
                "kept_owner": kept,
                "classification_id": classification.id,
                "previous_classification_id": assignment.classification_id,
            },
        )
        self.supersede(assignment, "superseded: the mention is urgent now")
        self.announce(
            assignment.id,
            mention,
            key=f"urgent:{assignment.id}:{classification.id}",
            event="urgent",
            recipient=assignment.assignee,
            department=department,
            urgent=True,
            due_at=due_at,
            quiet=False,
        )
        self.run.raised += 1
        self.run.changes.append(
            f"mention {mention.id}: {department}/{assignment.assignee} now urgent"
        )

    def relabel(
        self,
        assignment: storage.AssignmentRow,
        classification: storage.ClassificationRow,
        *,
        kept: str | None,
    ) -> None:
        """Owner and deadline stay: only the decision (and a lowered urgency flag) change."""
        urgent = bool(classification.urgent)
        if not self.claim(assignment, classification_id=classification.id, urgent=urgent):
            return
        self.audit(
            "reclassified",
            assignment.mention_id,
            {
                "department": assignment.department,
                "assignee": assignment.assignee,
                "classified_as": classification.department,
                "urgent": urgent,
                "was_urgent": assignment.urgent,
                "kept_owner": kept,
                "due_at": assignment.due_at.isoformat(),
                "classification_id": classification.id,
                "previous_classification_id": assignment.classification_id,
            },
        )
        self.run.relabelled += 1


def follow_reclassified(
    *,
    session: Session,
    org: OrgConfig,
    engine: RotaEngine,
    now: datetime,
    picker: OwnerPicker,
    run: RouteRun,
    limit: int,
) -> None:
    """Open (and withdrawn) items whose mention's current classification is not the one they
    were routed on: moved, withdrawn, reopened, made urgent or relabelled, each audited.

    Each item then carries its current classification, so a second pass changes nothing.
    """
    a, c, m = storage.AssignmentRow, storage.ClassificationRow, storage.MentionRow
    rows = session.execute(
        select(a, c, m)
        .join(c, (c.mention_id == a.mention_id) & c.is_current.is_(True))
        .join(m, m.id == a.mention_id)
        .where(
            a.status.in_((OPEN, QUEUED, WITHDRAWN)),
            a.classification_id.is_(None) | (a.classification_id != c.id),
        )
        .order_by(c.urgent.desc(), a.id)
        .limit(limit)
    ).all()
    follow = _Reclassified(session, org, engine, now, picker, run)
    for assignment, classification, mention in rows:
        follow.handle(assignment, classification, mention)
