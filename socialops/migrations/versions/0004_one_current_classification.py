"""one current classification per mention

Two classifiers running at once (a manual `socialops run` while `serve` runs) could both
find no current decision for a mention and both insert one. A partial unique index makes a
second current row impossible; existing duplicates keep only their newest row current.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 22:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        sa.text(
            "UPDATE classifications SET is_current = false WHERE is_current AND id NOT IN ("
            " SELECT max(id) FROM classifications WHERE is_current GROUP BY mention_id)"
        )
    )
    op.create_index(
        "uq_classifications_one_current",
        "classifications",
        ["mention_id"],
        unique=True,
        sqlite_where=sa.text("is_current"),
        postgresql_where=sa.text("is_current"),
    )


def downgrade() -> None:
    op.drop_index("uq_classifications_one_current", table_name="classifications")
