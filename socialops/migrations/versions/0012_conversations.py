"""conversations: the same person's mentions of the same issue across platforms, linked under one
assignment (``conversations``, ``conversation_mentions``), and the person directory that says
which accounts are one person (``directory_people``, ``directory_accounts``)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from socialops.storage import UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "directory_people",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("label", sa.String(128), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "directory_accounts",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column(
            "person_id",
            _ID,
            sa.ForeignKey("directory_people.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("handle", sa.String(320), nullable=False),
        sa.Column("added_by", sa.String(128), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("platform", "handle", name="uq_directory_accounts_platform_handle"),
    )
    op.create_index("ix_directory_accounts_person", "directory_accounts", ["person_id"])
    op.create_table(
        "conversations",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column(
            "opener_mention_id",
            _ID,
            sa.ForeignKey("mentions.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "conversation_mentions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column(
            "conversation_id",
            _ID,
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "mention_id",
            _ID,
            sa.ForeignKey("mentions.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("evidence", _JSON, nullable=False),
        sa.Column("similarity", sa.Float(), nullable=True),
        sa.Column("linked_at", UTCDateTime(), nullable=False),
        sa.Column("linked_by", sa.String(128), nullable=False),
        sa.Column("unlinked_at", UTCDateTime(), nullable=True),
        sa.Column("unlinked_by", sa.String(128), nullable=True),
    )
    op.create_index(
        "ix_conversation_mentions_conversation", "conversation_mentions", ["conversation_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_conversation_mentions_conversation", table_name="conversation_mentions")
    op.drop_table("conversation_mentions")
    op.drop_table("conversations")
    op.drop_index("ix_directory_accounts_person", table_name="directory_accounts")
    op.drop_table("directory_accounts")
    op.drop_table("directory_people")
