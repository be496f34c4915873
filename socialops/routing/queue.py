"""Department queues: a normal item that nobody on shift can take now waits, without an owner,
in its department's queue (status ``queued``), instead of piling onto the on-call person.

- :func:`place` says where an item goes now: urgent items to the person on duty (never held
  back); a normal one to the least-loaded person on shift below ``routing.max_open_per_person``,
  else the queue, unless its department is closed and it falls due before it opens (then it
  needs the on-call person now, as an urgent one does).
- :func:`assign_queued`, run by every routing pass, gives queued items (urgent, then oldest
  first) to the people on shift by least load, up to the cap; the rest waits and is pulled as
  people close items. When a department opens, or a person comes on duty, its queue moves.
- :func:`requeue` hands an item back (its owner's shift ended, or they went on leave) when
  nobody on duty can take it. Time in the queue and time to first owner are kept on the row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Row, func, select, update
from sqlalchemy.orm import Session

from socialops import storage
from socialops.rota.models import Event
from socialops.rota.schedule import RotaEngine
from socialops.routing.assignments import OPEN, QUEUED, ROUTER, leaving_queue
from socialops.routing.escalation import first_step_at
from socialops.routing.notifications import queue_item_notification
from socialops.routing.picker import OwnerPicker
from socialops.routing.quiet_hours import quiet_until
from socialops.routing.runs import RouteRun

if TYPE_CHECKING:
    from socialops.config import OrgConfig

QUEUE = "queue"  # an assignment's source while it waits in a queue
# A person who takes an overdue item from the queue gets this long before it escalates.
QUEUE_GRACE = timedelta(minutes=30)


@dataclass(frozen=True)
class Placement:
    """Where an item goes now: a person (``handle``, with the picker's ``source``) or, with
    ``handle`` None, its department's queue."""

    handle: str | None
    source: str  # rota, fallback, queue

    @property
    def queued(self) -> bool:
        return self.handle is None


def can_wait(engine: RotaEngine, department: str, *, due_at: datetime, now: datetime) -> bool:
    """Whether a normal item nobody on shift can take may wait in the queue: yes while the
    department is open (everyone at the cap, or nobody on shift: escalation tells its lead if
    it falls due), and while it is closed if it is not due before it opens."""
    calendar = engine.calendars[department]
    if calendar.period_at(now) is not None:
        return True
    opens = calendar.next_open(now)
    return opens is not None and now < opens <= due_at


def place(
    picker: OwnerPicker, department: str, *, urgent: bool, due_at: datetime, cap: int
) -> Placement | None:
    """Where an item of ``department`` goes now (see the module); None when nobody at all can
    take it (no rota, no fallback): left for the next pass."""
    if not urgent:
        handle = picker.choose_within(department, cap)
        if handle is not None:
            return Placement(handle, "rota")
        if can_wait(picker.engine, department, due_at=due_at, now=picker.now):
            return Placement(None, QUEUE)
    chosen, source = picker.choose(department)
    return None if chosen is None else Placement(chosen, source)


def queue_lengths(*, session: Session) -> dict[str, int]:
    """How many items wait in each department's queue."""
    a = storage.AssignmentRow
    stmt = select(a.department, func.count()).where(a.status == QUEUED).group_by(a.department)
    return {department: int(n) for department, n in session.execute(stmt).all()}


def queued_items(
    *, session: Session, department: str | None = None, limit: int | None = None
) -> Sequence[Row[storage.AssignmentRow, storage.MentionRow]]:
    """Queued items in the order they are given out: urgent first, then oldest first."""
    a, m = storage.AssignmentRow, storage.MentionRow
    stmt = (
        select(a, m)
        .join(m, m.id == a.mention_id)
        .where(a.status == QUEUED)
        .order_by(a.urgent.desc(), a.received_at, a.id)
    )
    if department is not None:
        stmt = stmt.where(a.department == department)
    return session.execute(stmt.limit(limit)).all()


def assign_queued(
    *,
    session: Session,
    org: OrgConfig,
    engine: RotaEngine,
    picker: OwnerPicker,
    now: datetime,
    run: RouteRun,
) -> None:
    """Give each open department's queue, urgent then oldest first, to the people on shift by
    least load, each up to ``routing.max_open_per_person`` open items; audited, announced."""
    cap = org.routing.max_open_per_person
    for department in sorted(queue_lengths(session=session)):
        if department not in engine.calendars:
            continue
        room = picker.room(department, cap)
        if room == 0:
            continue
        for assignment, mention in queued_items(session=session, department=department, limit=room):
            handle = picker.choose_within(department, cap)
            if handle is None:
                break
            if not _take(session, engine, assignment, handle, now=now):
                picker.relieve(handle)  # taken meanwhile by another pass
                continue
            _announce(session, org, engine, picker, assignment, mention, handle, now=now, run=run)


def _take(
    session: Session,
    engine: RotaEngine,
    assignment: storage.AssignmentRow,
    handle: str,
    *,
    now: datetime,
) -> bool:
    """The queued item becomes ``handle``'s (unless another pass took it first); its
    escalation starts again for them, no sooner than ``QUEUE_GRACE`` from now if overdue."""
    a = storage.AssignmentRow
    start = assignment.due_at if assignment.due_at > now else now + QUEUE_GRACE
    taken = session.execute(
        update(a)
        .where(a.id == assignment.id, a.status == QUEUED)
        .values(
            assignee=handle,
            status=OPEN,
            source="rota",
            assigned_at=now,
            first_assigned_at=assignment.first_assigned_at or now,
            escalation_level=0,
            next_escalation_at=first_step_at(engine, assignment.department, start),
            reminded_at=None,
            updated_at=now,
            **leaving_queue(assignment, now),
        )
        .execution_options(synchronize_session=False)
    )
    return bool(taken.rowcount == 1)  # type: ignore[attr-defined]


def _announce(
    session: Session,
    org: OrgConfig,
    engine: RotaEngine,
    picker: OwnerPicker,
    assignment: storage.AssignmentRow,
    mention: storage.MentionRow,
    handle: str,
    *,
    now: datetime,
    run: RouteRun,
) -> None:
    """Audit a queued item's new owner (with how long it waited) and tell them."""
    department = assignment.department
    waited = leaving_queue(assignment, now).get("queued_seconds", 0)
    storage.audit(
        session=session,
        actor=ROUTER,
        action="assigned",
        subject_type="mention",
        subject_id=str(mention.id),
        details={
            "assignee": handle,
            "department": department,
            "urgent": assignment.urgent,
            "due_at": assignment.due_at.isoformat(),
            "shift": picker.duty(department).shift,
            "source": "queue",
            "queued_seconds": waited,
            "at": now.isoformat(),
        },
    )
    event: Event = "urgent" if assignment.urgent else "assigned"
    queue_item_notification(
        session=session,
        org=org,
        engine=engine,
        key=f"assigned:{assignment.id}:{handle}:{now.isoformat()}",
        event=event,
        recipient=handle,
        department=department,
        mention=mention,
        due_at=assignment.due_at,
        urgent=assignment.urgent,
        now=now,
        assignment_id=assignment.id,
        into=run.notifications,
        not_before=quiet_until(
            engine, department, urgent=assignment.urgent, due_at=assignment.due_at, now=now
        ),
    )
    run.from_queue += 1
    run.by_department[department] = run.by_department.get(department, 0) + 1
    run.by_assignee[handle] = run.by_assignee.get(handle, 0) + 1


def requeue(
    *, session: Session, assignment: storage.AssignmentRow, actor: str, reason: str, now: datetime
) -> bool:
    """Hand an open item back to its department's queue (no owner), audited; False if it
    changed meanwhile. Its owner's unsent notices are skipped at delivery."""
    a = storage.AssignmentRow
    done = session.execute(
        update(a)
        .where(a.id == assignment.id, a.assignee == assignment.assignee, a.status == OPEN)
        .values(
            assignee=None,
            status=QUEUED,
            source=QUEUE,
            queued_at=now,
            reminded_at=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        return False
    storage.audit(
        session=session,
        actor=actor,
        action="requeued",
        subject_type="mention",
        subject_id=str(assignment.mention_id),
        details={
            "from": assignment.assignee,
            "reason": reason,
            "department": assignment.department,
            "at": now.astimezone(UTC).isoformat(),
        },
    )
    return True
