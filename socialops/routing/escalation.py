"""Escalation: an item past due and not acted on climbs its department's chain (backup, lead,
duty manager), one step per configured delay, each step recorded, audited and notified.

A queued item (no owner) climbs too, but goes to the department rather than to a person: its
lead in place of a backup, and the department's channel with every step; it stays in the
queue, and whoever takes it from there starts its chain again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Row, func, select, update
from sqlalchemy.orm import Session

from socialops import storage
from socialops.rota.schedule import RotaEngine
from socialops.routing.assignments import ESCALATOR, OPEN, QUEUED
from socialops.routing.notifications import notification_values, queue_notification
from socialops.routing.runs import EscalationRun

if TYPE_CHECKING:
    from socialops.config import OrgConfig


def first_step_at(engine: RotaEngine, department: str, due_at: datetime) -> datetime | None:
    """When an item due at ``due_at`` first escalates (None: the department has no chain)."""
    chain = engine.departments[department].escalation
    return due_at + chain[0].after if chain else None


def next_step_at(
    engine: RotaEngine, department: str, due_at: datetime, level: int
) -> datetime | None:
    """When an item at escalation ``level`` climbs next (None: at the top of the chain)."""
    chain = engine.departments[department].escalation
    return due_at + chain[level].after if level < len(chain) else None


def _escalation_target(
    engine: RotaEngine, department: str, target: str, now: datetime, current: str | None
) -> str | None:
    if target == "backup" and current is None:
        # A queued item has no owner to back up: the department hears of it (its lead; its
        # channel too, see _notify), and the item stays in the queue for whoever takes it.
        candidates = [engine.lead(department, now)]
    elif target == "backup":
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


@dataclass(frozen=True)
class _Step:
    """One step of the chain fired now: to ``to`` (None: nobody to take it) from ``previous``."""

    level: int
    target: str  # backup, lead, duty_manager
    to: str | None
    previous: str | None  # None: the item is queued (no owner)


def escalate(
    *, session: Session, org: OrgConfig, engine: RotaEngine, now: datetime, run: EscalationRun
) -> None:
    """Past due and not acted on: climb the department's chain, one step per delay passed."""
    now = now.astimezone(UTC)
    for assignment, mention in _due_to_escalate(session, now):
        level, owner, fired = _climb(engine, assignment, now)
        if not _claim(session, engine, assignment, level=level, owner=owner, now=now):
            continue  # another pass escalated it first
        chain = _chain_for(session, assignment.id, fired[0].level) if fired else 0
        for step in fired:
            _record(session, assignment, step, chain=chain, now=now)
            if step.to is None:
                run.skipped_steps += 1
                continue
            run.escalated += 1
            run.steps.append(
                f"mention {assignment.mention_id}: {step.previous or 'queue'} -> {step.to} "
                f"({step.target})"
            )
            _notify(session, org, engine, assignment, mention, step, to=step.to, now=now, run=run)


def _due_to_escalate(
    session: Session, now: datetime
) -> Sequence[Row[storage.AssignmentRow, storage.MentionRow]]:
    a, m = storage.AssignmentRow, storage.MentionRow
    return session.execute(
        select(a, m)
        .join(m, m.id == a.mention_id)
        .where(
            a.status.in_((OPEN, QUEUED)),
            a.next_escalation_at.is_not(None),
            a.next_escalation_at <= now,
        )
        .order_by(a.next_escalation_at, a.id)
    ).all()


def _climb(
    engine: RotaEngine, assignment: storage.AssignmentRow, now: datetime
) -> tuple[int, str | None, list[_Step]]:
    """(level reached, owner then, steps fired): every step whose delay has passed. A queued
    item keeps no owner: each step tells someone, and it stays in the queue."""
    department = assignment.department
    chain = engine.departments[department].escalation
    level, current = assignment.escalation_level, assignment.assignee
    queued = assignment.status == QUEUED
    fired: list[_Step] = []
    told: str | None = None
    while level < len(chain) and assignment.due_at + chain[level].after <= now:
        step = chain[level]
        to = _escalation_target(engine, department, step.to, now, told if queued else current)
        level += 1
        fired.append(_Step(level=level, target=step.to, to=to, previous=current))
        if to is not None and not queued:
            current = to
        told = to or told
    return level, current, fired


def _claim(
    session: Session,
    engine: RotaEngine,
    assignment: storage.AssignmentRow,
    *,
    level: int,
    owner: str | None,
    now: datetime,
) -> bool:
    """Move the item up to ``level`` and ``owner``, unless another pass already moved it."""
    a = storage.AssignmentRow
    claimed = session.execute(
        update(a)
        .where(
            a.id == assignment.id,
            a.escalation_level == assignment.escalation_level,
            a.status == assignment.status,
        )
        .values(
            assignee=owner,
            escalation_level=level,
            next_escalation_at=next_step_at(
                engine, assignment.department, assignment.due_at, level
            ),
            source="escalation" if owner != assignment.assignee else assignment.source,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]


def _record(
    session: Session, assignment: storage.AssignmentRow, step: _Step, *, chain: int, now: datetime
) -> None:
    """The step's row in the chain, and its audit entry."""
    session.add(
        storage.EscalationStepRow(
            assignment_id=assignment.id,
            chain=chain,
            level=step.level,
            target=step.target,
            from_person=step.previous,
            to_person=step.to,
            due_at=assignment.due_at,
            fired_at=now,
            note="" if step.to else f"nobody to hand it to as {step.target}",
        )
    )
    storage.audit(
        session=session,
        actor=ESCALATOR,
        action="escalated" if step.to else "escalation-skipped",
        subject_type="mention",
        subject_id=str(assignment.mention_id),
        details={
            "level": step.level,
            "step": step.target,
            "from": step.previous,
            "to": step.to,
            "due_at": assignment.due_at.isoformat(),
            "at": now.isoformat(),
        },
    )


def _notify(
    session: Session,
    org: OrgConfig,
    engine: RotaEngine,
    assignment: storage.AssignmentRow,
    mention: storage.MentionRow,
    step: _Step,
    *,
    to: str,
    now: datetime,
    run: EscalationRun,
) -> None:
    """Tell ``to``, whom the step gave the item, at once; and the department's channel too
    when it has one."""
    department = assignment.department
    values = notification_values(
        engine,
        recipient=to,
        department=department,
        mention=mention,
        due_at=assignment.due_at,
        urgent=assignment.urgent,
        previous=step.previous
        or f"the {engine.departments[department].name} queue, where nobody has taken it yet",
        level=step.level,
        step=step.target.replace("_", " "),
    )
    key = f"escalated:{assignment.id}:{step.level}"
    recipients = [(to, key)]
    if engine.departments[department].notify_env:
        recipients.append((f"department:{department}", f"{key}:department"))
    for recipient, dedupe_key in recipients:
        queue_notification(
            session=session,
            org=org,
            key=dedupe_key,
            event="escalated",
            recipient=recipient,
            urgent=True,
            values=values,
            now=now,
            assignment_id=assignment.id,
            mention_id=mention.id,
            into=run.notifications,
        )
