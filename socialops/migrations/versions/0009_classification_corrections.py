"""classification corrections

``classification_corrections``: a person's correction of a mention's department (and
urgency), from ``socialops classify correct`` or a manual assignment to another department.
Training learns from them; ``classify-eval --corrections`` reports how often they happen.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 00:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "classification_corrections",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("mention_id", ID, nullable=False),
        sa.Column("classification_id", ID, nullable=True),
        sa.Column("from_department", sa.String(length=32), nullable=True),
        sa.Column("from_urgent", sa.Boolean(), nullable=True),
        sa.Column("model_version", sa.String(length=64), nullable=True),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=True),
        sa.Column("corrected_by", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["mention_id"], ["mentions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["classification_id"], ["classifications.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_classification_corrections_mention",
        "classification_corrections",
        ["mention_id", "corrected_at"],
        unique=False,
    )
    op.create_index(
        "ix_classification_corrections_at",
        "classification_corrections",
        ["corrected_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_classification_corrections_at", table_name="classification_corrections")
    op.drop_index("ix_classification_corrections_mention", table_name="classification_corrections")
    op.drop_table("classification_corrections")
