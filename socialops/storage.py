"""Tables and the data functions over them (SQLAlchemy 2, SQLite and PostgreSQL).

Data functions take the caller's session, keyword-only, and never commit: the caller owns the
transaction, so rows and the watermark that covers them are committed together or not at all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.types import TypeDecorator

from socialops.mentions import InvalidItem, Mention


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend (SQLite has no tz)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(postgresql.JSONB(), "postgresql")
BigIntId = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER only


class Base(DeclarativeBase):
    pass


class ChannelState(Base):
    """Per-channel paging position. Moves only in the transaction that stored the rows."""

    __tablename__ = "channel_state"

    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    # Everything up to this cursor is stored; forward paging starts here. None: never completed.
    newest_cursor: Mapped[str | None] = mapped_column(String(128))
    # A backward walk (first run or backfill) in progress: where to resume, and where it began.
    backfill_cursor: Mapped[str | None] = mapped_column(String(128))
    backfill_newest: Mapped[str | None] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MentionRow(Base):
    """A stored mention: one row per (platform, external_id), however often it is fetched."""

    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("platform", "external_id", name="uq_mentions_platform_external_id"),
        Index("ix_mentions_created_at", "created_at"),
        Index("ix_mentions_channel_created_at", "channel", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(64))
    url: Mapped[str | None] = mapped_column(Text)
    author_handle: Mapped[str] = mapped_column(String(320))
    author_display_name: Mapped[str | None] = mapped_column(Text)
    author_followers: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime())
    thread_id: Mapped[str | None] = mapped_column(String(128))
    in_reply_to_id: Mapped[str | None] = mapped_column(String(128))
    visibility: Mapped[str | None] = mapped_column(String(16))
    raw: Mapped[dict[str, Any]] = mapped_column(JSONType)


class ClassificationRow(Base):
    """Who must act on a mention, and why. Reclassifying adds a row; the newest is current."""

    __tablename__ = "classifications"
    __table_args__ = (
        Index("ix_classifications_current", "mention_id", "is_current"),
        Index("ix_classifications_department", "department", "is_current"),
        # At most one current decision per mention, even with two classifiers at once.
        Index(
            "uq_classifications_one_current",
            "mention_id",
            unique=True,
            sqlite_where=text("is_current"),
            postgresql_where=text("is_current"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"))
    department: Mapped[str] = mapped_column(String(32))  # a department id, or "triage"
    urgent: Mapped[bool] = mapped_column(Boolean)
    sentiment: Mapped[str] = mapped_column(String(16))  # negative, neutral, positive
    confidence: Mapped[float] = mapped_column(Float)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSONType)
    model_version: Mapped[str] = mapped_column(String(64))
    classified_at: Mapped[datetime] = mapped_column(UTCDateTime())
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)


class QuarantineRow(Base):
    """A payload item that failed parsing or the data-quality suite, kept with the reason."""

    __tablename__ = "quarantine"
    __table_args__ = (Index("ix_quarantine_channel_at", "channel", "quarantined_at"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(64))
    platform: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(16))  # "parse" or "quality"
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[Any] = mapped_column(JSONType)
    quarantined_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditRow(Base):
    """Append-only: database triggers refuse UPDATE and DELETE (see the migration)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_subject", "subject_type", "subject_id"),
        # The weekly report's sign-off section reads the draft steps since a week began.
        Index("ix_audit_log_subject_type_at", "subject_type", "at"),
        # ... and its publishing failures and expiries, by action (migration 0018).
        Index("ix_audit_log_action_at", "action", "at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(128))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType)


def utcnow() -> datetime:
    return datetime.now(UTC)


def dialect_insert(session: Session, table: Any) -> Any:
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"unsupported database dialect {name!r} (use SQLite or PostgreSQL)")


@dataclass(frozen=True)
class StoreResult:
    inserted: int
    duplicates: int
    quarantined: int


