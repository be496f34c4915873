"""Linking: routing's hook for each new mention, and ``unlink``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from socialops import storage
from socialops.conversations.directory import accounts_by_person, whole_directory
from socialops.conversations.identity import (
    Evidence,
    Identity,
    identity_from,
    identity_keys,
    identity_of,
    keys_to_look_up,
    same_person,
)
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
from socialops.conversations.texts import cosine, ngrams, squares
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


@dataclass(eq=False)
class _Entry:
    """A candidate in a routing pass's pool, with what comparing it needs."""

    candidate: Candidate
    department: str  # its assignment's (or its conversation's) owning department
    identity: Identity
    text: str
    seq: int  # the order it joined the pool: ties go to the earlier one
    # False for a mention this pass let routing have: it is a candidate only once it has an
    # open or queued assignment (read from the database when it first wins a match).
    verified: bool = True


@dataclass
class _Pool:
    """What new mentions can join in one routing pass (one session), indexed by the keys
    :func:`same_person` matches on (:func:`identity_keys`), so a new mention is compared
    only with the few that could be its author, not with every open item.

    The pool is read from the database from the first mention's window on (one read per
    pass, and one more for each mention older than any before it); then it follows the pass:
    a mention routed on its own joins it at once (verified by one query if it ever wins a
    match), and a mention linked into a conversation joins it as it is linked. It does not
    see what another routing run commits meanwhile (one run does the work of a pass; two at
    once stay safe through the unique keys, see :func:`attach`)."""

    loaded: datetime | None = None  # candidates posted since this were read
    entries: dict[int, _Entry] = field(default_factory=dict)  # by mention id
    index: dict[tuple[str, str, object], list[_Entry]] = field(default_factory=dict)
    # The order each department first saw each platform (the pool's order before the index).
    platform_order: dict[str, dict[str, int]] = field(default_factory=dict)
    who: dict[int, Identity] = field(default_factory=dict)
    grams: dict[int, tuple[Counter[str], int]] = field(default_factory=dict)

    def add(
        self,
        department: str,
        platform: str,
        candidate: Candidate,
        *,
        identity: Identity,
        text: str,
        verified: bool = True,
    ) -> None:
        known = self.entries.get(candidate.mention_id)
        if known is not None:
            known.verified = known.verified or verified
            return
        order = self.platform_order.setdefault(department, {})
        order.setdefault(platform, len(order))
        entry = _Entry(candidate, department, identity, text, len(self.entries), verified)
        self.entries[candidate.mention_id] = entry
        for key in identity_keys(identity):
            self.index.setdefault((department, *key), []).append(entry)

    def drop(self, entry: _Entry) -> None:
        del self.entries[entry.candidate.mention_id]
        for key in identity_keys(entry.identity):
            self.index[(entry.department, *key)].remove(entry)

    def identity(self, mention: storage.MentionRow) -> Identity:
        if mention.id not in self.who:
            self.who[mention.id] = identity_of(mention)
        return self.who[mention.id]

    def ngrams(self, mention_id: int, text: str) -> tuple[Counter[str], int]:
        """A text's n-grams and their :func:`squares`, computed once per pass."""
        if mention_id not in self.grams:
            grams = ngrams(text)
            self.grams[mention_id] = (grams, squares(grams))
        return self.grams[mention_id]


def _pool(session: Session) -> _Pool:
    pool: _Pool | None = session.info.get("conversations.pool")
    if pool is None:
        pool = _Pool()
        session.info["conversations.pool"] = pool
    return pool


