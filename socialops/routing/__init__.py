"""Routing: every classified mention gets an owner, a due time and a notification.

- ``route_classified``: mentions with a current classification and no assignment yet (urgent
  first; ``none``, spam and chit-chat, only when urgent) go to their department (``triage``
  and anything unknown to the community desk), to the person on duty at
  that instant: in business hours the least-loaded of those on shift (round-robin on ties),
  otherwise the on-call primary. The due time comes from the department's SLA, counted from
  when the mention was stored (business hours for normal items, around the clock for urgent).
  The same pass follows reclassifications: an open item whose mention was classified again
  moves to its new department, is withdrawn (now spam or chit-chat), or becomes urgent.
- Quiet hours: a normal item assigned while its department is closed is announced when the
  department next opens (``quiet_out_of_hours``), and then only if it still applies
  (``skip_stale_deferred``); urgent items are announced at once.
- ``hand_over``: an open item whose owner's shift has ended (or who is on leave) moves to
  whoever is on duty now.
- ``escalate``: past due and not acted on, an item climbs the department's chain (backup,
  lead, duty manager), one step per configured delay.
- ``remind_due_soon``: the owner hears once before the due time.

Every change is audited and queues a notification in the same transaction (delivery is
separate, see :mod:`socialops.notify`). Data functions take the session, keyword-only, and
never commit. Assignments are one row per mention, so routing twice assigns once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field
from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from socialops import notify, storage
from socialops.rota.models import Event
from socialops.rota.schedule import Duty, RotaEngine

if TYPE_CHECKING:
    from socialops.config import OrgConfig

ROUTER = "socialops:route"
ESCALATOR = "socialops:escalate"
MANUAL_GRACE = timedelta(minutes=30)
NO_ACTION = "none"  # the classifier's department for spam and chit-chat
OPEN, ACTED, WITHDRAWN = "open", "acted", "withdrawn"  # an assignment's status
ANNOUNCEMENTS = ("assigned", "urgent", "reassigned", "handover")  # "this is yours" events
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


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


def _view(row: storage.AssignmentRow) -> AssignmentView:
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
    return {row.mention_id: _view(row) for row in rows}


class RouteRun(BaseModel):
    """What one routing pass did."""

    at: datetime
    routed: int = 0  # newly routed (the figures down to by_assignee count these)
    urgent: int = 0
    unassigned: int = 0  # nobody on duty, no fallback: left for the next run
    by_department: dict[str, int] = Field(default_factory=dict)
    by_assignee: dict[str, int] = Field(default_factory=dict)
    notifications: list[int] = Field(default_factory=list)
    deferred: int = 0  # notifications held until the department's business hours
    # Open items whose mention was classified again since they were routed:
    rerouted: int = 0  # to another department, and its person on duty
    withdrawn: int = 0  # now spam or chit-chat: nobody needs to act
    reopened: int = 0  # withdrawn before, now needing someone again
    raised: int = 0  # same department, now urgent: deadline tightened, owner paged
    relabelled: int = 0  # owner and deadline kept (assigned by hand, urgency lowered, ...)
    changes: list[str] = Field(default_factory=list)  # "mention 12: legal/ann -> triage/eve"


class EscalationRun(BaseModel):
    """What one escalation pass (hand-over, escalation, reminders) did."""

    at: datetime
    handed_over: int = 0
    escalated: int = 0
    skipped_steps: int = 0
    reminded: int = 0
    deferred: int = 0  # notifications held until the department's business hours
    steps: list[str] = Field(default_factory=list)  # "mention 12: ann -> bob (backup)"
    notifications: list[int] = Field(default_factory=list)


class RoutingCycle(BaseModel):
    """The result of a routing or escalation flow run: what changed, what was delivered."""

    route: RouteRun | None = None
    escalation: EscalationRun | None = None
    delivery: notify.DeliveryRun = Field(default_factory=notify.DeliveryRun)

    @staticmethod
    def combine(
        at: datetime,
        hand_over: EscalationRun,
        escalated: EscalationRun,
        reminded: EscalationRun,
        delivery: notify.DeliveryRun,
    ) -> RoutingCycle:
        merged = EscalationRun(
            at=at,
            handed_over=hand_over.handed_over,
            escalated=escalated.escalated,
            skipped_steps=escalated.skipped_steps,
            reminded=reminded.reminded,
            deferred=hand_over.deferred + reminded.deferred,
            steps=escalated.steps,
            notifications=hand_over.notifications
            + escalated.notifications
            + reminded.notifications,
        )
        return RoutingCycle(escalation=merged, delivery=delivery)


# --------------------------------------------------------------------------------------------
# Choosing a person
# --------------------------------------------------------------------------------------------


def open_load(*, session: Session) -> dict[str, int]:
    a = storage.AssignmentRow
    stmt = select(a.assignee, func.count()).where(a.status == OPEN).group_by(a.assignee)
    return {handle: int(count) for handle, count in session.execute(stmt).all()}


def _last_assigned(session: Session) -> dict[str, datetime]:
    a = storage.AssignmentRow
    stmt = select(a.assignee, func.max(a.updated_at)).group_by(a.assignee)
    out: dict[str, datetime] = {}
    for handle, at in session.execute(stmt).all():
        if at is not None:
            out[handle] = at if at.tzinfo else at.replace(tzinfo=UTC)
    return out


class _Picker:
    """Chooses the person on duty, keeping the open load current within one pass."""

    def __init__(self, session: Session, engine: RotaEngine, now: datetime) -> None:
        self.engine = engine
        self.now = now
        self.load = defaultdict(int, open_load(session=session))
        self.last = _last_assigned(session)
        self._duty: dict[str, Duty] = {}

    def duty(self, department: str) -> Duty:
        if department not in self._duty:
            self._duty[department] = self.engine.on_duty(department, self.now)
        return self._duty[department]

    def on_duty(self, department: str) -> set[str]:
        return set(self.duty(department).on_shift)

    def choose(self, department: str) -> tuple[str | None, str]:
        """(person, source): the rota's choice, or a fallback when nobody is on duty."""
        duty = self.duty(department)
        if duty.shift == "business-hours" and len(duty.on_shift) > 1:
            order = list(duty.on_shift)
            handle: str | None = min(
                order,
                key=lambda h: (self.load[h], self.last.get(h, _NEVER), order.index(h)),
            )
            source = "rota"
        elif duty.primary is not None:
            handle, source = duty.primary, "rota"
        else:
            manager = self.engine.duty_manager(self.now)
            candidates = [
                duty.backup,
                self.engine.lead(department, self.now),
                manager.primary if manager else None,
            ]
            handle, source = next((c for c in candidates if c), None), "fallback"
        if handle is not None:
            self.take(handle)
        return handle, source

    def take(self, handle: str, *, from_handle: str | None = None) -> None:
        self.load[handle] += 1
        self.last[handle] = self.now
        if from_handle is not None:
            self.load[from_handle] = max(0, self.load[from_handle] - 1)


