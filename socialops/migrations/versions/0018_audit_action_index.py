"""audit action index: the weekly report's publishing failures without reading every step

The report counts a week's ``publish_failed`` and ``expire`` steps of drafts. Through the
index by ``(subject_type, at)`` that read every draft step of the week (at 1,000,000 seeded
mentions, about 1.3 million: drafted, approved, published, ...; 3.4 s on SQLite) to keep a
few thousand; by ``(action, at)`` it reads only those (0.03 s). On SQLite, when statistics
exist, they are made for the new index too, as 0017 does, so the planner weighs it fairly.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 00:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = ("ix_audit_log_action_at", ["action", "at"])


def upgrade() -> None:
    op.create_index(INDEX[0], "audit_log", INDEX[1])
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        have_stats = bind.exec_driver_sql(
            "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"
        ).scalar_one()
        if have_stats:
            op.execute("ANALYZE audit_log")


def downgrade() -> None:
    op.drop_index(INDEX[0], table_name="audit_log")
