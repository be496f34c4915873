"""Replies across platforms: the draft-replies stage's hook."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialops import storage
from socialops.conversations.tables import LINKED, MEMBER, ConversationMentionRow, ConversationRow
from socialops.routing.assignments import NO_ACTION, OPEN

if TYPE_CHECKING:
    from socialops.config import OrgConfig


def reply_rows(
    *,
    session: Session,
    org: OrgConfig,
    rows: Sequence[Any],
    limit: int,
) -> list[tuple[storage.AssignmentRow, storage.MentionRow, str | None]]:
    """The drafting stage's ``(assignment, mention, sentiment)`` rows, plus the linked
    mentions that get a reply of their own under their department's
    ``replies_across_platforms`` (``each``: every one; ``none``: those on the opener's
    platform; ``first``: none, only the opener is answered). A linked mention is drafted
    under the conversation's assignment (its owner, urgency and due time)."""
    out: list[tuple[storage.AssignmentRow, storage.MentionRow, str | None]] = [
        (assignment, mention, sentiment) for assignment, mention, sentiment in rows
    ]
    if not org.conversations.enabled or len(out) >= limit:
        return out[:limit]
    a, m, c, d = (
        storage.AssignmentRow,
        storage.MentionRow,
        storage.ClassificationRow,
        storage.DraftRow,
    )
    cm, cv = ConversationMentionRow, ConversationRow
    opener = storage.MentionRow.__table__.alias("opener")
    linked = session.execute(
        select(a, m, c.sentiment, opener.c.platform)
        .select_from(cm)
        .join(cv, cv.id == cm.conversation_id)
        .join(a, a.mention_id == cv.opener_mention_id)
        .join(opener, opener.c.id == cv.opener_mention_id)
        .join(m, m.id == cm.mention_id)
        .outerjoin(c, (c.mention_id == m.id) & c.is_current)
        .outerjoin(d, d.mention_id == m.id)
        .where(
            cm.role == MEMBER,
            cm.status == LINKED,
            a.status == OPEN,
            a.department != NO_ACTION,
            d.id.is_(None),
        )
        .order_by(a.urgent.desc(), a.due_at, m.id)
        .limit(limit - len(out))
    ).all()
    for assignment, mention, sentiment, opener_platform in linked:
        department = org.departments.get(assignment.department)
        policy = department.replies_across_platforms if department is not None else "first"
        if policy == "each" or (policy == "none" and mention.platform == opener_platform):
            out.append((assignment, mention, sentiment))
    return out
