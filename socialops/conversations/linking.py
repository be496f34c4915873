"""Linking: routing's hook for each new mention, and ``unlink``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialops import storage
from socialops.conversations.directory import whole_directory
from socialops.conversations.identity import Evidence, Identity, identity_of, same_person
from socialops.conversations.notices import announce_link
from socialops.conversations.tables import (
    LINKED,
    LINKER,
    MEMBER,
    OPENER,
    UNLINKED,
    ConversationError,
    ConversationMentionRow,
    ConversationRow,
    membership,
)
from socialops.conversations.texts import cosine, ngrams
from socialops.routing.assignments import NO_ACTION, OPEN, QUEUED, department_of

if TYPE_CHECKING:
    from socialops.config import OrgConfig
    from socialops.rota.schedule import RotaEngine
    from socialops.routing.runs import RouteRun


@dataclass(frozen=True)
class Candidate:
    """A mention a new one could join: routed (open or queued), or linked into such a one."""

    mention_id: int
    created_at: datetime
    opener_id: int  # whose assignment the conversation has
    conversation_id: int | None


@dataclass(frozen=True)
class Match:
    candidate: Candidate
    evidence: Evidence
    similarity: float


@dataclass
class _Pool:
    """What new mentions can join, per department: read once per session (a routing pass)
    and then only the assignments created since, so a pass of N mentions costs N small
    queries, not N scans. Mentions linked during the pass are added as they are linked."""

    watermark: int = 0  # the highest assignment id read
    by_department: dict[str, dict[str, list[Candidate]]] = field(default_factory=dict)

    def add(self, department: str, platform: str, candidate: Candidate) -> None:
        self.by_department.setdefault(department, {}).setdefault(platform, []).append(candidate)


def _pool(session: Session) -> _Pool:
    m, a = storage.MentionRow, storage.AssignmentRow
    cm, cv = ConversationMentionRow, ConversationRow
    pool: _Pool | None = session.info.get("conversations.pool")
    if pool is None:
        pool = _Pool()
        session.info["conversations.pool"] = pool
        linked = session.execute(
            select(m.id, m.platform, m.created_at, cv.id, cv.opener_mention_id, a.department)
            .join(cm, (cm.mention_id == m.id) & (cm.role == MEMBER) & (cm.status == LINKED))
            .join(cv, cv.id == cm.conversation_id)
            .join(a, a.mention_id == cv.opener_mention_id)
            .where(a.status.in_((OPEN, QUEUED)))
        ).all()
        for mid, platform, at, conv, opener, department in linked:
            pool.add(department, platform, Candidate(int(mid), at, int(opener), int(conv)))
    routed = session.execute(
        select(a.id, m.id, m.platform, m.created_at, a.department, cm.conversation_id, cm.status)
        .join(m, m.id == a.mention_id)
        .outerjoin(cm, cm.mention_id == m.id)
        .where(a.id > pool.watermark, a.status.in_((OPEN, QUEUED)))
    ).all()
    for aid, mid, platform, at, department, conv, status in routed:
        pool.watermark = max(pool.watermark, int(aid))
        if status == UNLINKED:  # put on its own by a person: kept apart for good
            continue
        pool.add(
            department,
            platform,
            Candidate(int(mid), at, int(mid), None if conv is None else int(conv)),
        )
    return pool


def _candidates(
    session: Session, mention: storage.MentionRow, department: str, window: timedelta
) -> list[Candidate]:
    """Mentions on other platforms, within the window, whose item is open or queued in
    ``department`` (or linked into such an item)."""
    pool = _pool(session)
    earliest, latest = mention.created_at - window, mention.created_at + window
    return [
        candidate
        for platform, candidates in pool.by_department.get(department, {}).items()
        if platform != mention.platform
        for candidate in candidates
        if earliest <= candidate.created_at <= latest and candidate.mention_id != mention.id
    ]


def _cached(
    session: Session, ids: Iterable[int], mention: storage.MentionRow
) -> dict[int, tuple[Identity, str]]:
    """Identity and text of ``mention`` and of each of ``ids``, computed once per session (a
    routing pass asks about the same candidates again and again)."""
    cache: dict[int, tuple[Identity, str]] = session.info.setdefault("conversations.who", {})
    if mention.id not in cache:
        cache[mention.id] = (identity_of(mention), mention.text)
    missing = [i for i in set(ids) if i not in cache]
    for start in range(0, len(missing), 500):
        m = storage.MentionRow
        for row in session.execute(
            select(m).where(m.id.in_(missing[start : start + 500]))
        ).scalars():
            cache[row.id] = (identity_of(row), row.text)
    return cache


def _grams(session: Session, mention_id: int, text: str) -> Counter[str]:
    cache: dict[int, Counter[str]] = session.info.setdefault("conversations.grams", {})
    if mention_id not in cache:
        cache[mention_id] = ngrams(text)
    return cache[mention_id]


def find_match(
    *,
    session: Session,
    org: OrgConfig,
    mention: storage.MentionRow,
    department: str,
) -> Match | None:
    """The conversation ``mention`` belongs to (the best candidate: known evidence first,
    then similarity), or None."""
    settings = org.conversations
    candidates = _candidates(session, mention, department, timedelta(hours=settings.window_hours))
    if not candidates:
        _cached(session, [], mention)  # it is a candidate for the mentions after it
        return None
    known = _cached(session, [c.mention_id for c in candidates], mention)
    me = known[mention.id][0]
    others = [(c, known[c.mention_id]) for c in candidates]
    directory = whole_directory(session)
    best: Match | None = None
    for candidate, (them, text) in others:
        evidence = same_person(me, them, directory=directory)
        if evidence is None:
            continue
        score = round(
            cosine(
                _grams(session, mention.id, mention.text),
                _grams(session, candidate.mention_id, text),
            ),
            3,
        )
        needed = (
            settings.known_person_similarity if evidence.known else settings.heuristic_similarity
        )
        if score < needed:
            continue
        match = Match(candidate, evidence, score)
        if best is None or (evidence.known, score) > (best.evidence.known, best.similarity):
            best = match
    return best


def _conversation_for(session: Session, opener_id: int, now: datetime) -> int:
    """The conversation ``opener_id`` opens, created (with its opener's membership) if new;
    two runs at once create one (unique opener, insert-or-nothing)."""
    table = ConversationRow.__table__
    session.execute(
        storage.dialect_insert(session, table)
        .values(opener_mention_id=opener_id, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["opener_mention_id"])
    )
    conversation_id = int(
        session.execute(
            select(ConversationRow.id).where(ConversationRow.opener_mention_id == opener_id)
        ).scalar_one()
    )
    members = ConversationMentionRow.__table__
    session.execute(
        storage.dialect_insert(session, members)
        .values(
            conversation_id=conversation_id,
            mention_id=opener_id,
            role=OPENER,
            status=LINKED,
            evidence={},
            similarity=None,
            linked_at=now,
            linked_by=LINKER,
        )
        .on_conflict_do_nothing(index_elements=["mention_id"])
    )
    return conversation_id


def attach(
    *,
    session: Session,
    org: OrgConfig,
    engine: RotaEngine,
    classification: storage.ClassificationRow,
    mention: storage.MentionRow,
    now: datetime,
    run: RouteRun,
) -> bool:
    """Routing's hook: True if ``mention`` joined (or had joined) a conversation, so it gets
    no assignment of its own; False to route it as usual."""
    if not org.conversations.enabled or classification.department == NO_ACTION:
        return False
    department = department_of(org, classification.department)
    match = find_match(session=session, org=org, mention=mention, department=department)
    if match is None:
        return False
    member = membership(session, mention.id)
    if member is not None:  # unlinked by a person (kept apart), or linked by another run
        return member.status == LINKED and member.role == MEMBER
    a = storage.AssignmentRow
    status = session.execute(
        select(a.status).where(a.mention_id == match.candidate.opener_id)
    ).scalar_one_or_none()
    if status not in (OPEN, QUEUED):  # acted on meanwhile: the new mention is a new item
        return False
    now = now.astimezone(UTC)
    conversation_id = match.candidate.conversation_id or _conversation_for(
        session, match.candidate.opener_id, now
    )
    evidence = {
        "kind": match.evidence.kind,
        "detail": match.evidence.detail,
        "similar_to": match.candidate.mention_id,
        "similarity": match.similarity,
        "department": department,
        "hours_apart": round(
            abs((mention.created_at - match.candidate.created_at).total_seconds()) / 3600,
            1,
        ),
    }
    table = ConversationMentionRow.__table__
    inserted = session.execute(
        storage.dialect_insert(session, table)
        .values(
            conversation_id=conversation_id,
            mention_id=mention.id,
            role=MEMBER,
            status=LINKED,
            evidence=evidence,
            similarity=match.similarity,
            linked_at=now,
            linked_by=LINKER,
        )
        .on_conflict_do_nothing(index_elements=["mention_id"])
        .returning(table.c.id)
    ).first()
    if inserted is None:  # another run decided about it first
        again = membership(session, mention.id)
        return again is not None and again.status == LINKED and again.role == MEMBER
    _pool(session).add(
        department,
        mention.platform,
        Candidate(mention.id, mention.created_at, match.candidate.opener_id, conversation_id),
    )
    announce_link(
        session,
        org,
        engine,
        conversation_id=conversation_id,
        opener_id=match.candidate.opener_id,
        mention=mention,
        urgent=bool(classification.urgent),
        evidence=evidence,
        now=now,
        run=run,
    )
    return True


def owner_mention(session: Session, mention_id: int) -> int:
    """The mention whose assignment covers ``mention_id``: its conversation's opener if it is
    linked into one, else itself."""
    cm, cv = ConversationMentionRow, ConversationRow
    opener = session.execute(
        select(cv.opener_mention_id)
        .join(cm, cm.conversation_id == cv.id)
        .where(cm.mention_id == mention_id, cm.role == MEMBER, cm.status == LINKED)
    ).scalar_one_or_none()
    return int(opener) if opener is not None else mention_id


def unlink(*, session: Session, mention_id: int, actor: str, now: datetime) -> int:
    """Put a linked mention back on its own (audited): it is routed alone at the next routing
    pass and never linked automatically again. Returns its former conversation's id."""
    member = membership(session, mention_id)
    if member is None or member.status != LINKED:
        raise ConversationError(f"mention {mention_id} is not linked into a conversation")
    if member.role == OPENER:
        others = session.execute(
            select(ConversationMentionRow.mention_id).where(
                ConversationMentionRow.conversation_id == member.conversation_id,
                ConversationMentionRow.role == MEMBER,
                ConversationMentionRow.status == LINKED,
            )
        ).scalars()
        ids = ", ".join(str(i) for i in others) or "none"
        raise ConversationError(
            f"mention {mention_id} opened conversation {member.conversation_id} and holds its "
            f"assignment; unlink the others instead (linked: {ids})"
        )
    member.status = UNLINKED
    member.unlinked_at = now.astimezone(UTC)
    member.unlinked_by = actor
    storage.audit(
        session=session,
        actor=actor,
        action="unlinked",
        subject_type="mention",
        subject_id=str(mention_id),
        details={"conversation_id": member.conversation_id, "was": member.evidence},
    )
    return member.conversation_id
