"""Views: the inbox, and ``socialops conversations``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialops import storage
from socialops.conversations.tables import LINKED, ConversationMentionRow, ConversationRow


@dataclass(frozen=True)
class LinkView:
    """A mention's place in a conversation, as the inbox shows it."""

    conversation_id: int
    role: str
    status: str
    opener_mention_id: int
    evidence: dict[str, Any]
    similarity: float | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.conversation_id,
            "role": self.role,
            "status": self.status,
            "opener_mention_id": self.opener_mention_id,
            "why": self.evidence.get("detail"),
            "evidence": self.evidence.get("kind"),
            "similar_to": self.evidence.get("similar_to"),
            "similarity": self.similarity,
        }


def links_for(*, session: Session, mention_ids: Sequence[int]) -> dict[int, LinkView]:
    """Conversation membership of the given mentions (absent: never in one)."""
    if not mention_ids:
        return {}
    cm, cv = ConversationMentionRow, ConversationRow
    rows = session.execute(
        select(cm, cv.opener_mention_id)
        .join(cv, cv.id == cm.conversation_id)
        .where(cm.mention_id.in_(list(mention_ids)))
    ).all()
    return {
        member.mention_id: LinkView(
            conversation_id=member.conversation_id,
            role=member.role,
            status=member.status,
            opener_mention_id=int(opener),
            evidence=member.evidence or {},
            similarity=member.similarity,
        )
        for member, opener in rows
    }


@dataclass
class ConversationView:
    """One conversation: its assignment and its mentions, with why each is there."""

    id: int
    opener_mention_id: int
    department: str | None
    assignee: str | None
    status: str | None
    urgent: bool
    due_at: datetime | None
    created_at: datetime
    mentions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def platforms(self) -> list[str]:
        return sorted({m["platform"] for m in self.mentions if m["status"] == LINKED})

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "opener_mention_id": self.opener_mention_id,
            "department": self.department,
            "assignee": self.assignee,
            "status": self.status,
            "urgent": self.urgent,
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "created_at": self.created_at.isoformat(),
            "platforms": self.platforms,
            "mentions": self.mentions,
        }


def conversation_views(
    *, session: Session, ids: Sequence[int] | None = None, limit: int = 50
) -> list[ConversationView]:
    """Conversations, newest first (or the given ones), with their mentions."""
    cv, a = ConversationRow, storage.AssignmentRow
    stmt = (
        select(cv, a)
        .outerjoin(a, a.mention_id == cv.opener_mention_id)
        .order_by(cv.created_at.desc(), cv.id.desc())
    )
    stmt = stmt.where(cv.id.in_(list(ids))) if ids is not None else stmt.limit(limit)
    views = {
        conv.id: ConversationView(
            id=conv.id,
            opener_mention_id=conv.opener_mention_id,
            department=assignment.department if assignment else None,
            assignee=assignment.assignee if assignment else None,
            status=assignment.status if assignment else None,
            urgent=bool(assignment.urgent) if assignment else False,
            due_at=assignment.due_at if assignment else None,
            created_at=conv.created_at,
        )
        for conv, assignment in session.execute(stmt).all()
    }
    if not views:
        return []
    cm, m = ConversationMentionRow, storage.MentionRow
    members = session.execute(
        select(cm, m)
        .join(m, m.id == cm.mention_id)
        .where(cm.conversation_id.in_(list(views)))
        .order_by(m.created_at, m.id)
    ).all()
    for member, mention in members:
        views[member.conversation_id].mentions.append(
            {
                "mention_id": mention.id,
                "platform": mention.platform,
                "channel": mention.channel,
                "author": mention.author_handle,
                "created_at": mention.created_at.isoformat(),
                "url": mention.url,
                "text": mention.text,
                "role": member.role,
                "status": member.status,
                "why": member.evidence.get("detail") if member.evidence else None,
                "evidence": member.evidence.get("kind") if member.evidence else None,
                "similarity": member.similarity,
                "linked_by": member.linked_by,
                "linked_at": member.linked_at.isoformat(),
                "unlinked_by": member.unlinked_by,
            }
        )
    return list(views.values())