def store_mentions(*, session: Session, mentions: Sequence[Mention]) -> int:
    """Insert mentions that are not stored yet; return how many were new.

    Uniqueness is (platform, external_id): a mention fetched again (a retry, an overlapping page,
    a rerun) is not stored twice and the first stored version is kept.
    """
    if not mentions:
        return 0
    fetched_at = utcnow()
    rows = [
        {
            "platform": m.platform,
            "external_id": m.external_id,
            "channel": m.channel,
            "url": m.url,
            "author_handle": m.author_handle,
            "author_display_name": m.author_display_name,
            "author_followers": m.author_followers,
            "text": m.text,
            "lang": m.lang,
            "created_at": m.created_at,
            "fetched_at": fetched_at,
            "thread_id": m.thread_id,
            "in_reply_to_id": m.in_reply_to_id,
            "visibility": m.visibility,
            "raw": m.raw,
        }
        for m in mentions
    ]
    table = MentionRow.__table__
    stmt = (
        dialect_insert(session, table)
        .on_conflict_do_nothing(index_elements=["platform", "external_id"])
        .returning(table.c.id)
    )
    # Core, not the ORM's bulk path: an order of magnitude faster for thousands of rows.
    return len(session.connection().execute(stmt, rows).all())


def _fingerprint(channel: str, raw: Any, reason: str) -> str:
    blob = json.dumps([channel, raw, reason], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def quarantine_items(
    *, session: Session, channel: str, platform: str, stage: str, items: Iterable[InvalidItem]
) -> int:
    """Keep bad items with their reason; the same item and reason is kept once."""
    now = utcnow()
    rows = [
        {
            "fingerprint": _fingerprint(channel, item.raw, item.reason),
            "channel": channel,
            "platform": platform,
            "stage": stage,
            "reason": item.reason,
            "raw": item.raw,
            "quarantined_at": now,
        }
        for item in items
    ]
    if not rows:
        return 0
    table = QuarantineRow.__table__
    stmt = (
        dialect_insert(session, table)
        .on_conflict_do_nothing(index_elements=["fingerprint"])
        .returning(table.c.id)
    )
    return len(session.connection().execute(stmt, rows).all())


def get_channel_state(*, session: Session, channel: str) -> ChannelState | None:
    return session.get(ChannelState, channel)


def save_channel_state(
    *,
    session: Session,
    channel: str,
    platform: str,
    newest_cursor: str | None,
    backfill_cursor: str | None,
    backfill_newest: str | None,
) -> None:
    values = {
        "channel": channel,
        "platform": platform,
        "newest_cursor": newest_cursor,
        "backfill_cursor": backfill_cursor,
        "backfill_newest": backfill_newest,
        "updated_at": utcnow(),
    }
    stmt = dialect_insert(session, ChannelState).values(values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["channel"], set_={k: v for k, v in values.items() if k != "channel"}
    )
    session.execute(stmt)


def audit(
    *,
    session: Session,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    details: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditRow(
            at=utcnow(),
            actor=actor,
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            details=details or {},
        )
    )


def count_rows(*, session: Session, model: type[Base], **filters: Any) -> int:
    stmt = select(func.count()).select_from(model)
    for key, value in filters.items():
        stmt = stmt.where(getattr(model, key) == value)
    return int(session.execute(stmt).scalar_one())


# --------------------------------------------------------------------------------------------
# Routing: assignments, escalation steps, notifications (migration 0003)
# --------------------------------------------------------------------------------------------


QUEUED_ITEMS = "queued_at IS NOT NULL OR queued_seconds > 0"
"""The assignments that waited in a queue (the partial index's condition)."""


class AssignmentRow(Base):
    """Who owns a mention now, and by when it needs a first response. One row per mention."""

    __tablename__ = "assignments"
    __table_args__ = (
        Index("ix_assignments_status_escalation", "status", "next_escalation_at"),
        Index("ix_assignments_assignee_status", "assignee", "status"),
        Index("ix_assignments_acted_at", "acted_at"),
        Index("ix_assignments_status_department", "status", "department"),
        # The weekly report's time in queue (migration 0015): only the items that waited in
        # a queue, with every column the report reads.
        Index(
            "ix_assignments_queue_report",
            "received_at",
            "department",
            "status",
            "queued_seconds",
            "queued_at",
            "first_assigned_at",
            sqlite_where=text(QUEUED_ITEMS),
            postgresql_where=text(QUEUED_ITEMS),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    mention_id: Mapped[int] = mapped_column(
        ForeignKey("mentions.id", ondelete="CASCADE"), unique=True
    )
    classification_id: Mapped[int | None] = mapped_column(BigIntId)
    department: Mapped[str] = mapped_column(String(32))
    assignee: Mapped[str | None] = mapped_column(String(64))  # None while queued
    urgent: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(16))  # rota, fallback, manual, escalation, queue
    # queued (waits in its department's queue, no owner); open; acted (someone acted on it);
    # withdrawn (reclassified as needing nobody)
    status: Mapped[str] = mapped_column(String(16))
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the SLA clock's start
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_escalation_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acted_by: Mapped[str | None] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Time to first owner and time in queue, for reports: when it last entered its
    # department's queue (None: never queued), when it first had an owner (None: not yet),
    # and the seconds it waited in earlier, finished stays in a queue.
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    queued_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ReportFactRow(Base):
    """One narrow row per mention with what the weekly report counts (migration 0013).

    Kept current by database triggers on mentions, classifications and assignments, so no
    write path can forget it; the report reads this table instead of joining the three.
    ``week`` counts UTC weeks from Monday 1969-12-29; ``sla`` is final (met, breached,
    withdrawn) or None while the item waits (then ``due_us`` decides, against the report's
    time); ``response_seconds`` runs from the mention's creation to the first action.
    """

    __tablename__ = "report_facts"
    __table_args__ = (
        # The hours of a week, per department (the report's exact look-ups around its
        # hourly roll-ups, migration 0016).
        Index(
            "ix_report_facts_hour",
            "hour",
            "a_department",
            "channel",
            "sla",
            "response_minute",
            "created_ts",
            "due_us",
        ),
        # The exact seconds inside a UTC week's response minutes, in order (migration 0017).
        Index(
            "ix_report_facts_seconds",
            "week",
            "response_minute",
            "response_seconds",
            "a_department",
            "channel",
            "created_ts",
        ),
        Index("ix_report_facts_followers", "week", "followers", "mention_id", "created_ts"),
        Index(
            "ix_report_facts_urgent",
            "created_ts",
            sqlite_where=text("urgent = 1"),
            postgresql_where=text("urgent"),
        ),
        # Items still waiting, by due time (migration 0016).
        Index(
            "ix_report_facts_waiting",
            "due_us",
            "a_department",
            "channel",
            "created_ts",
            sqlite_where=text("sla IS NULL AND a_department IS NOT NULL"),
            postgresql_where=text("sla IS NULL AND a_department IS NOT NULL"),
        ),
    )

    mention_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True
    )
    created_ts: Mapped[int] = mapped_column(BigInteger)  # epoch seconds (floor)
    hour: Mapped[int] = mapped_column(BigInteger)  # created_ts // 3600
    week: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(64))
    followers: Mapped[int] = mapped_column(Integer)  # -1: not known (sorts last)
    department: Mapped[str | None] = mapped_column(String(32))  # None: not classified
    urgent: Mapped[bool | None] = mapped_column(Boolean)
    sentiment: Mapped[str | None] = mapped_column(String(16))
    a_department: Mapped[str | None] = mapped_column(String(32))  # None: no assignment
    a_urgent: Mapped[bool | None] = mapped_column(Boolean)
    assignee: Mapped[str | None] = mapped_column(String(64))
    a_status: Mapped[str | None] = mapped_column(String(16))
    due_us: Mapped[int | None] = mapped_column(BigInteger)  # epoch microseconds
    sla: Mapped[str | None] = mapped_column(String(9))
    response_seconds: Mapped[int | None] = mapped_column(BigInteger)
    response_minute: Mapped[int | None] = mapped_column(BigInteger)


