"""Publishing approved items exactly once: claim, record the attempt, post, record the outcome.

The steps, each committed before the next (the publisher in ``tasks/publish.py`` runs them):

1. :func:`claim_due` moves an approved, due item to ``publishing`` with an atomic
   ``UPDATE ... WHERE status = 'approved'`` (or an expired claim): two publishers never hold
   one item. The claim has a lease; a publisher that died leaves it to expire.
2. Before any POST, an item that was ever sent (``post_started_at`` set) is first looked for
   among the account's own recent statuses (:func:`find_existing`): servers that ignore
   ``Idempotency-Key`` would otherwise post it twice.
3. :func:`mark_post_started` records the attempt; then the POST, with the item's key.
4. :func:`record_published`, :func:`record_failed` (the platform refused: the assignee is
   told) or :func:`release` (retry later; rate limits and unknown outcomes).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from socialops import storage
from socialops.signoff import notices
from socialops.signoff.approvals import APPROVED, FAILED, PUBLISHED, PUBLISHING, audit_draft

PUBLISHER = "socialops:publish"
LEASE = timedelta(minutes=2)
RECONCILE_SLACK = timedelta(minutes=2)
"""How far before the first attempt a found status may be dated (clock differences)."""


@dataclass(frozen=True)
class Claimed:
    """An item a publisher holds: everything the POST needs."""

    id: int
    kind: str
    channel: str
    platform: str
    text: str
    in_reply_to_id: str | None
    visibility: str
    idempotency_key: str
    claim_token: str
    post_started_at: datetime | None
    mention_id: int | None
    assignee: str | None
    department: str
    urgent: bool


@dataclass(frozen=True)
class OwnStatus:
    """One of the account's own statuses, as reconciliation needs it."""

    id: str
    url: str | None
    in_reply_to_id: str | None
    text: str
    created_at: datetime | None


@dataclass(frozen=True)
class Posted:
    """What the platform answered to a post: its id there and a link a person can open."""

    id: str
    url: str | None


class Publisher(Protocol):
    """One channel's account as the publisher needs it; each platform's connector has one.

    ``post`` raises the connector errors: ``OutcomeUnknown`` (the request may have been
    written: look among ``own_posts`` before trying again), ``RateLimited`` / ``Retryable``
    (retry later), ``Rejected`` (the platform refused: do not retry).
    """

    def post(
        self, *, text: str, in_reply_to: str | None, idempotency_key: str, visibility: str
    ) -> Posted:
        """Publish ``text`` (a reply to the platform id ``in_reply_to``, or a new post)."""
        ...

    def own_posts(self, *, since: datetime) -> Iterable[OwnStatus]:
        """The account's own posts, newest first, back to ``since`` (less some slack)."""
        ...


def _due(now: datetime) -> object:
    d = storage.DraftRow
    return or_(
        and_(
            d.status == APPROVED,
            or_(d.scheduled_at.is_(None), d.scheduled_at <= now),
            or_(d.next_attempt_at.is_(None), d.next_attempt_at <= now),
        ),
        and_(d.status == PUBLISHING, d.claimed_until < now),
    )


