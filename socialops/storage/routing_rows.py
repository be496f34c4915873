"""Routing's tables: assignments, the report's facts, escalation steps, notifications,
connector state and classification corrections (migration 0003 and later)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from socialops.storage.base import Base, BigIntId, JSONType, UTCDateTime

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