class EscalationStepRow(Base):
    """One step of an overdue item's escalation chain, fired once per chain.

    An item's chain starts again when it changes hands by decision (re-routed to another
    department, assigned by hand): its steps then go into the next ``chain``, and the earlier
    ones stay as history.
    """

    __tablename__ = "escalation_steps"
    __table_args__ = (
        UniqueConstraint(
            "assignment_id", "chain", "level", name="uq_escalation_steps_assignment_chain_level"
        ),
        # Covering: the weekly report counts the week's steps from it (migration 0017).
        Index("ix_escalation_steps_fired_at", "fired_at", "assignment_id", "target"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"))
    chain: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # 0 = the first
    level: Mapped[int] = mapped_column(Integer)  # 1 = the first step of the chain
    target: Mapped[str] = mapped_column(String(16))  # backup, lead, duty_manager
    from_person: Mapped[str | None] = mapped_column(String(64))
    to_person: Mapped[str | None] = mapped_column(String(64))  # None: nobody to hand it to
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text, default="")


class NotificationRow(Base):
    """A message to a person (through Apprise), sent once, retried with backoff on failure."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_status_next", "status", "next_attempt_at"),
        Index("ix_notifications_assignment", "assignment_id"),
        Index("ix_notifications_event_status", "event", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    event: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(64))  # a handle, or department:<id>
    assignment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assignments.id", ondelete="CASCADE")
    )
    mention_id: Mapped[int | None] = mapped_column(BigIntId)
    urgent: Mapped[bool] = mapped_column(Boolean)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    # pending, sending, sent, failed (retried later), gave_up, no_target (no URL configured),
    # skipped (no longer applied before it was sent, e.g. held for quiet hours and handed
    # over meanwhile, or superseded by a reclassification: see skip_reason)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Quiet hours: held until the department opens, then sent only if it still applies.
    deferred_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    skip_reason: Mapped[str | None] = mapped_column(Text)


class ConnectorStateRow(Base):
    """What a platform client keeps between runs, per channel and key.

    A Bluesky session (``session``: the access and refresh tokens createSession issued, never the
    app password) and an X channel's monthly usage (``usage:2026-08``). Written by the client
    through :mod:`socialops.connector_state`, outside the ingest transaction: the platform
    counted the request whether or not the batch is committed.
    """

    __tablename__ = "connector_state"

    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CorrectionRow(Base):
    """A person's correction of a classification (issue 12): the department (and urgency) the
    mention should have had. Kept for good: ``classify-train`` learns from them and
    ``classify-eval --corrections`` counts them. The newest correction of a mention wins."""

    __tablename__ = "classification_corrections"
    __table_args__ = (
        Index("ix_classification_corrections_mention", "mention_id", "corrected_at"),
        Index("ix_classification_corrections_at", "corrected_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"))
    # The classification that was corrected (None: the mention had none).
    classification_id: Mapped[int | None] = mapped_column(
        ForeignKey("classifications.id", ondelete="SET NULL")
    )
    from_department: Mapped[str | None] = mapped_column(String(32))
    from_urgent: Mapped[bool | None] = mapped_column(Boolean)
    model_version: Mapped[str | None] = mapped_column(String(64))
    department: Mapped[str] = mapped_column(String(32))
    urgent: Mapped[bool | None] = mapped_column(Boolean)  # None: urgency not corrected
    corrected_by: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(16))  # "correct" (the CLI) or "assign"
    corrected_at: Mapped[datetime] = mapped_column(UTCDateTime())


# --------------------------------------------------------------------------------------------
# Sign-off: reply drafts and planned posts, their approvals, publishing (migration 0006)
# --------------------------------------------------------------------------------------------


class DraftRow(Base):
    """A reply to a mention, or a planned post, from its text to its publication.

    ``status``: pending (waiting for approvals), approved, rejected (back to the assignee),
    expired (a planned time passed), publishing (claimed by a publisher: the POST may be in
    flight), published, failed (the platform refused it). ``version`` grows with every edit;
    approvals count only for the version they were given to.
    """

    __tablename__ = "drafts"
    __table_args__ = (
        Index("ix_drafts_status_scheduled", "status", "scheduled_at"),
        Index("ix_drafts_department_status", "department", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))  # reply, post
    mention_id: Mapped[int | None] = mapped_column(
        ForeignKey("mentions.id", ondelete="CASCADE"), unique=True
    )
    channel: Mapped[str] = mapped_column(String(64))
    platform: Mapped[str] = mapped_column(String(16))
    department: Mapped[str] = mapped_column(String(32))
    urgent: Mapped[bool] = mapped_column(Boolean)
    intent: Mapped[str] = mapped_column(String(32))
    lang: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(128))  # who wrote the current text
    assignee: Mapped[str | None] = mapped_column(String(64))
    in_reply_to_id: Mapped[str | None] = mapped_column(String(128))
    visibility: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    approvals_required: Mapped[int] = mapped_column(Integer)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the mention's SLA
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    claim_token: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set before a POST goes out and never cleared: a later attempt first looks for the post
    # among the account's own statuses (the earlier POST may have been written).
    post_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    external_id: Mapped[str | None] = mapped_column(String(128))
    external_url: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The Prefect review-draft run showing the draft in the UI, for which stage ("v2.a1":
    # version 2 with one approval), and how many were started (socialops.signoff.reviews).
    review_run_id: Mapped[str | None] = mapped_column(String(36))
    review_stage: Mapped[str | None] = mapped_column(String(32))
    review_runs: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class DraftApprovalRow(Base):
    """One person's approval of one version of a draft (once per person and version)."""

    __tablename__ = "draft_approvals"
    __table_args__ = (
        UniqueConstraint(
            "draft_id", "version", "approver", name="uq_draft_approvals_draft_version_approver"
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    approver: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(64))  # what the approval counted as
    via: Mapped[str] = mapped_column(String(16))  # cli, ui, demo
    at: Mapped[datetime] = mapped_column(UTCDateTime())