def _read(session: Session, pool: _Pool, earliest: datetime) -> None:
    """Make sure the pool holds every candidate posted since ``earliest``: on the pass's first
    mention, everything from its window's start on (nothing is posted in the future: later
    candidates are this pass's own, added as it goes); after that only an older mention's
    (a backfill's) earlier part. Two queries a read, on the mentions' ``created_at`` index."""
    spans: list[tuple[datetime, datetime | None]] = []
    if pool.loaded is None:
        spans.append((earliest, None))
        pool.loaded = earliest
    elif earliest < pool.loaded:
        spans.append((earliest, pool.loaded))
        pool.loaded = earliest
    m, a = storage.MentionRow, storage.AssignmentRow
    cm, cv = ConversationMentionRow, ConversationRow
    who = (m.id, m.platform, m.created_at, m.author_handle, m.author_display_name, m.raw, m.text)
    for lo, hi in spans:
        within = m.created_at >= lo if hi is None else m.created_at.between(lo, hi)
        linked = session.execute(
            select(*who, cv.id, cv.opener_mention_id, a.department)
            .join(cm, (cm.mention_id == m.id) & (cm.role == MEMBER) & (cm.status == LINKED))
            .join(cv, cv.id == cm.conversation_id)
            .join(a, a.mention_id == cv.opener_mention_id)
            .where(within, a.status.in_((OPEN, QUEUED)))
            .order_by(cm.id)
        ).all()
        for mid, platform, at, handle, display, raw, text, conv, opener, department in linked:
            pool.add(
                department,
                platform,
                Candidate(int(mid), at, int(opener), int(conv)),
                identity=_identity(pool, mid, platform, handle, display, raw),
                text=text,
            )
        routed = session.execute(
            select(*who, a.department, cm.conversation_id, cm.status)
            .select_from(a)
            .join(m, m.id == a.mention_id)
            .outerjoin(cm, cm.mention_id == m.id)
            .where(within, a.status.in_((OPEN, QUEUED)))
            .order_by(a.id)
        ).all()
        for mid, platform, at, handle, display, raw, text, department, conv, status in routed:
            if status == UNLINKED:  # put on its own by a person: kept apart for good
                continue
            pool.add(
                department,
                platform,
                Candidate(int(mid), at, int(mid), None if conv is None else int(conv)),
                identity=_identity(pool, mid, platform, handle, display, raw),
                text=text,
            )


def _identity(
    pool: _Pool, mention_id: int, platform: str, handle: str, display: str | None, raw: object
) -> Identity:
    if mention_id not in pool.who:
        pool.who[mention_id] = identity_from(
            platform=platform, author_handle=handle, author_display_name=display, raw=raw
        )
    return pool.who[mention_id]


def _shortlist(
    session: Session, pool: _Pool, mention: storage.MentionRow, department: str, window: timedelta
) -> list[_Entry]:
    """Candidates on other platforms, within the window, in ``department``, filed under a key
    their author could share with ``mention``'s (:func:`keys_to_look_up`), in pool order."""
    earliest, latest = mention.created_at - window, mention.created_at + window
    _read(session, pool, earliest)
    me = pool.identity(mention)
    person = whole_directory(session).get(me.account)
    mates = accounts_by_person(session).get(person, []) if person is not None else []
    found: dict[int, _Entry] = {}
    for key in keys_to_look_up(me, directory_accounts=mates):
        for entry in pool.index.get((department, *key), ()):
            candidate = entry.candidate
            if (
                entry.identity.platform != mention.platform
                and earliest <= candidate.created_at <= latest
                and candidate.mention_id != mention.id
            ):
                found[candidate.mention_id] = entry
    order = pool.platform_order.get(department, {})
    return sorted(found.values(), key=lambda e: (order[e.identity.platform], e.seq))


def _still_a_candidate(session: Session, pool: _Pool, entry: _Entry) -> bool:
    """Whether a mention this pass let routing have now has an open or queued assignment
    (and was not put on its own by a person); if not, it leaves the pool."""
    a, cm = storage.AssignmentRow, ConversationMentionRow
    row = session.execute(
        select(a.status, cm.status)
        .outerjoin(cm, cm.mention_id == a.mention_id)
        .where(a.mention_id == entry.candidate.mention_id)
    ).first()
    if row is not None and row[0] in (OPEN, QUEUED) and row[1] != UNLINKED:
        entry.verified = True
        return True
    pool.drop(entry)
    return False


def _ranked(
    session: Session, org: OrgConfig, mention: storage.MentionRow, department: str
) -> list[tuple[_Entry, Match]]:
    """Every candidate ``mention`` could join, best first: known evidence first, then
    similarity; on a tie, the one that joined the pool first."""
    settings = org.conversations
    pool = _pool(session)
    shortlist = _shortlist(
        session, pool, mention, department, timedelta(hours=settings.window_hours)
    )
    if not shortlist:
        return []
    me = pool.identity(mention)
    directory = whole_directory(session)
    matches: list[tuple[_Entry, Match]] = []
    for entry in shortlist:
        evidence = same_person(me, entry.identity, directory=directory)
        if evidence is None:
            continue
        mine, my_squares = pool.ngrams(mention.id, mention.text)
        theirs, their_squares = pool.ngrams(entry.candidate.mention_id, entry.text)
        score = round(cosine(mine, theirs, a_squares=my_squares, b_squares=their_squares), 3)
        needed = (
            settings.known_person_similarity if evidence.known else settings.heuristic_similarity
        )
        if score >= needed:
            matches.append((entry, Match(entry.candidate, evidence, score)))
    # Stable: equal keys keep pool order, reversed or not.
    matches.sort(key=lambda em: (em[1].evidence.known, em[1].similarity), reverse=True)
    return matches