def claim_due(
    *, session: Session, now: datetime, limit: int = 100, lease: timedelta = LEASE
) -> list[Claimed]:
    """Claim approved, due items (and those whose publisher's lease ran out), urgent first."""
    now = now.astimezone(UTC)
    d = storage.DraftRow
    ids = list(
        session.execute(
            select(d.id).where(_due(now)).order_by(d.urgent.desc(), d.id).limit(limit)  # type: ignore[arg-type]
        ).scalars()
    )
    claimed: list[Claimed] = []
    for draft_id in ids:
        token = uuid.uuid4().hex
        row = session.execute(
            update(d)
            .where(d.id == draft_id, _due(now))  # type: ignore[arg-type]
            .values(
                status=PUBLISHING,
                claim_token=token,
                claimed_until=now + lease,
                attempts=d.attempts + 1,
                updated_at=now,
            )
            .returning(d)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        if row is None:
            continue  # another publisher was faster
        claimed.append(
            Claimed(
                id=row.id,
                kind=row.kind,
                channel=row.channel,
                platform=row.platform,
                text=row.text,
                in_reply_to_id=row.in_reply_to_id,
                visibility=row.visibility,
                idempotency_key=row.idempotency_key,
                claim_token=token,
                post_started_at=row.post_started_at,
                mention_id=row.mention_id,
                assignee=row.assignee,
                department=row.department,
                urgent=row.urgent,
            )
        )
    return claimed


def _held(item: Claimed) -> object:
    d = storage.DraftRow
    return and_(d.id == item.id, d.claim_token == item.claim_token, d.status == PUBLISHING)


def mark_post_started(*, session: Session, item: Claimed, now: datetime) -> bool:
    """Record, before the POST, that it may reach the platform; False if the claim is lost."""
    d = storage.DraftRow
    result = session.execute(
        update(d)
        .where(_held(item))  # type: ignore[arg-type]
        .values(post_started_at=item.post_started_at or now.astimezone(UTC), updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def record_published(
    *,
    session: Session,
    item: Claimed,
    status_id: str,
    url: str | None,
    now: datetime,
    found: bool = False,
) -> bool:
    """The item is on the platform: published, and its assignment acted on."""
    from socialops.routing import mark_acted

    now = now.astimezone(UTC)
    d = storage.DraftRow
    result = session.execute(
        update(d)
        .where(_held(item))  # type: ignore[arg-type]
        .values(
            status=PUBLISHED,
            external_id=status_id,
            external_url=url,
            published_at=now,
            claim_token=None,
            claimed_until=None,
            last_error=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    draft = session.get(d, item.id)
    assert draft is not None
    session.refresh(draft)
    audit_draft(
        session,
        draft,
        actor=PUBLISHER,
        action="publish",
        external_id=status_id,
        url=url,
        found_by_reconciling=found,
        text=item.text,
    )
    if item.mention_id is not None:
        mark_acted(session=session, mention_id=item.mention_id, actor=PUBLISHER, now=now)
    return True


def release(
    *, session: Session, item: Claimed, error: str, retry_at: datetime, now: datetime
) -> bool:
    """Give the item back for a later attempt (it stays approved)."""
    d = storage.DraftRow
    result = session.execute(
        update(d)
        .where(_held(item))  # type: ignore[arg-type]
        .values(
            status=APPROVED,
            claim_token=None,
            claimed_until=None,
            next_attempt_at=retry_at.astimezone(UTC),
            last_error=error[:2000],
            updated_at=now.astimezone(UTC),
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def record_failed(*, session: Session, item: Claimed, error: str, now: datetime) -> bool:
    """The platform refused the item: failed, with its message; the assignee is told."""
    now = now.astimezone(UTC)
    d = storage.DraftRow
    result = session.execute(
        update(d)
        .where(_held(item))  # type: ignore[arg-type]
        .values(
            status=FAILED,
            claim_token=None,
            claimed_until=None,
            last_error=error[:2000],
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    draft = session.get(d, item.id)
    assert draft is not None
    session.refresh(draft)
    audit_draft(session, draft, actor=PUBLISHER, action="publish_failed", error=error[:2000])
    if item.assignee:
        notices.queue(
            session=session,
            key=f"publish_failed:{item.id}:{item.idempotency_key}",
            event="publish_failed",
            recipient=item.assignee,
            urgent=True,
            title=f"[{item.department}] draft {item.id} could not be published",
            body=f"The platform refused it: {error}\n\n{item.text}\n\n"
            f"Edit it to try again: socialops drafts edit {item.id} --as {item.assignee} "
            "--text '...'",
            now=now,
            mention_id=item.mention_id,
        )
    return True


_WORDS = re.compile(r"\w+")
_LINKS_AND_MENTIONS = re.compile(r"https?://\S+|\S+\.\S+/\S*|@\S+")


def find_words(text: str) -> str:
    """The words of a text without links and mentions (servers render both differently):
    what two texts must share to be the same post."""
    return " ".join(_WORDS.findall(_LINKS_AND_MENTIONS.sub(" ", text).casefold()))


def find_existing(
    item: Claimed, statuses: Iterable[OwnStatus], *, since: datetime
) -> OwnStatus | None:
    """The item among the account's own statuses, dated no earlier than its first attempt
    (less some slack): a reply to the same status (the account answers a mention once), or a
    post with the same words (links and mentions aside)."""
    want = find_words(item.text)
    earliest = since - RECONCILE_SLACK
    for status in statuses:
        if status.created_at is not None and status.created_at < earliest:
            continue
        if status.in_reply_to_id != item.in_reply_to_id:
            continue
        if item.in_reply_to_id is not None or find_words(status.text) == want:
            return status
    return None


def is_claim_current(session: Session, item: Claimed) -> bool:
    d = storage.DraftRow
    return session.execute(select(d.id).where(_held(item))).first() is not None  # type: ignore[arg-type]


__all__ = [
    "LEASE",
    "PUBLISHED",
    "Claimed",
    "OwnStatus",
    "Posted",
    "Publisher",
    "claim_due",
    "find_existing",
    "find_words",
    "mark_post_started",
    "record_failed",
    "record_published",
    "release",
]