# --------------------------------------------------------------------------------------------
# Notification values
# --------------------------------------------------------------------------------------------


def _values(
    org: OrgConfig,
    engine: RotaEngine,
    *,
    recipient: str,
    department: str,
    mention: storage.MentionRow,
    due_at: datetime,
    urgent: bool,
    **extra: object,
) -> dict[str, object]:
    person = engine.people.get(recipient)
    calendar = engine.calendars.get(department)
    tz = person.timezone if person else str(calendar.tz) if calendar else "UTC"
    known = engine.departments.get(department)
    return {
        "mention_id": mention.id,
        "department": department,
        "department_name": known.name if known else department,
        "assignee": recipient,
        "assignee_name": person.name if person else recipient,
        "due_at": due_at.isoformat(),
        "due_local": notify.local_time(due_at, tz),
        "urgency": "urgent" if urgent else "normal",
        "author": mention.author_handle,
        "url": mention.url or "",
        "text": notify.clip(mention.text),
        **extra,
    }


def _queue(
    session: Session,
    org: OrgConfig,
    *,
    key: str,
    event: Event,
    recipient: str,
    urgent: bool,
    values: dict[str, object],
    now: datetime,
    assignment_id: int | None,
    mention_id: int | None,
    into: list[int],
    not_before: datetime | None = None,
) -> bool:
    """Queue a notification; True if it was new."""
    nid = notify.enqueue(
        session=session,
        org=org,
        dedupe_key=key,
        event=event,
        recipient=recipient,
        urgent=urgent,
        values=values,
        now=now,
        assignment_id=assignment_id,
        mention_id=mention_id,
        not_before=not_before,
    )
    if nid is not None:
        into.append(nid)
    return nid is not None