def find_match(
    *,
    session: Session,
    org: OrgConfig,
    mention: storage.MentionRow,
    department: str,
) -> Match | None:
    """The conversation ``mention`` belongs to (the best candidate: known evidence first,
    then similarity), or None."""
    pool = _pool(session)
    for entry, match in _ranked(session, org, mention, department):
        if entry.verified or _still_a_candidate(session, pool, entry):
            return match
    return None


def _conversation_for(session: Session, opener_id: int, now: datetime) -> tuple[int, bool]:
    """The conversation ``opener_id`` opens, and whether it was created now (with its
    opener's membership); two runs at once create one (unique opener, insert-or-nothing)."""
    table = ConversationRow.__table__
    created = session.execute(
        storage.dialect_insert(session, table)
        .values(opener_mention_id=opener_id, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["opener_mention_id"])
        .returning(table.c.id)
    ).first()
    if created is None:
        conversation_id = session.execute(
            select(ConversationRow.id).where(ConversationRow.opener_mention_id == opener_id)
        ).scalar_one()
        return int(conversation_id), False
    conversation_id = int(created[0])
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
    return conversation_id, True


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
    if not org.conversations.enabled:
        return False
    department = department_of(org, classification.department)
    if _join(session, org, engine, classification, mention, department, now=now, run=run):
        return True
    # Routed on its own next: a candidate for the mentions after it in this pass.
    pool = _pool(session)
    pool.add(
        department,
        mention.platform,
        Candidate(mention.id, mention.created_at, mention.id, None),
        identity=pool.identity(mention),
        text=mention.text,
        verified=False,
    )
    return False


def _join(
    session: Session,
    org: OrgConfig,
    engine: RotaEngine,
    classification: storage.ClassificationRow,
    mention: storage.MentionRow,
    department: str,
    *,
    now: datetime,
    run: RouteRun,
) -> bool:
    if classification.department == NO_ACTION:
        return False
    pool = _pool(session)
    a, cm = storage.AssignmentRow, ConversationMentionRow
    for entry, match in _ranked(session, org, mention, department):
        # One round trip: the opener's item and membership, and this mention's membership.
        opener = match.candidate.opener_id
        status, opener_status, role, member_status = session.execute(
            select(
                select(a.status).where(a.mention_id == opener).scalar_subquery(),
                select(cm.status).where(cm.mention_id == opener).scalar_subquery(),
                select(cm.role).where(cm.mention_id == mention.id).scalar_subquery(),
                select(cm.status).where(cm.mention_id == mention.id).scalar_subquery(),
            )
        ).one()
        if not entry.verified:  # routed by this pass: a candidate only with an open item
            if status not in (OPEN, QUEUED) or opener_status == UNLINKED:
                pool.drop(entry)
                continue
            entry.verified = True
        if member_status is not None:  # unlinked by a person (kept apart), or linked by another run
            return bool(member_status == LINKED and role == MEMBER)
        if status not in (OPEN, QUEUED):  # acted on meanwhile: the new mention is a new item
            return False
        return _link(session, org, engine, classification, mention, department, match, now, run)
    return False


def _link(
    session: Session,
    org: OrgConfig,
    engine: RotaEngine,
    classification: storage.ClassificationRow,
    mention: storage.MentionRow,
    department: str,
    match: Match,
    now: datetime,
    run: RouteRun,
) -> bool:
    now = now.astimezone(UTC)
    pool = _pool(session)
    conversation_id, created = match.candidate.conversation_id, False
    if conversation_id is None:
        conversation_id, created = _conversation_for(session, match.candidate.opener_id, now)
        entry = pool.entries.get(match.candidate.mention_id)
        if entry is not None:  # the next mention to join it finds the conversation at once
            entry.candidate = replace(entry.candidate, conversation_id=conversation_id)
    evidence = _evidence(match, mention, department)
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
    if not created:
        session.execute(
            update(ConversationRow)
            .where(ConversationRow.id == conversation_id)
            .values(updated_at=now)
        )
    pool.add(
        department,
        mention.platform,
        Candidate(mention.id, mention.created_at, match.candidate.opener_id, conversation_id),
        identity=pool.identity(mention),
        text=mention.text,
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


def _evidence(match: Match, mention: storage.MentionRow, department: str) -> dict[str, Any]:
    """Why a mention joined a conversation, as stored with the link and told to its owner."""
    return {
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
