"""Reminders: the owner of an open item hears once, ``notifications.due_soon_before`` ahead of
its due time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from socialops import storage
from socialops.rota.schedule import RotaEngine
from socialops.routing.assignments import OPEN
from socialops.routing.notifications import queue_item_notification
from socialops.routing.quiet_hours import quiet_until
from socialops.routing.runs import EscalationRun

if TYPE_CHECKING:
    from socialops.config import OrgConfig


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
        if assignment.assignee is None:
            continue  # open items have an owner; queued ones are not reminded (nobody to tell)
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
        queue_item_notification(
            session=session,
            org=org,
            engine=engine,
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
