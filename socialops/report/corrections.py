"""The week's classification corrections: how often people had to correct the classifier's
department on the mentions that arrived in the week (issue 12's live accuracy, as
``socialops classify-eval --corrections`` counts it, for one week). A mention the classifier
never decided on (stored, not yet classified) and then placed by a person is not counted.

A mention counts once, under the department the classifier gave it, when a person's first
correction moved it to another department (a correction of urgency alone leaves the department
standing). Corrections are few (people make them), so they are read row by row through the
mentions' primary key; the week's decisions per department come from the report's volume
figures (current departments), with each corrected mention counted back under the department
the classifier gave it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialops import storage
from socialops.report.week import IsoWeek

UNCLASSIFIED = "unclassified"


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def corrections(
    *, session: Session, week: IsoWeek, by_department: Mapping[str, int]
) -> dict[str, Any]:
    """``by_department``: the week's mentions by current department (the volume figures)."""
    k, m = storage.CorrectionRow, storage.MentionRow
    rows = session.execute(
        select(k.mention_id, k.from_department, k.department)
        .join(m, m.id == k.mention_id)
        .where(m.created_at >= week.start, m.created_at < week.end)
        .order_by(k.id)
    ).all()
    first: dict[int, str] = {}  # the department the classifier gave, before any correction
    first_to: dict[int, str] = {}
    last: dict[int, str] = {}  # where the mention is now
    for mention_id, was, now in rows:
        first.setdefault(mention_id, was or UNCLASSIFIED)
        first_to.setdefault(mention_id, now)
        last[mention_id] = now
    decisions = Counter({d: n for d, n in by_department.items() if d != UNCLASSIFIED})
    corrected: Counter[str] = Counter()
    moved: Counter[str] = Counter()
    for mention_id, was in first.items():
        if last[mention_id] != was:  # counted back under the classifier's department
            decisions[last[mention_id]] -= 1
            if was != UNCLASSIFIED:
                decisions[was] += 1
        if first_to[mention_id] != was and was != UNCLASSIFIED:
            corrected[was] += 1
            moved[f"{was} -> {first_to[mention_id]}"] += 1
    total = sum(n for n in decisions.values() if n > 0)
    return {
        "decisions": total,
        "corrected": sum(corrected.values()),
        "share_corrected": _share(sum(corrected.values()), total),
        "by_department": {
            d: {
                "decisions": max(decisions[d], 0),
                "corrected": corrected[d],
                "share_corrected": _share(corrected[d], max(decisions[d], 0)),
            }
            for d in sorted(set(decisions) | set(corrected))
            if decisions[d] > 0 or corrected[d]
        },
        "moved": dict(sorted(moved.items(), key=lambda x: (-x[1], x[0]))),
    }
