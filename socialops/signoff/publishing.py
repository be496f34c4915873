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
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from socialops import storage
from socialops.config import OrgConfig
from socialops.signoff import notices
from socialops.signoff.approvals import APPROVED, FAILED, PUBLISHED, PUBLISHING, audit_draft
from socialops.text_safety import neutralise

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
    lang: str | None = None
    """The language the text is written in (the draft's), for platforms that label posts."""


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
        self,
        *,
        text: str,
        in_reply_to: str | None,
        idempotency_key: str,
        visibility: str,
        lang: str | None = None,
    ) -> Posted:
        """Publish ``text`` (a reply to the platform id ``in_reply_to``, or a new post),
        labelled with its language ``lang`` where the platform has such a label."""
        ...

    def own_posts(self, *, since: datetime) -> Iterable[OwnStatus]:
        """The account's own posts, newest first, back to ``since`` (less some slack)."""
        ...


OUTCOMES = ("published", "reconciled", "failed", "retry", "lost")
"""What became of one claimed item: posted; found on the platform after an unknown outcome
(not posted again); refused by the platform (or no publishing there); given back to try again
later; or the claim lost to another publisher (which finishes it)."""


@dataclass(frozen=True)
class Note:
    """Why an item failed or waits: for the run's log and artifact (errors are redacted)."""

    draft_id: int
    platform: str
    channel: str
    department: str
    outcome: str
    error: str


@dataclass
class PublishRun:
    """What one publishing run did, in total and per platform, channel and department."""

    published: int = 0
    reconciled: int = 0  # found on the platform after an unknown outcome: not posted again
    failed: int = 0
    retried_later: int = 0
    lost_claims: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    by_place: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    """``(platform, channel, department, outcome)`` -> items."""
    notes: list[Note] = field(default_factory=list)

    def count(self, outcome: str, error: str | None = None, item: Claimed | None = None) -> None:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        self.outcomes[outcome] += 1
        if outcome == "published":
            self.published += 1
        elif outcome == "reconciled":
            self.published += 1
            self.reconciled += 1
        elif outcome == "failed":
            self.failed += 1
        elif outcome == "retry":
            self.retried_later += 1
        elif outcome == "lost":
            self.lost_claims += 1
        if error:
            self.errors.append(error)
        if item is not None:
            self.by_place[(item.platform, item.channel, item.department, outcome)] += 1
            if error and outcome in ("failed", "retry"):
                self.notes.append(
                    Note(item.id, item.platform, item.channel, item.department, outcome, error)
                )

    @property
    def did_something(self) -> bool:
        """Whether anything was posted, refused or put off (a quiet run leaves no artifact)."""
        return bool(self.published or self.failed or self.retried_later)

    def per_platform(self) -> dict[str, Counter[str]]:
        """Outcomes per platform, e.g. ``{"x": Counter({"published": 3, "retry": 1})}``."""
        out: dict[str, Counter[str]] = {}
        for (platform, _channel, _department, outcome), n in sorted(self.by_place.items()):
            out.setdefault(platform, Counter())[outcome] += n
        return out

    def log_line(self) -> str:
        """One line with the totals and each platform's figures."""
        line = (
            f"published {self.published} ({self.reconciled} found on the platform after an "
            f"unknown outcome), {self.failed} failed, {self.retried_later} to retry later"
        )
        parts = []
        for platform, counts in self.per_platform().items():
            done = counts["published"] + counts["reconciled"]
            figures = [f"{done} published"]
            if counts["reconciled"]:
                figures[0] += f" ({counts['reconciled']} found)"
            if counts["failed"]:
                figures.append(f"{counts['failed']} failed")
            if counts["retry"]:
                figures.append(f"{counts['retry']} to retry")
            parts.append(f"{platform}: {', '.join(figures)}")
        return line + (f"; {'; '.join(parts)}" if parts else "")

    def markdown(self, *, note_limit: int = 50) -> str:
        """The run for a person in the Prefect UI: totals, a row per platform, channel and
        department, then every failure and postponement with the platform's reason."""
        lines = [
            "# Replies and planned posts published",
            "",
            f"{self.published} published ({self.reconciled} of them found on the platform after "
            f"an unknown outcome, so not posted again), {self.failed} failed, "
            f"{self.retried_later} to retry later.",
        ]
        rows: dict[tuple[str, str, str], Counter[str]] = {}
        for (platform, channel, department, outcome), n in self.by_place.items():
            rows.setdefault((platform, channel, department), Counter())[outcome] += n
        if rows:
            lines += [
                "",
                "## Per channel and department",
                "",
                "| platform | channel | department | published | found after an unknown "
                "outcome | failed | to retry later |",
                "|---|---|---|---:|---:|---:|---:|",
            ]
            for (platform, channel, department), c in sorted(rows.items()):
                lines.append(
                    f"| {_cell(platform)} | {_cell(channel)} | {_cell(department)} | "
                    f"{c['published'] + c['reconciled']} | {c['reconciled']} | {c['failed']} | "
                    f"{c['retry']} |"
                )
        for outcome, title in (("failed", "Failed"), ("retry", "To retry later")):
            notes = [n for n in self.notes if n.outcome == outcome]
            if not notes:
                continue
            lines += ["", f"## {title} ({len(notes)})", ""]
            lines += [
                f"- draft {n.draft_id} on {_cell(n.channel)} ({_cell(n.department)}): "
                f"{_cell(n.error)}"
                for n in notes[:note_limit]
            ]
            if len(notes) > note_limit:
                lines.append(f"- … and {len(notes) - note_limit} more")
        return "\n".join([*lines, ""])


def _cell(text: str) -> str:
    """One line of a markdown table or list: no pipes, no control characters."""
    return neutralise(text).replace("|", "\\|").replace("\n", " ").replace("\t", " ")


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
                lang=row.lang,
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


def record_failed(
    *, session: Session, org: OrgConfig, item: Claimed, error: str, now: datetime
) -> bool:
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
    notices.publish_failed(session=session, org=org, draft=draft, error=error, now=now)
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
    "OUTCOMES",
    "PUBLISHED",
    "Claimed",
    "OwnStatus",
    "Posted",
    "PublishRun",
    "Publisher",
    "claim_due",
    "find_existing",
    "find_words",
    "mark_post_started",
    "record_failed",
    "record_published",
    "release",
]
