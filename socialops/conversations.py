"""Conversations: the same person raising the same issue on two platforms is one conversation.

A new mention about to be routed is *attached* to a conversation (no second assignment, no
second page) when all of these hold against a mention that already has an open or queued
assignment (or is already linked into one), on another platform:

- **the same person**, by the strongest evidence available:
  ``directory`` (both accounts linked to one person with ``socialops people link``),
  ``profile`` (one account's profile, as the platform sent it with the mention, names the
  other: Mastodon ``account.fields``/``note``, a Bluesky ``description``, an X description), or,
  weakest, ``same_handle``/``same_display_name`` (the normalised handle local part, or a
  display name of two words or more, is the same). Two accounts the directory gives to two
  different people are never linked;
- **the same issue**: character n-gram cosine of the two texts (URLs and @handles left out) at
  least ``conversations.known_person_similarity`` for directory/profile evidence and the higher
  ``conversations.heuristic_similarity`` for a heuristic match; the same department (the
  owning one); posted within ``conversations.window_hours`` of each other.

The conversation's assignment is its opener's (the mention routed first); an urgent mention
makes it urgent; the owner hears "also raised on Bluesky" through the notification layer
(quiet hours as usual); acting on any of its mentions acts on the conversation. Every link is
audited with its evidence and similarity; ``unlink`` puts a mention back on its own (it is
routed alone at the next pass and never linked again automatically).

Linking is idempotent and safe under concurrent routing runs: one conversation per opener and
one membership per mention are unique constraints, and inserts do nothing on conflict.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Float,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from socialops import storage
from socialops.routing.assignments import NO_ACTION, OPEN, QUEUED, department_of
from socialops.routing.escalation import first_step_at
from socialops.routing.notifications import queue_item_notification
from socialops.routing.quiet_hours import quiet_until
from socialops.storage import Base, BigIntId, JSONType, UTCDateTime

if TYPE_CHECKING:
    from socialops.config import OrgConfig
    from socialops.rota.schedule import RotaEngine
    from socialops.routing.runs import RouteRun

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


# --------------------------------------------------------------------------------------------
# The same issue: text similarity
# --------------------------------------------------------------------------------------------

_URL = re.compile(r"https?://\S+|www\.\S+")
_AT_HANDLE = re.compile(r"(?<![\w])@[\w.\-]+(?:@[\w.\-]+)?")
_NON_WORD = re.compile(r"[^\w\s]|_")


def normalise_text(text: str) -> str:
    """What the comparison sees: NFKC, case-folded, without URLs, @handles and punctuation
    (each platform names the brand and links differently)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _AT_HANDLE.sub(" ", _URL.sub(" ", text))
    return " ".join(_NON_WORD.sub(" ", text).split())


def ngrams(text: str) -> Counter[str]:
    """Character 3- to 5-grams within words padded by a space (robust to typos, plurals and
    the odd added word)."""
    out: Counter[str] = Counter()
    for word in normalise_text(text).split():
        padded = f" {word} "
        for n in (3, 4, 5):
            for i in range(max(1, len(padded) - n + 1)):
                out[padded[i : i + n]] += 1
    return out


def cosine(a: Counter[str], b: Counter[str]) -> float:
    if not a or not b:
        return 0.0
    if len(a) > len(b):
        a, b = b, a
    dot = sum(count * b[gram] for gram, count in a.items() if gram in b)
    norm = math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


def similarity(a: str, b: str) -> float:
    """Character n-gram cosine of two texts, 0..1 (rounded to 3 places)."""
    return round(cosine(ngrams(a), ngrams(b)), 3)


# --------------------------------------------------------------------------------------------
# The same person: identities and evidence
# --------------------------------------------------------------------------------------------

