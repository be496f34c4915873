"""re-routing on reclassification, quiet hours

- ``escalation_steps.chain``: an item re-routed to another department, or assigned by hand,
  starts its escalation chain again; its new steps go into the next chain (unique per
  assignment, chain and level) and the earlier ones stay as history.
- ``notifications.deferred_until`` and ``skip_reason``: a normal item's notification held
  until the department's business hours, then sent only if it still applies (else skipped,
  with the reason).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 00:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode: SQLite cannot drop a constraint in place (the table is copied).
    with op.batch_alter_table("escalation_steps") as batch:
        batch.add_column(sa.Column("chain", sa.Integer(), server_default="0", nullable=False))
        batch.drop_constraint("uq_escalation_steps_assignment_level", type_="unique")
        batch.create_unique_constraint(
            "uq_escalation_steps_assignment_chain_level", ["assignment_id", "chain", "level"]
        )
    op.add_column(
        "notifications", sa.Column("deferred_until", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("notifications", sa.Column("skip_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("notifications", "skip_reason")
    op.drop_column("notifications", "deferred_until")
    with op.batch_alter_table("escalation_steps") as batch:
        batch.drop_constraint("uq_escalation_steps_assignment_chain_level", type_="unique")
        batch.create_unique_constraint(
            "uq_escalation_steps_assignment_level", ["assignment_id", "level"]
        )
        batch.drop_column("chain")
