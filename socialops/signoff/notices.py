"""Messages the sign-off stage sends: a draft to review, a rejection, a failed publication.

They go through the notification layer like assignment notices: the organisation's templates
(``notifications.templates.review`` / ``rejected`` / ``publish_failed`` in the organisation
file, else :data:`socialops.notify.DEFAULT_TEMPLATES`), queued in the caller's transaction once
per key, and delivered with everything else by ``send-notifications``. Quiet hours apply as for
assignments: a normal item's notice waits for the department's business hours (and is skipped
at delivery if the draft no longer needs its recipient by then), an urgent one goes at once.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialops import notify, storage
from socialops.rota.models import Event
from socialops.rota.schedule import RotaEngine

if TYPE_CHECKING:
    from socialops.config import OrgConfig

EVENTS: tuple[Event, ...] = ("review", "rejected", "publish_failed")
_REVIEW_KEY = re.compile(r"^review:(?P<id>\d+):v(?P<version>\d+):")


def values(
    org: OrgConfig, draft: storage.DraftRow, *, recipient: str, **extra: object
) -> dict[str, object]:
    """The template values of a notice about one draft to one person."""
    person = next((p for p in org.people if p.handle == recipient), None)
    department = org.departments.get(draft.department)  # type: ignore[call-overload]
    return {
        "recipient_name": person.name if person else recipient,
        "assignee_name": person.name if person else recipient,  # as in assignment notices
        "assignee": draft.assignee or "",
        "draft_id": draft.id,
        "what": "reply" if draft.kind == "reply" else "planned post",
        "channel": draft.channel,
        "department": draft.department,
        "department_name": department.name if department is not None else draft.department,
        "urgency": "urgent" if draft.urgent else "normal",
        "mention_id": draft.mention_id or "",
        "draft_text": notify.clip(draft.text),
        **extra,
    }


def queue_notice(
    *,
    session: Session,
    org: OrgConfig,
    key: str,
    event: Event,
    draft: storage.DraftRow,
    recipient: str,
    urgent: bool,
    now: datetime,
    not_before: datetime | None = None,
    **extra: object,
) -> bool:
    """Queue one notice about ``draft`` (once per ``key``), rendered from the organisation's
    template for ``event``; True if it was new."""
    return (
        notify.enqueue(
            session=session,
            org=org,
            dedupe_key=key,
            event=event,
            recipient=recipient,
            urgent=urgent,
            values=values(org, draft, recipient=recipient, **extra),
            now=now,
            mention_id=draft.mention_id,
            not_before=not_before,
        )
        is not None
    )


def publish_failed(
    *, session: Session, org: OrgConfig, draft: storage.DraftRow, error: str, now: datetime
) -> bool:
    """Tell the assignee the platform refused the draft (urgent: a reply is stuck)."""
    if not draft.assignee:
        return False
    return queue_notice(
        session=session,
        org=org,
        key=f"publish_failed:{draft.id}:{draft.idempotency_key}",
        event="publish_failed",
        draft=draft,
        recipient=draft.assignee,
        urgent=True,
        now=now,
        error=error,
    )


def hold_until(engine: RotaEngine, draft: storage.DraftRow, *, now: datetime) -> datetime | None:
    """Quiet hours, exactly as for assignments: None (at once) for urgent items and while the
    department is open, else when it next opens (never past the item's due time)."""
    from socialops.routing import quiet_until

    due = draft.due_at or draft.scheduled_at or now + timedelta(days=1)
    return quiet_until(engine, draft.department, urgent=draft.urgent, due_at=due, now=now)


def skip_stale(*, session: Session, now: datetime) -> int:
    """Before delivery: skip review notices held for quiet hours whose draft no longer waits
    for approvals of that version (approved, rejected, edited, expired meanwhile)."""
    n, d = storage.NotificationRow, storage.DraftRow
    rows = session.execute(
        select(n.id, n.dedupe_key).where(
            n.event == "review",
            n.deferred_until.is_not(None),
            n.status.in_(notify.UNSENT),
            n.next_attempt_at <= now,
        )
    ).all()
    skipped = 0
    for nid, key in rows:
        match = _REVIEW_KEY.match(key)
        if match is None:
            continue
        draft = session.get(d, int(match["id"]))
        version = int(match["version"])
        if draft is not None and draft.status == "pending" and draft.version == version:
            continue
        if draft is None:
            reason = f"draft {match['id']} no longer exists"
        elif draft.version != version:
            reason = f"draft {draft.id} was edited (now version {draft.version})"
        else:
            reason = f"draft {draft.id} is {draft.status}: no approval needed any more"
        skipped += notify.skip(session=session, notification_id=int(nid), reason=reason, now=now)
    return skipped