_BSKY_URL = re.compile(r"bsky\.app/profile/([a-z0-9][a-z0-9.\-]*[a-z0-9])", re.I)
_BSKY_HANDLE = re.compile(
    r"(?<![\w.@\-])([a-z0-9][a-z0-9\-]*(?:\.[a-z0-9\-]+)*\.bsky\.social)\b", re.I
)
_X_URL = re.compile(r"(?:twitter|x)\.com/(?!home\b|i/|intent/|search\b)@?([a-z0-9_]{1,15})\b", re.I)
_REDDIT = re.compile(r"(?:reddit\.com/u(?:ser)?/|(?<![\w/])/?u/)([a-z0-9_\-]{3,20})\b", re.I)
_MASTODON_AT = re.compile(r"(?<![\w])@([a-z0-9_]{1,30})@([a-z0-9\-]+(?:\.[a-z0-9\-]+)+)", re.I)
_MASTODON_URL = re.compile(r"https?://([a-z0-9\-]+(?:\.[a-z0-9\-]+)+)/@([a-z0-9_]{1,30})\b", re.I)
_HREF = re.compile(r"""href=["']([^"']+)["']""", re.I)
_TAG = re.compile(r"<[^>]+>")
_NOT_MASTODON_HOSTS = ("bsky.app", "x.com", "twitter.com", "reddit.com", "www.reddit.com")


def canonical(platform: str, handle: str) -> str:
    """An account as the directory and the evidence compare it: lower case, no leading ``@``
    (``jane@mastodon.social``, ``jane.bsky.social``, ``jane_doe`` on Reddit and X)."""
    handle = handle.strip().lower()
    if platform == "reddit":
        handle = handle.removeprefix("/").removeprefix("u/")
    return handle.lstrip("@")


def parse_account(text: str) -> tuple[str, str]:
    """``platform:handle`` (``mastodon:@jane@mastodon.social``, ``bluesky:jane.bsky.social``,
    ``reddit:u/jane``, ``x:@jane``) as ``(platform, canonical handle)``."""
    platform, sep, handle = text.partition(":")
    platform = platform.strip().lower()
    if not sep or platform not in PLATFORMS or not handle.strip():
        raise ConversationError(
            f"{text!r}: expected platform:handle, e.g. mastodon:@jane@mastodon.social or "
            f"bluesky:jane.bsky.social (platforms: {', '.join(PLATFORMS)})"
        )
    handle = canonical(platform, handle)
    if platform == "mastodon" and not re.fullmatch(r"[a-z0-9_]{1,30}@[a-z0-9\-.]+\.[a-z]+", handle):
        raise ConversationError(
            f"{text!r}: a Mastodon account needs its server too, e.g. @jane@mastodon.social"
        )
    if platform == "bluesky" and "." not in handle:
        raise ConversationError(f"{text!r}: a Bluesky handle is a domain, e.g. jane.bsky.social")
    if platform in ("reddit", "x") and not re.fullmatch(r"[a-z0-9_\-]{1,20}", handle):
        raise ConversationError(f"{text!r}: not a {PLATFORM_NAMES[platform]} username")
    return platform, handle


@dataclass(frozen=True)
class Identity:
    """Who wrote a mention, as far as linking is concerned."""

    platform: str
    handle: str  # canonical
    local: str  # the handle's local part, letters and digits only ("" if too short to match)
    display: str  # normalised display name ("" if too generic to match)
    points_to: frozenset[tuple[str, str]] = frozenset()  # accounts its profile names
    account: tuple[str, str] = field(init=False)  # (platform, handle)

    def __post_init__(self) -> None:
        object.__setattr__(self, "account", (self.platform, self.handle))


def _local_part(platform: str, handle: str) -> str:
    if platform == "mastodon":
        local = handle.split("@", 1)[0]
    elif platform == "bluesky":
        local = handle.split(".", 1)[0]
    else:
        local = handle
    local = re.sub(r"[^a-z0-9]", "", local)
    return local if len(local) >= 4 else ""  # "sam", "bob": too many people share them


def _display_key(name: str | None) -> str:
    words = [
        w for w in re.split(r"[^\w]+|_", unicodedata.normalize("NFKC", name or "").casefold()) if w
    ]
    words = [w for w in words if not w.isdigit()]
    # One word ("Sam", "Coffee Lover" is two) says too little about who someone is.
    return " ".join(words) if len(words) >= 2 and sum(map(len, words)) >= 6 else ""


