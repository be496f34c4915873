"""department queues: normal items found while nobody can take them wait without an owner

- ``assignments.assignee`` may be null: a ``queued`` item waits in its department's queue.
- ``assignments.queued_at``, ``first_assigned_at`` and ``queued_seconds``: when it last
  entered the queue, when it first had an owner, and how long it waited in earlier stays, so
  a report can count time to first owner and time in queue. Existing rows had an owner from
  the start: their first owner came at ``assigned_at``.
- ``ix_assignments_status_department``: the queue of one department, read every routing pass.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 00:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode: SQLite cannot change a column's nullability in place (the table is copied).
    with op.batch_alter_table("assignments") as batch:
        batch.alter_column("assignee", existing_type=sa.String(length=64), nullable=True)
        batch.add_column(sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("first_assigned_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("queued_seconds", sa.Integer(), server_default="0", nullable=False)
        )
        batch.create_index("ix_assignments_status_department", ["status", "department"])
    op.execute("UPDATE assignments SET first_assigned_at = assigned_at")


def downgrade() -> None:
    # An item still queued has no owner, which the older schema cannot hold: the department's
    # lead is not known here, so queued items are refused rather than invented an owner.
    queued = op.get_bind().execute(
        sa.text("SELECT count(*) FROM assignments WHERE assignee IS NULL")
    )
    if queued.scalar_one():
        raise RuntimeError(
            "items are still queued (no owner): assign them (socialops assign) before "
            "downgrading below 0006"
        )
    with op.batch_alter_table("assignments") as batch:
        batch.drop_index("ix_assignments_status_department")
        batch.drop_column("queued_seconds")
        batch.drop_column("first_assigned_at")
        batch.drop_column("queued_at")
        batch.alter_column("assignee", existing_type=sa.String(length=64), nullable=False)
