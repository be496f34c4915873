"""Who gets an item: the person on duty in its department, and when its owner stops being that.

In business hours the least-loaded of those on shift takes it (the longest since their last
item on ties, then rota order), otherwise the on-call primary; with nobody on duty, the
department's backup, its lead, then the duty manager (source ``fallback``). Normal items use
``choose_within``: only people on shift below the open-item cap, else the department's queue
(:mod:`socialops.routing.queue`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialops import storage
from socialops.rota.schedule import Duty, RotaEngine
from socialops.routing.assignments import OPEN

_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


def open_load(*, session: Session) -> dict[str, int]:
    """How many open items each person holds."""
    a = storage.AssignmentRow
    stmt = (
        select(a.assignee, func.count())
        .where(a.status == OPEN, a.assignee.is_not(None))
        .group_by(a.assignee)
    )
    return {handle: int(n) for handle, n in session.execute(stmt).all() if handle is not None}


def _last_assigned(session: Session) -> dict[str, datetime]:
    a = storage.AssignmentRow
    stmt = (
        select(a.assignee, func.max(a.updated_at))
        .where(a.assignee.is_not(None))
        .group_by(a.assignee)
    )
    out: dict[str, datetime] = {}
    for handle, at in session.execute(stmt).all():
        if at is not None and handle is not None:
            out[handle] = at if at.tzinfo else at.replace(tzinfo=UTC)
    return out


class OwnerPicker:
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

    def choose_within(self, department: str, cap: int) -> str | None:
        """The least-loaded person on shift (business hours only) holding fewer than ``cap``
        open items, who takes the item; None when the department is closed, nobody is on
        shift, or everyone on shift is at the cap (then a normal item waits in the queue)."""
        duty = self.duty(department)
        if duty.shift != "business-hours":
            return None
        order = list(duty.on_shift)
        free = [h for h in order if self.load[h] < cap]
        if not free:
            return None
        handle = min(free, key=lambda h: (self.load[h], self.last.get(h, _NEVER), order.index(h)))
        self.take(handle)
        return handle

    def room(self, department: str, cap: int) -> int:
        """How many more items the people on shift in ``department`` can take under ``cap``
        (0 outside business hours)."""
        duty = self.duty(department)
        if duty.shift != "business-hours":
            return 0
        return sum(max(0, cap - self.load[h]) for h in duty.on_shift)

    def take(self, handle: str) -> None:
        """One more open item for ``handle``, given now."""
        self.load[handle] += 1
        self.last[handle] = self.now

    def relieve(self, handle: str) -> None:
        """One open item fewer for ``handle`` (it moved on, or needs nobody now)."""
        self.load[handle] = max(0, self.load[handle] - 1)


def pick_owner(
    *, session: Session, engine: RotaEngine, department: str, now: datetime
) -> tuple[str | None, str]:
    """(person, source) for one item of ``department`` at ``now``: see :class:`OwnerPicker`;
    a pass that picks for many items keeps one picker, so each pick sees the ones before."""
    return OwnerPicker(session, engine, now.astimezone(UTC)).choose(department)


def handover_reason(
    engine: RotaEngine, assignment: storage.AssignmentRow, on_duty: set[str], now: datetime
) -> str | None:
    """Why hand-over moves an open, unescalated item now ("on leave", "shift ended"), or None
    when it stays: its owner is on duty, nobody is, or a person assigned it by hand (unless
    its owner is on leave)."""
    owner = assignment.assignee
    if owner is None:  # queued: nobody to hand over from
        return None
    on_leave = owner in engine.people and not engine.available(owner, now)
    if assignment.source == "manual" and not on_leave:
        return None
    if owner in on_duty or not on_duty:
        return None
    return "on leave" if on_leave else "shift ended"
