"""People correcting the classifier: stored, audited, learnt from and counted.

A correction says which department (and, if given, which urgency) a mention should have had.
It becomes the mention's current classification (model version ``correction``), so routing
follows it like any reclassification (an item assigned by hand keeps its owner), and it stays
in ``classification_corrections`` for good: ``classify-train`` trains on the corrected texts
(a correction outweighs a written example of the same text) and ``classify-eval
--corrections`` reports how often people had to correct the model, by department and week.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialops import storage
from socialops.classification.classifier import Classification
from socialops.classification.data import Department, Example
from socialops.classification.rules import DEPARTMENTS
from socialops.classification.store import save_classifications

CORRECTION_MODEL = "correction"
CORRECTION_WEIGHT = 3.0  # a person's correction against one written example
Source = Literal["correct", "assign"]


class CorrectionError(Exception):
    """A correction that cannot be stored; the message says why."""


@dataclass(frozen=True)
class Corrected:
    """What a correction changed."""

    correction_id: int
    mention_id: int
    from_department: str | None
    from_urgent: bool | None
    department: str
    urgent: bool


def _refuse_no_change(
    mention_id: int, current: storage.ClassificationRow | None, department: str, urgent: bool
) -> None:
    if current is not None and current.department == department and urgent == current.urgent:
        state = f"{department}{', urgent' if current.urgent else ', not urgent'}"
        raise CorrectionError(f"mention {mention_id} is already {state}: nothing to correct")


def _audit(session: Session, row: storage.CorrectionRow) -> None:
    storage.audit(
        session=session,
        actor=row.corrected_by,
        action="classification_corrected",
        subject_type="mention",
        subject_id=str(row.mention_id),
        details={
            "correction_id": row.id,
            "from": row.from_department,
            "to": row.department,
            "from_urgent": row.from_urgent,
            "urgent": row.urgent,
            "source": row.source,
        },
    )


def record_correction(
    *,
    session: Session,
    mention_id: int,
    department: str,
    urgent: bool | None,
    by: str,
    source: Source,
    now: datetime,
) -> Corrected:
    """Store the correction (audited) and make it the mention's current classification."""
    if department not in DEPARTMENTS:
        raise CorrectionError(
            f"unknown department {department!r}; expected one of {', '.join(DEPARTMENTS)}"
        )
    if session.get(storage.MentionRow, mention_id) is None:
        raise CorrectionError(f"no mention with id {mention_id}")
    c = storage.ClassificationRow
    current = session.execute(
        select(c).where(c.mention_id == mention_id, c.is_current.is_(True))
    ).scalar_one_or_none()
    new_urgent = urgent if urgent is not None else bool(current and current.urgent)
    _refuse_no_change(mention_id, current, department, new_urgent)
    row = storage.CorrectionRow(
        mention_id=mention_id,
        classification_id=current.id if current else None,
        from_department=current.department if current else None,
        from_urgent=current.urgent if current else None,
        model_version=current.model_version if current else None,
        department=department,
        urgent=urgent,
        corrected_by=by,
        source=source,
        corrected_at=now.astimezone(UTC),
    )
    session.add(row)
    session.flush()
    _audit(session, row)
    summary = f"corrected by {by}" + (f" (was {row.from_department})" if current else "")
    decision = Classification(
        department=department,
        confidence=1.0,
        urgent=new_urgent,
        sentiment=current.sentiment if current else "neutral",
        explanation={"source": "correction", "correction_id": row.id, "summary": summary},
        model_version=CORRECTION_MODEL,
    )
    save_classifications(session=session, decisions=[(mention_id, decision)])
    return Corrected(
        row.id, mention_id, row.from_department, row.from_urgent, department, new_urgent
    )


def department_for_person(person_departments: Iterable[str], current: str | None) -> str | None:
    """The department a manual assignment corrects to: the person's one classifier
    department, when the mention's current one is not theirs (None: no correction)."""
    theirs = [d for d in person_departments if d in DEPARTMENTS]
    if current in theirs or len(theirs) != 1:
        return None
    return theirs[0]


def correct_from_assignment(
    *,
    session: Session,
    mention_id: int,
    person_departments: Iterable[str],
    by: str,
    now: datetime,
) -> Corrected | None:
    """A person gave the mention by hand to someone of another department: that is a
    correction too (when the person has a single classifier department)."""
    c = storage.ClassificationRow
    current = session.execute(
        select(c.department).where(c.mention_id == mention_id, c.is_current.is_(True))
    ).scalar_one_or_none()
    department = department_for_person(person_departments, current)
    if department is None:
        return None
    return record_correction(
        session=session,
        mention_id=mention_id,
        department=department,
        urgent=None,
        by=by,
        source="assign",
        now=now,
    )