def _queue_about(
    session: Session,
    org: OrgConfig,
    engine: RotaEngine,
    *,
    key: str,
    event: Event,
    recipient: str,
    department: str,
    mention: storage.MentionRow,
    due_at: datetime,
    urgent: bool,
    now: datetime,
    assignment_id: int,
    into: list[int],
    not_before: datetime | None = None,
    **extra: object,
) -> bool:
    """Queue a notification about one item to one person; True if it was new."""
    return _queue(
        session,
        org,
        key=key,
        event=event,
        recipient=recipient,
        urgent=urgent,
        values=_values(
            org,
            engine,
            recipient=recipient,
            department=department,
            mention=mention,
            due_at=due_at,
            urgent=urgent,
            **extra,
        ),
        now=now,
        assignment_id=assignment_id,
        mention_id=mention.id,
        into=into,
        not_before=not_before,
    )


def _department_of(org: OrgConfig, classified: str) -> str:
    """The department that owns a classification ("triage" for anything unknown)."""
    return classified if classified in org.departments else "triage"


def _first_step_at(engine: RotaEngine, department: str, due_at: datetime) -> datetime | None:
    chain = engine.departments[department].escalation
    return due_at + chain[0].after if chain else None


def _next_step_at(
    engine: RotaEngine, department: str, due_at: datetime, level: int
) -> datetime | None:
    chain = engine.departments[department].escalation
    return due_at + chain[level].after if level < len(chain) else None


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


# --------------------------------------------------------------------------------------------
# Routing
# --------------------------------------------------------------------------------------------


