"""report content indexes: time in queue (queued items only) and the sign-off steps by time

The weekly report's time-in-queue section reads only the assignments that waited in a queue,
through a partial covering index (its cost follows the queue, not the week's volume); its
approvals section reads the draft steps of the audit log since the week began.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 00:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUED_ITEMS = "queued_at IS NOT NULL OR queued_seconds > 0"


def upgrade() -> None:
    op.create_index(
        "ix_assignments_queue_report",
        "assignments",
        [
            "received_at",
            "department",
            "status",
            "queued_seconds",
            "queued_at",
            "first_assigned_at",
        ],
        sqlite_where=sa.text(QUEUED_ITEMS),
        postgresql_where=sa.text(QUEUED_ITEMS),
    )
    op.create_index("ix_audit_log_subject_type_at", "audit_log", ["subject_type", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_subject_type_at", table_name="audit_log")
    op.drop_index("ix_assignments_queue_report", table_name="assignments")
