"""Messages the sign-off stage sends: a draft to review, a rejection, a failed publication.

Queued into the notifications table in the caller's transaction, once per key, and delivered
with everything else by ``send-notifications``. Quiet hours apply as for assignments: a normal
item's notice waits for the department's business hours, an urgent one goes at once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from socialops import notify, storage

EVENTS = ("review", "rejected", "publish_failed", "published")


def queue(
    *,
    session: Session,
    key: str,
    event: str,
    recipient: str,
    urgent: bool,
    title: str,
    body: str,
    now: datetime,
    mention_id: int | None,
    not_before: datetime | None = None,
) -> bool:
    """Queue one message (once per ``key``); True if it was new."""
    deferred = not_before if not_before is not None and not_before > now else None
    table = storage.NotificationRow.__table__
    stmt = (
        storage.dialect_insert(session, table)
        .values(
            dedupe_key=key[:200],
            event=event,
            recipient=recipient,
            assignment_id=None,
            mention_id=mention_id,
            urgent=urgent,
            title=title,
            body=body,
            status="pending",
            attempts=0,
            created_at=now,
            next_attempt_at=deferred or now,
            deferred_until=deferred,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(table.c.id)
    )
    return session.execute(stmt).first() is not None


def review_text(draft: storage.DraftRow, *, needs: str, name: str) -> tuple[str, str]:
    """Title and body of "please review this draft"."""
    what = "reply" if draft.kind == "reply" else "planned post"
    urgent = "URGENT " if draft.urgent else ""
    title = f"{urgent}[{draft.department}] {what} {draft.id} waits for your approval"
    body = (
        f"{name}, {what} {draft.id} on {draft.channel} needs {needs}.\n\n"
        f"{notify.clip(draft.text)}\n\n"
        f"socialops approvals show {draft.id}\n"
        f"socialops approvals approve {draft.id} --as <you>   (or reject --reason ...)"
    )
    return title, body