def training_examples(*, session: Session) -> list[tuple[Example, datetime]]:
    """The newest correction of each mention as a training example, with its date.

    Urgency not given in the correction is the one the mention had when corrected."""
    k, m, c = storage.CorrectionRow, storage.MentionRow, storage.ClassificationRow
    newest = select(k.mention_id, func.max(k.id).label("id")).group_by(k.mention_id).subquery()
    rows = session.execute(
        select(k, m.text, m.platform, m.lang, c.sentiment)
        .join(newest, newest.c.id == k.id)
        .join(m, m.id == k.mention_id)
        .outerjoin(c, c.id == k.classification_id)
        .order_by(k.id)
    ).all()
    out = []
    for correction, text, platform, lang, sentiment in rows:
        urgent = correction.urgent if correction.urgent is not None else correction.from_urgent
        example = Example(
            id=f"corr-{correction.id}",
            text=text,
            department=cast(Department, correction.department),
            urgent=bool(urgent),
            # Sentiment is not corrected: the model's reading stands (a written example of
            # the same text keeps its own, see with_corrections).
            sentiment=sentiment if sentiment in ("negative", "neutral", "positive") else "neutral",
            platform=platform,
            lang=lang,
        )
        out.append((example, correction.corrected_at))
    return out


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def with_corrections(
    examples: Sequence[Example], corrections: Sequence[tuple[Example, datetime]]
) -> tuple[list[Example], list[float]]:
    """The labelled examples with the corrections added (weighted): a correction replaces a
    written example of the same text, and the sentiment of that example is kept."""
    corrected = {_key(e.text): e for e, _at in corrections}
    kept, weights = [], []
    sentiments: dict[str, str] = {}
    for e in examples:
        key = _key(e.text)
        if key in corrected:
            sentiments.setdefault(key, e.sentiment)
            continue
        kept.append(e)
        weights.append(1.0)
    for key, e in corrected.items():
        sentiment = sentiments.get(key, e.sentiment)
        kept.append(e.model_copy(update={"sentiment": sentiment}))
        weights.append(CORRECTION_WEIGHT)
    return kept, weights


@dataclass
class LiveAccuracy:
    """How often people corrected the classifier: per department and per ISO week."""

    classified: int
    corrected: int
    by_department: dict[str, tuple[int, int]] = field(default_factory=dict)  # classified, fixed
    by_week: dict[str, tuple[int, int]] = field(default_factory=dict)  # "2026-W49" -> same
    moved: dict[str, int] = field(default_factory=dict)  # "legal -> hr" -> corrections

    @property
    def accuracy(self) -> float:
        return 1 - self.corrected / self.classified if self.classified else 0.0


def _week(at: datetime) -> str:
    year, week, _ = at.isocalendar()
    return f"{year}-W{week:02d}"


def live_accuracy(*, session: Session, since: date | None = None) -> LiveAccuracy:
    """Among mentions the model classified (first decision since ``since``), the share a
    person corrected; a mention counts once, under the model's department and week."""
    c, k = storage.ClassificationRow, storage.CorrectionRow
    first = (
        select(c.mention_id, func.min(c.id).label("id"))
        .where(c.model_version != CORRECTION_MODEL)
        .group_by(c.mention_id)
        .subquery()
    )
    stmt = select(c.mention_id, c.department, c.classified_at).join(first, first.c.id == c.id)
    if since is not None:
        start = datetime(since.year, since.month, since.day, tzinfo=UTC)
        stmt = stmt.where(c.classified_at >= start)
    decisions = session.execute(stmt).all()
    corrections: dict[int, tuple[str | None, str]] = {}
    for mention_id, from_department, department in session.execute(
        select(k.mention_id, k.from_department, k.department).order_by(k.id)
    ).all():
        corrections.setdefault(mention_id, (from_department, department))
    result = LiveAccuracy(classified=len(decisions), corrected=0)
    departments: Counter[str] = Counter()
    fixed: Counter[str] = Counter()
    weeks: Counter[str] = Counter()
    weeks_fixed: Counter[str] = Counter()
    moved: Counter[str] = Counter()
    for mention_id, department, at in decisions:
        week = _week(at)
        departments[department] += 1
        weeks[week] += 1
        if mention_id in corrections:
            was, now = corrections[mention_id]
            if was == now:
                continue  # only urgency was corrected: the department stood
            result.corrected += 1
            fixed[department] += 1
            weeks_fixed[week] += 1
            moved[f"{department} -> {now}"] += 1
    result.by_department = {d: (departments[d], fixed[d]) for d in sorted(departments)}
    result.by_week = {w: (weeks[w], weeks_fixed[w]) for w in sorted(weeks)}
    result.moved = dict(moved.most_common())
    return result