def _author_payload(platform: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The author object the platform sent with the mention (may lack profile fields)."""
    if platform == "mastodon":
        status = raw.get("status") if isinstance(raw.get("status"), dict) else raw
        account = status.get("account") if isinstance(status, dict) else None
        return account if isinstance(account, dict) else {}
    if platform == "bluesky":
        author = raw.get("author")
        if not isinstance(author, dict) and isinstance(raw.get("post"), dict):
            author = raw["post"].get("author")
        return author if isinstance(author, dict) else {}
    if platform == "x":
        author = raw.get("author")
        return author if isinstance(author, dict) else {}
    return {}  # Reddit sends a username only


def _profile_texts(platform: str, author: dict[str, Any]) -> list[str]:
    """Profile text that may name other accounts: Mastodon's note and fields (HTML: the link
    targets are kept), Bluesky's description, X's description, url and entities."""
    texts: list[str] = []
    if platform == "mastodon":
        parts = [author.get("note")]
        for entry in author.get("fields") or []:
            if isinstance(entry, dict):
                parts.append(entry.get("value"))
        for part in parts:
            if isinstance(part, str) and part:
                texts.extend(_HREF.findall(part))
                texts.append(html.unescape(_TAG.sub(" ", part)))
    elif platform == "bluesky":
        if isinstance(author.get("description"), str):
            texts.append(author["description"])
    elif platform == "x":
        for key in ("description", "url"):
            if isinstance(author.get(key), str):
                texts.append(author[key])
        entities = author.get("entities")
        if isinstance(entities, dict):
            for group in entities.values():
                for url in (group or {}).get("urls", []) if isinstance(group, dict) else []:
                    if isinstance(url, dict) and isinstance(url.get("expanded_url"), str):
                        texts.append(url["expanded_url"])
    return texts


def accounts_named(texts: Iterable[str]) -> set[tuple[str, str]]:
    """Every account the texts name, by platform (``(platform, canonical handle)``)."""
    found: set[tuple[str, str]] = set()
    for text in texts:
        for handle in _BSKY_URL.findall(text) + _BSKY_HANDLE.findall(text):
            found.add(("bluesky", canonical("bluesky", handle)))
        for handle in _X_URL.findall(text):
            found.add(("x", canonical("x", handle)))
        for handle in _REDDIT.findall(text):
            found.add(("reddit", canonical("reddit", handle)))
        for user, host in _MASTODON_AT.findall(text):
            found.add(("mastodon", f"{user}@{host}".lower()))
        for host, user in _MASTODON_URL.findall(text):
            if host.lower() not in _NOT_MASTODON_HOSTS:
                found.add(("mastodon", f"{user}@{host}".lower()))
    return found


def identity_of(mention: storage.MentionRow) -> Identity:
    """Who wrote ``mention``: its canonical account, the parts a heuristic compares, and the
    accounts its profile names (only what the payload carried)."""
    platform = mention.platform
    raw = mention.raw if isinstance(mention.raw, dict) else {}
    author = _author_payload(platform, raw)
    handle = canonical(platform, mention.author_handle)
    if platform == "mastodon" and "@" not in handle:
        # A local account's acct has no server; its profile URL does.
        match = _MASTODON_URL.match(str(author.get("url") or ""))
        if match:
            handle = f"{handle}@{match.group(1).lower()}"
    named = accounts_named(_profile_texts(platform, author))
    named.discard((platform, handle))
    return Identity(
        platform=platform,
        handle=handle,
        local=_local_part(platform, handle),
        display=_display_key(mention.author_display_name),
        points_to=frozenset(named),
    )


@dataclass(frozen=True)
class Evidence:
    """Why two accounts are taken for one person."""

    kind: str  # directory, profile, same_handle, same_display_name
    detail: str

    @property
    def known(self) -> bool:
        return self.kind in KNOWN


def same_person(
    a: Identity, b: Identity, *, directory: dict[tuple[str, str], int]
) -> Evidence | None:
    """The strongest evidence that ``a`` and ``b`` are one person, or None. Accounts the
    directory gives to two different people are never one person."""
    pa, pb = directory.get(a.account), directory.get(b.account)
    if pa is not None and pb is not None:
        if pa == pb:
            return Evidence("directory", f"both accounts belong to directory person {pa}")
        return None
    if b.account in a.points_to:
        return Evidence(
            "profile", f"{a.handle}'s {PLATFORM_NAMES[a.platform]} profile names {b.handle}"
        )
    if a.account in b.points_to:
        return Evidence(
            "profile", f"{b.handle}'s {PLATFORM_NAMES[b.platform]} profile names {a.handle}"
        )
    if a.local and a.local == b.local and not (a.display and b.display and a.display != b.display):
        # A shared handle with two different full names is two people ("coffee", "sam_k").
        return Evidence("same_handle", f"both handles read {a.local!r}")
    if a.display and a.display == b.display:
        return Evidence("same_display_name", f"both display names read {a.display!r}")
    return None


# --------------------------------------------------------------------------------------------
# Linking (called by routing for each new mention)
# --------------------------------------------------------------------------------------------


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


def directory_of(
    session: Session, accounts: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """The directory person of each account that has one."""
    wanted = set(accounts)
    if not wanted:
        return {}
    d = DirectoryAccountRow
    rows = session.execute(
        select(d.platform, d.handle, d.person_id).where(d.handle.in_({h for _p, h in wanted}))
    ).all()
    return {(p, h): int(person) for p, h, person in rows if (p, h) in wanted}


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


def _directory(session: Session) -> dict[tuple[str, str], int]:
    """The whole person directory, read once per session (people maintain it by hand: it is
    small, and a routing pass consults it for every new mention)."""
    cached: dict[tuple[str, str], int] | None = session.info.get("conversations.directory")
    if cached is None:
        d = DirectoryAccountRow
        rows = session.execute(select(d.platform, d.handle, d.person_id)).all()
        cached = {(p, h): int(person) for p, h, person in rows}
        session.info["conversations.directory"] = cached
    return cached


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
    directory = _directory(session)
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


def _membership(session: Session, mention_id: int) -> ConversationMentionRow | None:
    cm = ConversationMentionRow
    return session.execute(select(cm).where(cm.mention_id == mention_id)).scalar_one_or_none()


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
    member = _membership(session, mention.id)
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
        again = _membership(session, mention.id)
        return again is not None and again.status == LINKED and again.role == MEMBER
    _pool(session).add(
        department,
        mention.platform,
        Candidate(mention.id, mention.created_at, match.candidate.opener_id, conversation_id),
    )
    _joined(
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


def _joined(
    session: Session,
    org: OrgConfig,
    engine: RotaEngine,
    *,
    conversation_id: int,
    opener_id: int,
    mention: storage.MentionRow,
    urgent: bool,
    evidence: dict[str, Any],
    now: datetime,
    run: RouteRun,
) -> None:
    """Audit the link, make the conversation urgent if this mention is, tell its owner."""
    a = storage.AssignmentRow
    assignment = session.execute(
        select(a).where(a.mention_id == opener_id).with_for_update()
    ).scalar_one()
    raised = urgent and not assignment.urgent
    if raised:
        due_at = min(
            assignment.due_at,
            engine.due_at(assignment.department, urgent=True, start=mention.fetched_at),
        )
        assignment.urgent = True
        assignment.due_at = due_at
        if assignment.status == OPEN:
            assignment.next_escalation_at = first_step_at(engine, assignment.department, due_at)
    conversation = session.get(ConversationRow, conversation_id)
    assert conversation is not None
    conversation.updated_at = now
    assignment.updated_at = now
    session.flush()
    platform = PLATFORM_NAMES.get(mention.platform, mention.platform)
    storage.audit(
        session=session,
        actor=LINKER,
        action="linked",
        subject_type="mention",
        subject_id=str(mention.id),
        details={
            "conversation_id": conversation_id,
            "opener_mention_id": opener_id,
            "assignment_id": assignment.id,
            "assignee": assignment.assignee,
            "made_urgent": raised,
            **evidence,
        },
    )
    run.linked += 1
    if assignment.assignee is None:  # queued: whoever takes it sees the whole conversation
        return
    not_before = quiet_until(
        engine, assignment.department, urgent=raised, due_at=assignment.due_at, now=now
    )
    queued = queue_item_notification(
        session=session,
        org=org,
        engine=engine,
        key=f"linked:{conversation_id}:{mention.id}",
        event="urgent" if raised else "linked",
        recipient=assignment.assignee,
        department=assignment.department,
        mention=mention,
        due_at=assignment.due_at,
        urgent=assignment.urgent,
        now=now,
        assignment_id=assignment.id,
        into=run.notifications,
        not_before=not_before,
        reason=f"also raised on {platform} (conversation {conversation_id}, "
        f"with mention {opener_id}: {evidence['detail']}, similarity {evidence['similarity']})",
    )
    run.deferred += int(queued and not_before is not None)


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


# --------------------------------------------------------------------------------------------
# Replies across platforms (the draft-replies stage's hook)
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# People: unlink, and the person directory
# --------------------------------------------------------------------------------------------


def unlink(*, session: Session, mention_id: int, actor: str, now: datetime) -> int:
    """Put a linked mention back on its own (audited): it is routed alone at the next routing
    pass and never linked automatically again. Returns its former conversation's id."""
    member = _membership(session, mention_id)
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