def route_classified(
    *, session: Session, org: OrgConfig, engine: RotaEngine, now: datetime, limit: int = 500
) -> RouteRun:
    """Assign every classified, unassigned mention (urgent first) and queue its notification;
    then follow reclassifications of the items already routed (:func:`_follow_reclassified`)."""
    now = now.astimezone(UTC)
    run = RouteRun(at=now)
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
    picker = _Picker(session, engine, now)
    for classification, mention in session.execute(stmt).all():
        department = _department_of(org, classification.department)
        if department not in engine.calendars:
            run.unassigned += 1
            continue
        handle, source = picker.choose(department)
        if handle is None:
            run.unassigned += 1
            continue
        urgent = bool(classification.urgent)
        due_at = engine.due_at(department, urgent=urgent, start=mention.fetched_at)
        table = a.__table__
        inserted = session.execute(
            storage.dialect_insert(session, table)
            .values(
                mention_id=mention.id,
                classification_id=classification.id,
                department=department,
                assignee=handle,
                urgent=urgent,
                source=source,
                status=OPEN,
                escalation_level=0,
                received_at=mention.fetched_at,
                assigned_at=now,
                due_at=due_at,
                next_escalation_at=_first_step_at(engine, department, due_at),
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["mention_id"])
            .returning(table.c.id)
        ).first()
        if inserted is None:  # routed meanwhile by another run
            continue
        assignment_id = int(inserted[0])
        duty = picker.duty(department)
        storage.audit(
            session=session,
            actor=ROUTER,
            action="assigned",
            subject_type="mention",
            subject_id=str(mention.id),
            details={
                "assignee": handle,
                "department": department,
                "classified_as": classification.department,
                "urgent": urgent,
                "due_at": due_at.isoformat(),
                "shift": duty.shift,
                "source": source,
                "at": now.isoformat(),
            },
        )
        event: Event = "urgent" if urgent else "assigned"
        not_before = quiet_until(engine, department, urgent=urgent, due_at=due_at, now=now)
        _queue_about(
            session,
            org,
            engine,
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
    _follow_reclassified(
        session=session, org=org, engine=engine, now=now, picker=picker, run=run, limit=limit
    )
    return run


# --------------------------------------------------------------------------------------------
# Following reclassifications
# --------------------------------------------------------------------------------------------


def _needs_someone(classification: storage.ClassificationRow) -> bool:
    return classification.department != NO_ACTION or bool(classification.urgent)


@dataclass
class _Reclassified:
    """One routing pass's handling of items whose mention was classified again."""

    session: Session
    org: OrgConfig
    engine: RotaEngine
    now: datetime
    picker: _Picker
    run: RouteRun

    def handle(
        self,
        assignment: storage.AssignmentRow,
        classification: storage.ClassificationRow,
        mention: storage.MentionRow,
    ) -> None:
        department = _department_of(self.org, classification.department)
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
        _queue_about(
            self.session,
            self.org,
            self.engine,
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
        queued = _queue_about(
            self.session,
            self.org,
            self.engine,
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
        if department not in self.engine.calendars:
            self.run.unassigned += 1
            return
        owner, picker = assignment.assignee, self.picker
        if not reopen:  # the item leaves its owner's open load before anyone is chosen
            picker.load[owner] = max(0, picker.load[owner] - 1)
        handle, source = picker.choose(department)
        if handle is None:
            if not reopen:
                picker.load[owner] += 1
            self.run.unassigned += 1  # nobody to take it: the next pass tries again
            return
        urgent = bool(classification.urgent)
        due_at = self.engine.due_at(department, urgent=urgent, start=assignment.received_at)
        if not self.claim(
            assignment,
            classification_id=classification.id,
            department=department,
            assignee=handle,
            urgent=urgent,
            source=source,
            status=OPEN,
            escalation_level=0,
            assigned_at=self.now,
            due_at=due_at,
            next_escalation_at=_first_step_at(self.engine, department, due_at),
            reminded_at=None,
        ):
            return
        details = {
            "from_department": assignment.department,
            "to_department": department,
            "from": owner,
            "to": handle,
            "classified_as": classification.department,
            "urgent": urgent,
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
                self.release(
                    assignment,
                    classification,
                    mention,
                    f"it was reclassified for {name}, and {handle} has it now",
                )
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
        self.run.changes.append(
            f"mention {mention.id}: {assignment.department}/{owner} -> {department}/{handle}"
            + (" (reopened)" if reopen else "")
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
        ):
            return
        owner = assignment.assignee
        self.picker.load[owner] = max(0, self.picker.load[owner] - 1)
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
        self.run.changes.append(f"mention {mention.id}: {assignment.department}/{owner} withdrawn")

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
                _next_step_at(self.engine, department, due_at, assignment.escalation_level)
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


def _follow_reclassified(
    *,
    session: Session,
    org: OrgConfig,
    engine: RotaEngine,
    now: datetime,
    picker: _Picker,
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
            a.status.in_((OPEN, WITHDRAWN)),
            a.classification_id.is_(None) | (a.classification_id != c.id),
        )
        .order_by(c.urgent.desc(), a.id)
        .limit(limit)
    ).all()
    follow = _Reclassified(session, org, engine, now, picker, run)
    for assignment, classification, mention in rows:
        follow.handle(assignment, classification, mention)


# --------------------------------------------------------------------------------------------
# Hand-over, escalation, reminders
# --------------------------------------------------------------------------------------------


def _handover_reason(
    engine: RotaEngine, assignment: storage.AssignmentRow, on_duty: set[str], now: datetime
) -> str | None:
    """Why hand-over moves an open, unescalated item now ("on leave", "shift ended"), or None
    when it stays: its owner is on duty, nobody is, or a person assigned it by hand (unless
    its owner is on leave)."""
    owner = assignment.assignee
    on_leave = owner in engine.people and not engine.available(owner, now)
    if assignment.source == "manual" and not on_leave:
        return None
    if owner in on_duty or not on_duty:
        return None
    return "on leave" if on_leave else "shift ended"


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
    a, m = storage.AssignmentRow, storage.MentionRow
    rows = session.execute(
        select(a, m)
        .join(m, m.id == a.mention_id)
        .where(a.status == OPEN, a.escalation_level == 0)
        .order_by(a.urgent.desc(), a.due_at, a.id)
    ).all()
    picker = _Picker(session, engine, now)
    moved: dict[str, list[tuple[storage.AssignmentRow, storage.MentionRow, str]]] = defaultdict(
        list
    )
    for assignment, mention in rows:
        if assignment.department not in engine.calendars:
            continue
        owner = assignment.assignee
        reason = _handover_reason(engine, assignment, picker.on_duty(assignment.department), now)
        if reason is None:
            continue
        handle, _source = picker.choose(assignment.department)
        if handle is None or handle == owner:
            continue
        changed = session.execute(
            update(a)
            .where(a.id == assignment.id, a.assignee == owner, a.escalation_level == 0)
            .values(assignee=handle, source="rota", updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        picker.load[owner] = max(0, picker.load[owner] - 1)
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
        moved[handle].append((assignment, mention, owner))
        run.handed_over += 1
    for handle, items in moved.items():
        # Quiet hours: normal items handed over while their department is closed are each
        # announced when it opens (if still this person's); the rest in one notice now.
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
            queued = _queue(
                session,
                org,
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
            continue
        _queue(
            session,
            org,
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
    items: Sequence[tuple[storage.AssignmentRow, storage.MentionRow, str]],
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


def _escalation_target(
    engine: RotaEngine, department: str, target: str, now: datetime, current: str
) -> str | None:
    if target == "backup":
        duty = engine.on_duty(department, now)
        candidates = [duty.backup, duty.primary, *duty.on_shift]
    elif target == "lead":
        candidates = [engine.lead(department, now)]
    else:
        manager = engine.duty_manager(now)
        candidates = [manager.primary, manager.backup] if manager else []
    return next((c for c in candidates if c is not None and c != current), None)


def _chain_for(session: Session, assignment_id: int, first_level: int) -> int:
    """The escalation chain new steps belong to: the latest one, unless it already reached
    this level (the item was re-routed or assigned by hand since, and climbs again)."""
    s = storage.EscalationStepRow
    latest = session.execute(
        select(s.chain, func.max(s.level))
        .where(s.assignment_id == assignment_id)
        .group_by(s.chain)
        .order_by(s.chain.desc())
        .limit(1)
    ).first()
    if latest is None:
        return 0
    chain, top = int(latest[0]), int(latest[1])
    return chain + 1 if first_level <= top else chain


def escalate(
    *, session: Session, org: OrgConfig, engine: RotaEngine, now: datetime, run: EscalationRun
) -> None:
    """Past due and not acted on: climb the department's chain, one step per delay passed."""
    now = now.astimezone(UTC)
    a, m = storage.AssignmentRow, storage.MentionRow
    rows = session.execute(
        select(a, m)
        .join(m, m.id == a.mention_id)
        .where(a.status == OPEN, a.next_escalation_at.is_not(None), a.next_escalation_at <= now)
        .order_by(a.next_escalation_at, a.id)
    ).all()
    for assignment, mention in rows:
        department = assignment.department
        chain = engine.departments[department].escalation
        level, current = assignment.escalation_level, assignment.assignee
        fired: list[tuple[int, str, str | None, str]] = []  # level, target, to, from
        while level < len(chain) and assignment.due_at + chain[level].after <= now:
            step = chain[level]
            to = _escalation_target(engine, department, step.to, now, current)
            level += 1
            fired.append((level, step.to, to, current))
            if to is not None:
                current = to
        next_at = assignment.due_at + chain[level].after if level < len(chain) else None
        claimed = session.execute(
            update(a)
            .where(a.id == assignment.id, a.escalation_level == assignment.escalation_level)
            .values(
                assignee=current,
                escalation_level=level,
                next_escalation_at=next_at,
                source="escalation" if current != assignment.assignee else assignment.source,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue  # another pass escalated it first
        chain_no = _chain_for(session, assignment.id, fired[0][0]) if fired else 0
        for step_level, target, to, previous in fired:
            session.add(
                storage.EscalationStepRow(
                    assignment_id=assignment.id,
                    chain=chain_no,
                    level=step_level,
                    target=target,
                    from_person=previous,
                    to_person=to,
                    due_at=assignment.due_at,
                    fired_at=now,
                    note="" if to else f"nobody to hand it to as {target}",
                )
            )
            storage.audit(
                session=session,
                actor=ESCALATOR,
                action="escalated" if to else "escalation-skipped",
                subject_type="mention",
                subject_id=str(assignment.mention_id),
                details={
                    "level": step_level,
                    "step": target,
                    "from": previous,
                    "to": to,
                    "due_at": assignment.due_at.isoformat(),
                    "at": now.isoformat(),
                },
            )
            if to is None:
                run.skipped_steps += 1
                continue
            run.escalated += 1
            run.steps.append(f"mention {assignment.mention_id}: {previous} -> {to} ({target})")
            values = _values(
                org,
                engine,
                recipient=to,
                department=department,
                mention=mention,
                due_at=assignment.due_at,
                urgent=assignment.urgent,
                previous=previous,
                level=step_level,
                step=target.replace("_", " "),
            )
            _queue(
                session,
                org,
                key=f"escalated:{assignment.id}:{step_level}",
                event="escalated",
                recipient=to,
                urgent=True,
                values=values,
                now=now,
                assignment_id=assignment.id,
                mention_id=mention.id,
                into=run.notifications,
            )
            if engine.departments[department].notify_env:
                _queue(
                    session,
                    org,
                    key=f"escalated:{assignment.id}:{step_level}:department",
                    event="escalated",
                    recipient=f"department:{department}",
                    urgent=True,
                    values=values,
                    now=now,
                    assignment_id=assignment.id,
                    mention_id=mention.id,
                    into=run.notifications,
                )


def remind_due_soon(
    *, session: Session, org: OrgConfig, engine: RotaEngine, now: datetime, run: EscalationRun
) -> None:
    """Tell the owner once, ``notifications.due_soon_before`` ahead of the due time (items
    that were assigned inside that window already said when they are due)."""
    now = now.astimezone(UTC)
    before = org.notifications.due_soon_before
    a, m = storage.AssignmentRow, storage.MentionRow
    rows = session.execute(
        select(a, m)
        .join(m, m.id == a.mention_id)
        .where(
            a.status == OPEN,
            a.reminded_at.is_(None),
            a.due_at > now,
            a.due_at <= now + before,
        )
    ).all()
    for assignment, mention in rows:
        if assignment.assigned_at >= assignment.due_at - before:
            continue  # assigned inside the window: its notification already gave the due time
        claimed = session.execute(
            update(a)
            .where(a.id == assignment.id, a.reminded_at.is_(None))
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        not_before = quiet_until(
            engine,
            assignment.department,
            urgent=assignment.urgent,
            due_at=assignment.due_at,
            now=now,
        )
        _queue_about(
            session,
            org,
            engine,
            key=f"due_soon:{assignment.id}",
            event="due_soon",
            recipient=assignment.assignee,
            department=assignment.department,
            mention=mention,
            due_at=assignment.due_at,
            urgent=assignment.urgent,
            now=now,
            assignment_id=assignment.id,
            into=run.notifications,
            not_before=not_before,
        )
        run.deferred += int(not_before is not None)
        run.reminded += 1


# --------------------------------------------------------------------------------------------
# Quiet hours: held notifications whose time has come
# --------------------------------------------------------------------------------------------


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
        elif assignment.status != OPEN:
            reason = f"{item} was {assignment.status}"
        elif assignment.assignee != recipient:
            reason = f"{item} is now {assignment.assignee}'s"
        elif assignment.escalation_level == 0 and assignment.department in engine.calendars:
            department = assignment.department
            if department not in on_duty:
                on_duty[department] = set(engine.on_duty(department, now).on_shift)
            why = _handover_reason(engine, assignment, on_duty[department], now)
            if why is not None:
                reason = f"{recipient} is off duty ({why}): the hand-over passes {item} on"
        if reason is not None and notify.skip(
            session=session, notification_id=int(nid), reason=reason, now=now
        ):
            skipped += 1
    return skipped


# --------------------------------------------------------------------------------------------
# People acting on items
# --------------------------------------------------------------------------------------------


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
    """Give a mention to a named person (audited, notified). Escalation restarts for them."""
    now = now.astimezone(UTC)
    if handle not in engine.people:
        known = ", ".join(sorted(engine.people)) or "none configured"
        raise RoutingError(f"no person with handle {handle!r} (people: {known})")
    mention = session.get(storage.MentionRow, mention_id)
    if mention is None:
        raise RoutingError(f"no mention with id {mention_id}")
    a = storage.AssignmentRow
    assignment = session.execute(select(a).where(a.mention_id == mention_id)).scalar_one_or_none()
    previous: str | None = None
    if assignment is None:
        c = storage.ClassificationRow
        classification = session.execute(
            select(c).where(c.mention_id == mention_id, c.is_current.is_(True)).limit(1)
        ).scalar_one_or_none()
        department = _department_of(org, classification.department if classification else "")
        urgent = bool(classification.urgent) if classification else False
        due_at = engine.due_at(department, urgent=urgent, start=mention.fetched_at)
        assignment = a(
            mention_id=mention_id,
            classification_id=classification.id if classification else None,
            department=department,
            assignee=handle,
            urgent=urgent,
            source="manual",
            status=OPEN,
            escalation_level=0,
            received_at=mention.fetched_at,
            assigned_at=now,
            due_at=due_at,
            next_escalation_at=_first_step_at(engine, department, max(due_at, now + MANUAL_GRACE)),
            updated_at=now,
        )
        session.add(assignment)
        session.flush()
    else:
        previous = assignment.assignee
        assignment.assignee = handle
        assignment.source = "manual"
        assignment.escalation_level = 0
        if assignment.status == WITHDRAWN:  # a person wants it acted on after all
            assignment.status = OPEN
        if assignment.status == OPEN:
            assignment.next_escalation_at = _first_step_at(
                engine, assignment.department, max(assignment.due_at, now + MANUAL_GRACE)
            )
        assignment.updated_at = now
        session.flush()
    storage.audit(
        session=session,
        actor=actor,
        action="assign",
        subject_type="mention",
        subject_id=str(mention_id),
        details={"from": previous, "to": handle, "department": assignment.department},
    )
    notify_values: dict[str, Any] = _values(
        org,
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
        mention_id=mention_id,
    )
    return _view(assignment)


def mark_acted(*, session: Session, mention_id: int, actor: str, now: datetime) -> bool:
    """Someone acted on the mention (replied, drafted, closed): escalation stops. Audited."""
    a = storage.AssignmentRow
    result = session.execute(
        update(a)
        .where(a.mention_id == mention_id, a.status == OPEN)
        .values(
            status=ACTED,
            acted_at=now.astimezone(UTC),
            acted_by=actor,
            next_escalation_at=None,
            updated_at=now.astimezone(UTC),
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
        details={"at": now.astimezone(UTC).isoformat()},
    )
    return True
