"""indexes for the weekly report

The report's queries read only these columns, so each is answered from an index alone
(covering), without visiting the wide mention rows or joining through the tables' pages:

- ``mentions (created_at, channel, author_followers)``: the week's mentions per channel and
  hour, and its most-followed authors;
- ``classifications (mention_id, is_current, department, urgent, sentiment)``: a mention's
  current decision, found and read in one look-up;
- ``assignments (mention_id, department, urgent, status, acted_at, due_at)``: response times
  and SLA outcomes; ``(received_at, assignee, status)``: items per person; ``(acted_at)``: the
  backlog at the week's end;
- ``notifications (created_at, event, status)`` and ``escalation_steps (fired_at)``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 00:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_mentions_report", "mentions", ["created_at", "channel", "author_followers"]),
    (
        "ix_classifications_report",
        "classifications",
        ["mention_id", "is_current", "department", "urgent", "sentiment"],
    ),
    (
        "ix_assignments_report",
        "assignments",
        ["mention_id", "department", "urgent", "status", "acted_at", "due_at"],
    ),
    ("ix_assignments_received", "assignments", ["received_at", "assignee", "status"]),
    ("ix_assignments_acted_at", "assignments", ["acted_at"]),
    ("ix_notifications_created", "notifications", ["created_at", "event", "status"]),
    ("ix_escalation_steps_fired_at", "escalation_steps", ["fired_at"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
