"""Reading mentions to classify and saving decisions, with their history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session, aliased

from socialops.classification.classifier import Classification
from socialops.storage import ClassificationRow, MentionRow, dialect_insert, utcnow


@dataclass(frozen=True)
class MentionText:
    id: int
    text: str


def pending_mention_ids(
    *,
    session: Session,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
) -> list[int]:
    """Mentions to classify, oldest first.

    Without a range: those never classified. With ``since``/``until`` (on ``created_at``): every
    mention in the range, classified or not (a reclassification on request).
    """
    stmt = select(MentionRow.id).order_by(MentionRow.created_at, MentionRow.id)
    if since is None and until is None:
        current = aliased(ClassificationRow)
        stmt = stmt.outerjoin(
            current, and_(current.mention_id == MentionRow.id, current.is_current.is_(True))
        ).where(current.id.is_(None))
    if since is not None:
        stmt = stmt.where(MentionRow.created_at >= since)
    if until is not None:
        stmt = stmt.where(MentionRow.created_at < until)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.execute(stmt).scalars())


def mention_texts(*, session: Session, ids: Sequence[int]) -> list[MentionText]:
    rows = session.execute(
        select(MentionRow.id, MentionRow.text).where(MentionRow.id.in_(ids))
    ).all()
    by_id = {row.id: row.text for row in rows}
    return [MentionText(i, by_id[i]) for i in ids if i in by_id]


@dataclass(frozen=True)
class SaveResult:
    new: int  # first classification of a mention
    changed: int  # a different decision (or model) than the current one: history grows
    unchanged: int  # same model, same decision: nothing written


def save_classifications(
    *, session: Session, decisions: Sequence[tuple[int, Classification]]
) -> SaveResult:
    """Store decisions idempotently: the same model making the same decision writes nothing;
    anything else becomes the current row and the previous one stays as history."""
    if not decisions:
        return SaveResult(0, 0, 0)
    ids = [mention_id for mention_id, _ in decisions]
    current = {
        row.mention_id: row
        for row in session.execute(
            select(ClassificationRow).where(
                ClassificationRow.mention_id.in_(ids), ClassificationRow.is_current.is_(True)
            )
        ).scalars()
    }
    now = utcnow()
    replaced: list[int] = []
    rows = []
    for mention_id, decision in decisions:
        old = current.get(mention_id)
        if old is not None and (
            old.model_version,
            old.department,
            old.urgent,
            old.sentiment,
        ) == (decision.model_version, decision.department, decision.urgent, decision.sentiment):
            continue
        if old is not None:
            replaced.append(old.id)
        rows.append(
            {
                "mention_id": mention_id,
                "department": decision.department,
                "urgent": decision.urgent,
                "sentiment": decision.sentiment,
                "confidence": decision.confidence,
                "explanation": decision.explanation,
                "model_version": decision.model_version,
                "classified_at": now,
                "is_current": True,
            }
        )
    if replaced:
        session.execute(
            update(ClassificationRow)
            .where(ClassificationRow.id.in_(replaced))
            .values(is_current=False)
        )
    inserted: set[int] = set()
    if rows:
        # A classifier running at the same time may have made its decision current first
        # (the partial unique index allows one current row per mention): then this one is
        # not written, and the other stays current.
        stmt = (
            dialect_insert(session, ClassificationRow.__table__)
            .on_conflict_do_nothing(
                index_elements=["mention_id"], index_where=ClassificationRow.is_current
            )
            .returning(ClassificationRow.mention_id)
        )
        inserted = set(session.execute(stmt, rows).scalars())
    new = sum(1 for mention_id in inserted if mention_id not in current)
    changed = len(inserted) - new
    return SaveResult(new, changed, len(decisions) - new - changed)


def current_classifications(
    *, session: Session, mention_ids: Sequence[int]
) -> dict[int, ClassificationRow]:
    rows = session.execute(
        select(ClassificationRow).where(
            ClassificationRow.mention_id.in_(mention_ids), ClassificationRow.is_current.is_(True)
        )
    ).scalars()
    return {row.mention_id: row for row in rows}


class UrgentItem(BaseModel):
    mention_id: int
    department: str
    text: str
    why: str


class BatchResult(BaseModel):
    """What one classification batch did: the figures of the run's summary."""

    classified: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    departments: dict[str, int] = Field(default_factory=dict)
    urgent: list[UrgentItem] = Field(default_factory=list)
    model_version: str = ""
