"""What the community said: themes and distinctive terms per department.

**Themes** are the intent of each classified mention, as the reply drafts name it
(:func:`socialops.signoff.templates.intent_of`): ``urgent``, ``complaint`` (negative),
``praise`` (positive), ``question`` (neutral). They are folded from the volume cube the report
already counted (department x urgency x sentiment), so they cost no query of their own.

**Terms** are the words that set a department's mentions apart from the other departments':
the log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi and Quinn, 2008,
"Fightin' Words"), as a z-score, over the number of mentions containing each word. Words come
from the mention text with links, e-mail addresses, @handles and numbers removed, stop words
of the reply languages (en, de, es, fr, pt) and the organisation's own name dropped.

The text is read from a **bounded, deterministic sample** when the week has more mentions
than ``SAMPLE_LIMIT``: the week is cut into ``SLICES`` equal spans of time and the first
mentions of each span (by creation time, then id) are read through the ``created_at`` index
(one ``UNION ALL`` statement),
so the cost does not grow with the week's volume. The report says when terms come from a
sample, and of how many mentions.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Select, and_, bindparam, select, union_all
from sqlalchemy.orm import Session

from socialops import storage
from socialops.report.stopwords import STOP_WORDS
from socialops.report.week import IsoWeek
from socialops.signoff.templates import intent_of

SAMPLE_LIMIT = 4032  # 24 per span: ~0.35 s at 1M mentions (random row reads for the text)
SLICES = 168  # one span per hour of an ordinary week
TERMS_PER_DEPARTMENT = 8
MIN_MENTIONS = 2  # a term must be in at least this many of the department's mentions
PRIOR = 0.01  # the prior's weight per word, relative to its count over all departments
INTENTS = ("urgent", "complaint", "praise", "question")

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_EMAIL = re.compile(r"\S+@\S+\.\S+")
_HANDLE = re.compile(r"@[\w.\-]+(?:@[\w.\-]+)?")
_WORD = re.compile(r"[^\W\d_]{3,}")

m = storage.MentionRow.__table__
c = storage.ClassificationRow.__table__


class Cell(Protocol):
    """A cell of the report's volume cube: what the themes are folded from."""

    @property
    def department(self) -> str | None: ...
    @property
    def urgent(self) -> bool: ...
    @property
    def sentiment(self) -> str | None: ...
    @property
    def count(self) -> int: ...


