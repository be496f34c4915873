"""Escalation: an item past due and not acted on climbs its department's chain (backup, lead,
duty manager), one step per configured delay, each step recorded, audited and notified."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from socialops import storage
from socialops.rota.schedule import RotaEngine
from socialops.routing.assignments import ESCALATOR, OPEN
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
            values = notification_values(
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
            queue_notification(
                session=session,
                org=org,
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
                queue_notification(
                    session=session,
                    org=org,
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
