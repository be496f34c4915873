"""Conversations' tables (migration 0012), their constants, and the error people see."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from socialops.storage import Base, BigIntId, JSONType, UTCDateTime

LINKER = "socialops:link"
OPENER, MEMBER = "opener", "linked"  # a membership's role
LINKED, UNLINKED = "linked", "unlinked"  # a membership's status
PLATFORMS = ("mastodon", "bluesky", "reddit", "x")
PLATFORM_NAMES = {"mastodon": "Mastodon", "bluesky": "Bluesky", "reddit": "Reddit", "x": "X"}
KNOWN = ("directory", "profile")  # evidence that names the person; the rest is a heuristic


class ConversationError(Exception):
    """A request about conversations or the person directory that cannot be done. For people."""


# --------------------------------------------------------------------------------------------
# Tables (migration 0012)
# --------------------------------------------------------------------------------------------


class DirectoryPersonRow(Base):
    """A person the organisation knows by several accounts (``socialops people link``)."""

    __tablename__ = "directory_people"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    label: Mapped[str] = mapped_column(String(128))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DirectoryAccountRow(Base):
    """One platform account of a directory person; an account belongs to one person."""

    __tablename__ = "directory_accounts"
    __table_args__ = (
        UniqueConstraint("platform", "handle", name="uq_directory_accounts_platform_handle"),
        Index("ix_directory_accounts_person", "person_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("directory_people.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    handle: Mapped[str] = mapped_column(String(320))  # canonical, see :func:`canonical`
    added_by: Mapped[str] = mapped_column(String(128))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ConversationRow(Base):
    """Linked mentions with one assignment: the opener's (the mention routed first)."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    opener_mention_id: Mapped[int] = mapped_column(
        ForeignKey("mentions.id", ondelete="CASCADE"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ConversationMentionRow(Base):
    """A mention's place in a conversation, with why it is there. One row per mention, ever:
    an unlinked mention keeps its row (status ``unlinked``) so it is never linked again."""

    __tablename__ = "conversation_mentions"
    __table_args__ = (Index("ix_conversation_mentions_conversation", "conversation_id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    mention_id: Mapped[int] = mapped_column(
        ForeignKey("mentions.id", ondelete="CASCADE"), unique=True
    )
    role: Mapped[str] = mapped_column(String(8))  # opener, linked
    status: Mapped[str] = mapped_column(String(8))  # linked, unlinked
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType)
    similarity: Mapped[float | None] = mapped_column(Float)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    linked_by: Mapped[str] = mapped_column(String(128))
    unlinked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    unlinked_by: Mapped[str | None] = mapped_column(String(128))


def membership(session: Session, mention_id: int) -> ConversationMentionRow | None:
    cm = ConversationMentionRow
    return session.execute(select(cm).where(cm.mention_id == mention_id)).scalar_one_or_none()
