"""Notifications: templates per event, delivery through Apprise, retries that never block.

Routing and escalation only *queue* a notification (a row, in the same transaction as the
assignment it announces). Delivery is separate: claim due rows, send each with Apprise (one URL
format for Slack, email, Teams, PagerDuty, ntfy, webhooks), record the outcome. A failed send is
retried later with backoff, by whichever flow delivers next; routing never waits for it.

Apprise URLs carry secrets, so the configuration names the environment variables that hold
them (``notify_env`` per person and department, ``notifications.default_url_env``); URLs are
never logged or stored, and error messages are scrubbed of every part of them.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from socialops import storage
from socialops.rota.models import Event, Template
from socialops.text_safety import neutralise

if TYPE_CHECKING:
    from socialops.config import OrgConfig

log = logging.getLogger("socialops.notify")

DEFAULT_TEMPLATES: dict[str, Template] = {
    "assigned": Template(
        title="[{department_name}] Mention {mention_id} is yours",
        body="{assignee_name}, mention {mention_id} from {author} is yours ({urgency}). "
        "First response due {due_local}.\n\n{text}\n{url}",
    ),
    "urgent": Template(
        title="URGENT [{department_name}] mention {mention_id}: respond by {due_local}",
        body="{assignee_name}, an urgent mention from {author} is yours. First response due "
        "{due_local}.\n\n{text}\n{url}",
    ),
    "due_soon": Template(
        title="Due soon: mention {mention_id} ({department_name})",
        body="{assignee_name}, mention {mention_id} from {author} needs a first response by "
        "{due_local}.\n\n{text}\n{url}",
    ),
    "escalated": Template(
        title="Escalated to you ({step}): mention {mention_id} ({department_name})",
        body="{assignee_name}, mention {mention_id} from {author} was due {due_local} and has "
        "not been acted on: it passes from {previous} to you (escalation step {level}, {step})."
        "\n\n{text}\n{url}",
    ),
    "handover": Template(
        title="Hand-over: {count} open item(s) are now yours",
        body="{assignee_name}, {reason}. Now yours:\n{items}",
    ),
    "reassigned": Template(
        title="[{department_name}] Mention {mention_id} assigned to you",
        body="{assignee_name}, {previous} assigned mention {mention_id} from {author} to you. "
        "First response due {due_local}.\n\n{text}\n{url}",
    ),
    "released": Template(
        title="[{department_name}] Mention {mention_id} is no longer yours",
        body="{assignee_name}, mention {mention_id} from {author} no longer needs you: "
        "{reason}.\n\n{text}\n{url}",
    ),
    "linked": Template(
        title="[{department_name}] {author}: {reason}",
        body="{assignee_name}, {author} {reason}. It is part of the item you already own "
        "(no new assignment; first response due {due_local}).\n\n{text}\n{url}",
    ),
    # Sign-off (socialops.signoff.notices): {what} is "reply" or "planned post".
    "review": Template(
        title="[{department_name}] {what} {draft_id} waits for your approval ({urgency})",
        body="{recipient_name}, {what} {draft_id} on {channel} needs {needs}.\n\n"
        "{draft_text}\n\nsocialops approvals show {draft_id}\n"
        "socialops approvals approve {draft_id} --as <you>   (or reject --reason ...)",
    ),
    "rejected": Template(
        title="[{department_name}] {what} {draft_id} was rejected by {by}",
        body="{recipient_name}, {by} sent {what} {draft_id} back. Reason: {reason}\n\n"
        "{draft_text}\n\nsocialops drafts edit {draft_id} --as {assignee} --text '...'",
    ),
    "publish_failed": Template(
        title="[{department_name}] {what} {draft_id} could not be published",
        body="{recipient_name}, {channel} refused {what} {draft_id}: {error}\n\n"
        "{draft_text}\n\nEdit it to try again: socialops drafts edit {draft_id} --as "
        "{assignee} --text '...'",
    ),
}

RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(minutes=30)
CLAIM_FOR = timedelta(minutes=5)
_TEXT_LIMIT = 500


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def render(org: OrgConfig, event: Event, values: Mapping[str, object]) -> tuple[str, str]:
    """The event's title and body: the organisation's template, else the default one.

    Values (mention text, author, names) are neutralised: a mention's control characters must
    not reach a chat client or the terminal of whoever reads the queue.
    """
    template = org.notifications.templates.get(event) or DEFAULT_TEMPLATES[event]
    fields = _Blank(
        {key: "" if value is None else neutralise(str(value)) for key, value in values.items()}
    )
    return (
        neutralise(template.title.format_map(fields)),
        neutralise(template.body.format_map(fields)),
    )


def local_time(at: datetime, tz: str) -> str:
    """``Mon 30 Nov 13:00 GMT``: a time as the recipient reads it."""
    local = at.astimezone(ZoneInfo(tz))
    return local.strftime("%a %d %b %H:%M %Z")


def clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 1] + "…"


# --------------------------------------------------------------------------------------------
# Targets (secret) and delivery
# --------------------------------------------------------------------------------------------


def target_urls(
    org: OrgConfig, recipient: str, *, urgent: bool, environ: Mapping[str, str] | None = None
) -> list[str]:
    """The Apprise URLs for a recipient (a handle or ``department:<id>``): empty if none set.

    A person's urgent variable first (for urgent items), then theirs, then the organisation's
    default; ``{handle}`` in a URL becomes the recipient's handle. The result is secret.
    """
    env = os.environ if environ is None else environ
    names: list[str | None] = []
    handle = recipient
    if recipient.startswith("department:"):
        wanted = recipient.removeprefix("department:")
        department = next((d for k, d in org.departments.items() if k == wanted), None)
        names.append(department.notify_env if department else None)
    else:
        person = next((p for p in org.people if p.handle == recipient), None)
        if person is not None:
            names += [person.urgent_notify_env if urgent else None, person.notify_env]
    names.append(org.notifications.default_url_env)
    for name in names:
        value = env.get(name, "").strip() if name else ""
        if value:
            urls = [u for u in re.split(r"[\s,]+", value) if u]
            return [u.replace("{handle}", quote(handle, safe="")) for u in urls]
    return []


@dataclass(frozen=True)
class Delivery:
    ok: bool
    error: str | None = None


class Sender(Protocol):
    """Sends one message to some Apprise URLs; never raises."""

    def __call__(self, *, urls: Sequence[str], title: str, body: str, urgent: bool) -> Delivery: ...


_APPRISE_LOCK = threading.Lock()
_APPRISE_READY = False


def _apprise() -> Any:
    """Import Apprise and load its plugins once, without its own deprecation noise."""
    global _APPRISE_READY
    with _APPRISE_LOCK:
        with warnings.catch_warnings():
            # Apprise 2.0's e-mail plugin imports the stdlib's deprecated imghdr module.
            warnings.filterwarnings(
                "ignore", message="'imghdr' is deprecated", category=DeprecationWarning
            )
            import apprise
            from apprise.manager_plugins import NotificationManager

            if not _APPRISE_READY:
                manager: Any = NotificationManager
                manager().load_modules()
                _APPRISE_READY = True
        return apprise


def supports_attachments(url: str) -> bool:
    """Does this Apprise URL's service take file attachments (e-mail, Slack bots, Discord,
    ntfy, JSON/form webhooks...)? False for an invalid URL."""
    plugin = _apprise().Apprise.instantiate(url, suppress_exceptions=True)
    return bool(plugin) and bool(getattr(plugin, "attachment_support", False))


def scrub(message: str, urls: Sequence[str]) -> str:
    """Remove every part of the URLs (tokens, hosts, paths) from a message."""
    for url in urls:
        message = message.replace(url, "***")
        for part in re.split(r"[/:@?&=#,]+", url.split("://", 1)[-1]):
            if len(part) >= 4:
                message = message.replace(part, "***")
    return message


@dataclass(frozen=True)
class AppriseSender:
    """Delivers through Apprise, trying ``attempts`` times before reporting a failure."""

    timeout: float = 10.0
    attempts: int = 2
    pause: float = 0.5

    def __call__(
        self,
        *,
        urls: Sequence[str],
        title: str,
        body: str,
        urgent: bool,
        attach: Sequence[str] = (),
    ) -> Delivery:
        """``attach``: local files sent along to the targets that take attachments (see
        :func:`supports_attachments`); the others get the message alone."""
        apprise = _apprise()
        notifier = apprise.Apprise()
        for url in urls:
            if not notifier.add(url):
                return Delivery(False, "an Apprise URL in the configured variable is not valid")
        kind = apprise.NotifyType.WARNING if urgent else apprise.NotifyType.INFO
        error = "not delivered"
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(self.pause)
            try:
                # TEXT: Apprise escapes it for markdown and HTML targets, so a mention's
                # `[link](...)` or `<a href>` arrives as the characters it is made of.
                result = notifier.notify(
                    body=neutralise(body),
                    title=neutralise(title),
                    notify_type=kind,
                    body_format=apprise.NotifyFormat.TEXT,
                    timeout=self.timeout,
                    attach=list(attach) or None,
                )
            except Exception as exc:  # a plugin bug must not stop the other notifications
                error = f"{type(exc).__name__}: {exc}"
                continue
            if result:
                return Delivery(True)
            messages = [e.message for e in result.logs() if e.level in ("WARNING", "ERROR")]
            error = "; ".join(messages) or f"Apprise: {getattr(result.status, 'name', 'FAILURE')}"
        return Delivery(False, neutralise(scrub(error, urls))[:500])


# --------------------------------------------------------------------------------------------
# Data functions (the caller owns the transaction)
# --------------------------------------------------------------------------------------------


def enqueue(
    *,
    session: Session,
    org: OrgConfig,
    dedupe_key: str,
    event: Event,
    recipient: str,
    urgent: bool,
    values: Mapping[str, object],
    now: datetime,
    assignment_id: int | None = None,
    mention_id: int | None = None,
    not_before: datetime | None = None,
) -> int | None:
    """Queue a notification once per ``dedupe_key``; return its id (None if already queued).

    ``not_before`` (quiet hours) holds it until then: it is marked ``deferred_until``, and
    whoever delivers it first checks it still applies (:func:`skip`).
    """
    deferred = not_before if not_before is not None and not_before > now else None
    title, body = render(org, event, values)
    table = storage.NotificationRow.__table__
    stmt = (
        storage.dialect_insert(session, table)
        .values(
            dedupe_key=dedupe_key[:200],
            event=event,
            recipient=recipient,
            assignment_id=assignment_id,
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
    row = session.execute(stmt).first()
    return int(row[0]) if row else None


UNSENT = ("pending", "failed")


def skip(*, session: Session, notification_id: int, reason: str, now: datetime) -> bool:
    """Cancel an unsent notification that no longer applies (not a failure): audited."""
    n = storage.NotificationRow
    result = session.execute(
        update(n)
        .where(n.id == notification_id, n.status.in_(UNSENT))
        .values(status="skipped", skip_reason=reason[:500], claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    storage.audit(
        session=session,
        actor="socialops:notify",
        action="notification-skipped",
        subject_type="notification",
        subject_id=str(notification_id),
        details={"reason": reason, "at": now.isoformat()},
    )
    return True


def skip_unsent(
    *, session: Session, assignment_id: int, recipient: str, reason: str, now: datetime
) -> list[str]:
    """Cancel what is still waiting to go to ``recipient`` about an assignment (superseded by
    a change); returns the events cancelled."""
    n = storage.NotificationRow
    rows = session.execute(
        select(n.id, n.event).where(
            n.assignment_id == assignment_id, n.recipient == recipient, n.status.in_(UNSENT)
        )
    ).all()
    return [
        str(event)
        for nid, event in rows
        if skip(session=session, notification_id=int(nid), reason=reason, now=now)
    ]


@dataclass(frozen=True)
class Outgoing:
    id: int
    recipient: str
    urgent: bool
    title: str
    body: str
    attempts: int


def claim_due(*, session: Session, now: datetime, limit: int = 200) -> list[Outgoing]:
    """Claim notifications due for a (re)try: pending, failed and due, or a stale claim.

    Every urgent one due is claimed, whatever ``limit``: an urgent page never waits behind a
    cap for the next run. ``limit`` caps the normal ones. Each claim is a conditional UPDATE,
    so two deliverers never send the same row at once.
    """
    n = storage.NotificationRow
    due = or_(
        (n.status.in_(("pending", "failed"))) & (n.next_attempt_at <= now),
        (n.status == "sending") & (n.claimed_until < now),
    )
    urgent = select(n).where(due, n.urgent.is_(True)).order_by(n.id)
    normal = select(n).where(due, n.urgent.is_(False)).order_by(n.id).limit(limit)
    rows = [*session.execute(urgent).scalars().all(), *session.execute(normal).scalars().all()]
    claimed: list[Outgoing] = []
    for row in rows:
        result = session.execute(
            update(n)
            .where(n.id == row.id, n.status == row.status, n.attempts == row.attempts)
            .values(status="sending", claimed_until=now + CLAIM_FOR)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(
                Outgoing(row.id, row.recipient, row.urgent, row.title, row.body, row.attempts)
            )
    return claimed


def record(
    *,
    session: Session,
    org: OrgConfig,
    outgoing: Outgoing,
    delivery: Delivery | None,
    now: datetime,
) -> str:
    """Store a send's outcome and return the new status. ``delivery`` None: nowhere to send."""
    attempts = outgoing.attempts + (0 if delivery is None else 1)
    values: dict[str, object] = {"attempts": attempts, "claimed_until": None}
    if delivery is None:
        values |= {"status": "no_target", "last_error": "no Apprise URL configured"}
    elif delivery.ok:
        values |= {"status": "sent", "sent_at": now, "last_error": None}
    elif attempts >= org.notifications.max_attempts:
        values |= {"status": "gave_up", "last_error": delivery.error}
    else:
        delay = min(RETRY_CAP, RETRY_BASE * 2 ** (attempts - 1))
        values |= {"status": "failed", "last_error": delivery.error, "next_attempt_at": now + delay}
    n = storage.NotificationRow
    session.execute(update(n).where(n.id == outgoing.id).values(**values))
    status = str(values["status"])
    if status in ("gave_up", "no_target"):
        storage.audit(
            session=session,
            actor="socialops:notify",
            action=f"notification-{status.replace('_', '-')}",
            subject_type="notification",
            subject_id=str(outgoing.id),
            details={
                "recipient": outgoing.recipient,
                "attempts": attempts,
                "error": values["last_error"],
            },
        )
    if status != "sent":
        # Nowhere to send is a configuration state (counted in every run's summary); a send
        # that failed or was given up on is worth a warning.
        log.log(
            logging.INFO if status == "no_target" else logging.WARNING,
            "notification %s to %s: %s (%s)",
            outgoing.id,
            outgoing.recipient,
            status,
            values["last_error"],
        )
    return status


class DeliveryRun(BaseModel):
    """What one delivery pass did."""

    sent: int = 0
    failed: int = 0
    gave_up: int = 0
    no_target: int = 0
    skipped: int = 0  # held for quiet hours, then no longer applied (handed over, acted...)
    urgent_sent: int = 0  # of ``sent``, the urgent ones (pages to the person on call)

    def merged(self, other: DeliveryRun) -> DeliveryRun:
        """Two passes' figures together (a routing run and the escalation run after it)."""
        return DeliveryRun(
            **{name: getattr(self, name) + getattr(other, name) for name in type(self).model_fields}
        )

    def count(self, status: str) -> None:
        if status in ("sent", "failed", "gave_up", "no_target", "skipped"):
            setattr(self, status, getattr(self, status) + 1)


def utc(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)