def intents(cells: Iterable[Cell]) -> dict[str, dict[str, int]]:
    """Mentions per department and intent (classified mentions only), biggest first."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(INTENTS, 0))
    known: dict[tuple[bool, str | None], str] = {}  # a few kinds, thousands of cells
    for cell in cells:
        if cell.department is None:
            continue
        kind = (cell.urgent, cell.sentiment)
        intent = known.get(kind)
        if intent is None:
            intent = known[kind] = intent_of(
                urgent=cell.urgent, sentiment=cell.sentiment, private=False
            )
        out[cell.department][intent] += cell.count
    return dict(sorted(out.items(), key=lambda kv: (-sum(kv[1].values()), kv[0])))


def words(text: str, ignore: frozenset[str] = frozenset()) -> set[str]:
    """The distinct words of a mention that can be a term."""
    if not text.isascii():  # NFKC leaves ASCII as it is
        text = unicodedata.normalize("NFKC", text)
    # Each pattern only where it can match (a link needs "://" or "www.", an address or a
    # handle an "@"): most mentions have neither.
    if "://" in text or "www." in text.lower():
        text = _URL.sub(" ", text)
    if "@" in text:
        text = _HANDLE.sub(" ", _EMAIL.sub(" ", text))
    return {
        w
        for w in (match.casefold() for match in _WORD.findall(text))
        if w not in STOP_WORDS and w not in ignore
    }


@dataclass(frozen=True)
class Sample:
    rows: list[tuple[str, str]]  # (department, text)
    sampled: bool
    mentions: int  # how many mentions were read


def sample(
    *, session: Session, week: IsoWeek, total: int, limit: int = SAMPLE_LIMIT, slices: int = SLICES
) -> Sample:
    """The classified mentions of the week whose text is read: all of them when there are
    at most ``limit``, else the first ``ceil(limit / slices)`` of each of ``slices`` equal
    spans of the week."""
    joined = m.join(c, and_(c.c.mention_id == m.c.id, c.c.is_current))
    columns = (c.c.department, m.c.text)
    order = (m.c.created_at, m.c.id)
    if total <= limit:
        stmt = (
            select(*columns)
            .select_from(joined)
            .where(m.c.created_at >= week.start, m.c.created_at < week.end)
            .order_by(*order)
            .limit(limit)
        )
        rows = [(str(dept), str(text)) for dept, text in session.execute(stmt)]
        return Sample(rows=rows, sampled=False, mentions=len(rows))
    per_slice = -(-limit // slices)
    span = (week.end - week.start) / slices
    bounds: dict[str, Any] = {}
    for i in range(slices):
        bounds[f"lo{i}"] = week.start + span * i
        bounds[f"hi{i}"] = week.end if i == slices - 1 else week.start + span * (i + 1)
    rows = []
    read = 0
    for dept, text in session.execute(_sliced(slices, per_slice), bounds):
        read += 1
        if dept is not None:
            rows.append((str(dept), str(text)))
    return Sample(rows=rows, sampled=True, mentions=read)


@functools.lru_cache(maxsize=4)
def _sliced(slices: int, per_slice: int) -> Select[Any]:
    """Each span's first mentions through the created_at index, all spans in one statement
    (UNION ALL: one round trip), then their classification: an unclassified one is read and
    skipped (it has no department to count for). The spans' bounds are parameters
    ``lo{i}``/``hi{i}``: the statement is built once (building its 168 subqueries cost more
    than running them)."""
    parts = []
    for i in range(slices):
        first = (
            select(m.c.id, m.c.text)
            .where(m.c.created_at >= bindparam(f"lo{i}"), m.c.created_at < bindparam(f"hi{i}"))
            .order_by(m.c.created_at, m.c.id)
            .limit(per_slice)
            .subquery()
        )
        parts.append(select(first.c.id, first.c.text))
    picked = union_all(*parts).subquery()
    return (
        select(c.c.department, picked.c.text)
        .select_from(picked.outerjoin(c, and_(c.c.mention_id == picked.c.id, c.c.is_current)))
        .order_by(picked.c.id)
    )


def distinctive_terms(
    docs: Sequence[tuple[str, set[str]]],
    *,
    top: int = TERMS_PER_DEPARTMENT,
    min_mentions: int = MIN_MENTIONS,
) -> dict[str, list[dict[str, Any]]]:
    """Per department, the words most over-represented against the other departments
    (log-odds with an informative Dirichlet prior, z-score), with how many of the
    department's mentions contain each. Ties go to the more frequent, then alphabetical.
    With no other department to compare with, the most frequent words (score ``None``)."""
    per_dept: dict[str, Counter[str]] = defaultdict(Counter)
    for dept, ws in docs:
        per_dept[dept].update(ws)
    overall: Counter[str] = Counter()
    for counts in per_dept.values():
        overall.update(counts)
    grand = sum(overall.values())
    if not grand:
        return {}
    alpha0 = PRIOR * grand
    out: dict[str, list[dict[str, Any]]] = {}
    for dept in sorted(per_dept):
        counts = per_dept[dept]
        n_i = sum(counts.values())
        n_j = grand - n_i
        scored: list[tuple[float | None, int, str]] = []
        for word, y_i in counts.items():
            if y_i < min_mentions:
                continue
            if not n_j:  # no other department to set it apart from: the most frequent
                scored.append((None, y_i, word))
                continue
            alpha = alpha0 * overall[word] / grand
            rest = alpha0 * (grand - overall[word]) / grand  # the prior of every other word
            y_j = overall[word] - y_i
            rest_i, rest_j = n_i - y_i + rest, n_j - y_j + rest
            if rest_i <= 0 or rest_j <= 0:  # the only word there is: nothing sets it apart
                continue
            delta = math.log((y_i + alpha) / rest_i) - math.log((y_j + alpha) / rest_j)
            z = delta / math.sqrt(1 / (y_i + alpha) + 1 / (y_j + alpha))
            if z > 0:
                scored.append((round(z, 3), y_i, word))
        scored.sort(key=lambda s: (-(s[0] or 0.0), -s[1], s[2]))
        out[dept] = [{"term": w, "mentions": k, "score": z} for z, k, w in scored[:top]]
    return out


def themes(
    *,
    session: Session,
    week: IsoWeek,
    cells: Iterable[Cell],
    total: int,
    organisation: str = "",
    limit: int = SAMPLE_LIMIT,
    slices: int = SLICES,
) -> dict[str, Any]:
    """The report's ``themes`` section: intents per department, and distinctive terms."""
    ignore = frozenset(w.casefold() for w in _WORD.findall(organisation))
    picked = sample(session=session, week=week, total=total, limit=limit, slices=slices)
    docs = [(dept, words(text, ignore)) for dept, text in picked.rows]
    note = (
        f"terms from a sample of {picked.mentions:,} of the week's {total:,} mentions "
        f"(the first {-(-limit // slices)} of each of {slices} equal spans of the week)"
        if picked.sampled
        else f"terms from all {len(picked.rows):,} classified mentions of the week"
    )
    return {
        "intents": intents(cells),
        "terms": distinctive_terms(docs),
        "terms_source": {
            "sampled": picked.sampled,
            "mentions_read": picked.mentions,
            "of": total,
            "method": "log-odds ratio with an informative Dirichlet prior (z-score) of each "
            "department against the others, over mentions containing the word",
            "note": note,
        },
    }


def intent_totals(intents_by: Mapping[str, Mapping[str, int]]) -> dict[str, int]:
    out = dict.fromkeys(INTENTS, 0)
    for row in intents_by.values():
        for k, v in row.items():
            out[k] += v
    return out