def link_people(
    *, session: Session, accounts: Sequence[str], actor: str, label: str | None, now: datetime
) -> int:
    """Record that the accounts (``platform:handle``) are one person; audited. Accounts
    already in the directory must all belong to the same person (unlink one first)."""
    parsed = [parse_account(text) for text in accounts]
    if len(set(parsed)) < 2:
        raise ConversationError("name at least two different accounts")
    known = directory_of(session, parsed)
    people = sorted(set(known.values()))
    if len(people) > 1:
        raise ConversationError(
            "these accounts already belong to different people ("
            + ", ".join(f"{p}:{h} -> {known[(p, h)]}" for p, h in parsed if (p, h) in known)
            + "); unlink one with `socialops people unlink` first"
        )
    now = now.astimezone(UTC)
    if people:
        person_id = people[0]
    else:
        person = DirectoryPersonRow(
            label=label or f"{parsed[0][0]}:{parsed[0][1]}", created_by=actor, created_at=now
        )
        session.add(person)
        session.flush()
        person_id = person.id
    table = DirectoryAccountRow.__table__
    added = []
    for platform, handle in parsed:
        row = session.execute(
            storage.dialect_insert(session, table)
            .values(
                person_id=person_id, platform=platform, handle=handle, added_by=actor, added_at=now
            )
            .on_conflict_do_nothing(index_elements=["platform", "handle"])
            .returning(table.c.id)
        ).first()
        if row is not None:
            added.append(f"{platform}:{handle}")
    storage.audit(
        session=session,
        actor=actor,
        action="people-link",
        subject_type="directory_person",
        subject_id=str(person_id),
        details={"accounts": [f"{p}:{h}" for p, h in parsed], "added": added},
    )
    return person_id


