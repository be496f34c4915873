"""Queueing the notifications routing sends: in the caller's transaction, once per key.

Delivery is separate (:mod:`socialops.notify`): queueing only records what to send, to whom,
and from when (``not_before``, for quiet hours).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from socialops import notify, storage
from socialops.rota.models import Event
from socialops.rota.schedule import RotaEngine

if TYPE_CHECKING:
    from socialops.config import OrgConfig

ANNOUNCEMENTS = ("assigned", "urgent", "reassigned", "handover")  # "this is yours" events


def notification_values(
    engine: RotaEngine,
    *,
    recipient: str,
    department: str,
    mention: storage.MentionRow,
    due_at: datetime,
    urgent: bool,
    **extra: object,
) -> dict[str, object]:
    """The template values of a notification about one item to one person (times in the
    recipient's time zone, else the department's)."""
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


def queue_notification(
    *,
    session: Session,
    org: OrgConfig,
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
    """Queue a notification (once per ``key``), appending its id to ``into``; True if it was
    new."""
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


def queue_item_notification(
    *,
    session: Session,
    org: OrgConfig,
    engine: RotaEngine,
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
    """Queue a notification about one item to one person (:func:`notification_values`, plus
    ``extra``); True if it was new."""
    return queue_notification(
        session=session,
        org=org,
        key=key,
        event=event,
        recipient=recipient,
        urgent=urgent,
        values=notification_values(
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
