"""sign-off: reply drafts and planned posts, their approvals, publishing state

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 00:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _at(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "drafts",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("mention_id", BIG_ID, nullable=True),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("intent", sa.String(length=32), nullable=False),
        sa.Column("lang", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=128), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("in_reply_to_id", sa.String(length=128), nullable=True),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("approvals_required", sa.Integer(), nullable=False),
        _at("scheduled_at"),
        _at("due_at"),
        _at("approved_at"),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("claim_token", sa.String(length=64), nullable=True),
        _at("claimed_until"),
        _at("next_attempt_at"),
        _at("post_started_at"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _at("published_at"),
        sa.Column("external_id", sa.String(length=128), nullable=True),
        sa.Column("external_url", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _at("created_at", nullable=False),
        _at("updated_at", nullable=False),
        sa.ForeignKeyConstraint(["mention_id"], ["mentions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("mention_id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    op.create_index("ix_drafts_status_scheduled", "drafts", ["status", "scheduled_at"])
    op.create_index("ix_drafts_department_status", "drafts", ["department", "status"])
    op.create_table(
        "draft_approvals",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("draft_id", BIG_ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("approver", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        _at("at", nullable=False),
        sa.ForeignKeyConstraint(["draft_id"], ["drafts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "draft_id", "version", "approver", name="uq_draft_approvals_draft_version_approver"
        ),
    )


def downgrade() -> None:
    op.drop_table("draft_approvals")
    op.drop_index("ix_drafts_department_status", table_name="drafts")
    op.drop_index("ix_drafts_status_scheduled", table_name="drafts")
    op.drop_table("drafts")
