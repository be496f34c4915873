"""backfill days: the days of a windowed backfill that are finished, per channel

A rerun of ``backfill-mentions`` skips them; ``resume_cursor`` is where the walk into the next
(older) day starts, so resuming does not walk the feed from the top again.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 00:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from socialops.storage import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "backfill_days",
        sa.Column("channel", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("fetched", sa.Integer(), nullable=False),
        sa.Column("stored", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("quarantined", sa.Integer(), nullable=False),
        sa.Column("resume_cursor", sa.String(64), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("backfill_days")
