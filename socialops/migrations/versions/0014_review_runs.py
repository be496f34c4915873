"""review runs: the Prefect review-draft run that shows a pending draft in the UI

``review_run_id`` is the run started for the draft's current stage (``review_stage``: its
version and the approvals it has), so a draft gets one review run at a time and a run that no
longer applies is cancelled; ``review_runs`` counts the runs started, a bound on restarts.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("drafts") as batch:
        batch.add_column(sa.Column("review_run_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("review_stage", sa.String(32), nullable=True))
        batch.add_column(sa.Column("review_runs", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("drafts") as batch:
        batch.drop_column("review_runs")
        batch.drop_column("review_stage")
        batch.drop_column("review_run_id")