def unlink_person_account(*, session: Session, account: str, actor: str) -> int:
    """Take one account out of the directory (audited); returns the person it belonged to."""
    platform, handle = parse_account(account)
    d = DirectoryAccountRow
    row = session.execute(
        select(d).where(d.platform == platform, d.handle == handle)
    ).scalar_one_or_none()
    if row is None:
        raise ConversationError(f"{platform}:{handle} is not in the person directory")
    person_id = row.person_id
    session.delete(row)
    storage.audit(
        session=session,
        actor=actor,
        action="people-unlink",
        subject_type="directory_person",
        subject_id=str(person_id),
        details={"account": f"{platform}:{handle}"},
    )
    return person_id


@dataclass(frozen=True)
class PersonView:
    id: int
    label: str
    accounts: list[str]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "accounts": self.accounts}


def people(*, session: Session) -> list[PersonView]:
    p, d = DirectoryPersonRow, DirectoryAccountRow
    accounts: dict[int, list[str]] = {}
    for row in session.execute(select(d).order_by(d.platform, d.handle)).scalars():
        accounts.setdefault(row.person_id, []).append(f"{row.platform}:{row.handle}")
    return [
        PersonView(id=row.id, label=row.label, accounts=accounts.get(row.id, []))
        for row in session.execute(select(p).order_by(p.id)).scalars()
        if accounts.get(row.id)
    ]


# --------------------------------------------------------------------------------------------
# Views: the inbox, and ``socialops conversations``
# --------------------------------------------------------------------------------------------


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
