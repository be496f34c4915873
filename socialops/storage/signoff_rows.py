"""Sign-off's tables: reply drafts and planned posts, and their approvals (migration 0006)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from socialops.storage.base import Base, BigIntId, UTCDateTime

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
