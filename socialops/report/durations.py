"""Exact nearest-rank percentiles of durations counted by the database, per group.

The same two-step method as the response times (:mod:`socialops.report.queries`): the
database counts the durations per group and whole minute; Python finds the minute each
percentile's rank falls in; a second query counts the exact seconds inside only those
minutes. Both results are bounded (groups x minutes, then at most 60 values per minute looked
into); no row comes to Python. :func:`walked_percentiles` counts while it walks an index
already in ``(group, seconds)`` order (SQLite has no hash aggregate: any other ``GROUP BY``
sorts every row it counts), and looks into each minute through one range of that index.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    and_,
    case,
    cast,
    func,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

BUCKET_SECONDS = 60
PERCENTILES = (("median", 1, 2), ("p90", 9, 10))  # nearest rank: ceil(n * num / den)
ALL = "all"


def seconds_between(dialect: str, later: Any, earlier: Any) -> ColumnElement[Any]:
    """Whole seconds from ``earlier`` to ``later`` (rounded), as an integer."""
    if dialect == "sqlite":  # timestamps are ISO text there; julianday reads them
        diff = (func.julianday(later) - func.julianday(earlier)) * 86400.0
        return cast(func.round(diff), Integer)
    return cast(func.round(func.extract("epoch", later - earlier)), BigInteger)


def empty() -> dict[str, int | None]:
    return {"count": 0, "median_seconds": None, "p90_seconds": None}


def bucket_of_rank(hist: Mapping[int, int], rank: int) -> tuple[int, int]:
    """The bucket holding the ``rank``-th smallest value (1-based), and its rank inside it."""
    seen = 0
    for bucket in sorted(hist):
        if seen + hist[bucket] >= rank:
            return bucket, rank - seen
        seen += hist[bucket]
    raise ValueError("rank beyond the histogram")


def merge_histograms(parts: Iterable[Mapping[int, int]]) -> dict[int, int]:
    out: dict[int, int] = defaultdict(int)
    for part in parts:
        for key, value in part.items():
            out[key] += value
    return dict(out)


def from_histograms(hists: Mapping[str, Mapping[int, int]]) -> dict[str, dict[str, int | None]]:
    """Count, median and p90 per group, and over all of them under ``"all"``, from exact
    histograms of whole seconds already counted by the database (negative durations count
    as 0, as in :func:`percentiles`)."""
    groups: dict[str | None, dict[int, int]] = {
        grp: merge_histograms([{max(s, 0): k for s, k in h.items()}]) for grp, h in hists.items()
    }
    groups[None] = merge_histograms(groups.values())
    out: dict[str, dict[str, int | None]] = {}
    for grp, h in groups.items():
        result = empty()
        count = sum(h.values())
        result["count"] = count
        if count:
            for label, num, den in PERCENTILES:
                result[f"{label}_seconds"] = bucket_of_rank(h, -(-count * num // den))[0]
        out[ALL if grp is None else grp] = result
    return out


def _bucket(seconds: Any, nulls_as_zero: bool) -> ColumnElement[Any]:
    """The whole minute of a duration (negative ones count as 0; NULL ones too if asked,
    else they have none)."""
    return case(
        (seconds.is_(None), 0 if nulls_as_zero else None),
        (seconds < 0, 0),
        else_=seconds // BUCKET_SECONDS,
    )


def _minute_range(seconds: Any, minute: int, nulls_as_zero: bool) -> ColumnElement[bool]:
    hi = seconds < (minute + 1) * BUCKET_SECONDS
    if minute:
        return and_(seconds >= minute * BUCKET_SECONDS, hi)
    return or_(seconds.is_(None), hi) if nulls_as_zero else hi  # negatives count as 0


def walked_percentiles(
    session: Session,
    *,
    group: Any,
    seconds: Any,
    spans: Iterable[ColumnElement[bool]],
    nulls_as_zero: bool = False,
    extra: Mapping[str, Mapping[int, int]] | None = None,
    tallies: Mapping[str, ColumnElement[Any]] | None = None,
) -> tuple[dict[str, dict[str, int | None]], dict[str, dict[str, int]]]:
    """:func:`percentiles` for rows an index holds in ``(..., group, seconds)`` order after
    an equality prefix: each of ``spans`` (a ``WHERE``, one such prefix each) is counted per
    group and second while the index is walked (no sort of the rows), then per minute; only
    the minutes a percentile falls in are looked into again, each one index range. ``extra``
    adds durations counted elsewhere (exact seconds per group). Rows whose ``seconds`` is NULL
    are left out, or count as 0 with ``nulls_as_zero``. ``tallies`` (name: a 0/1 expression
    over a row, NULL ones included) are summed per group in the same walk; returns the
    percentiles and those sums."""
    hist: dict[str, dict[int, int]] = defaultdict(dict)
    exact_extra: dict[str, dict[int, int]] = defaultdict(dict)
    for grp, h in (extra or {}).items():
        for s, k in h.items():
            _bump(hist[grp], max(s, 0) // BUCKET_SECONDS, k)
            _bump(exact_extra[grp], max(s, 0), k)
    spans = list(spans)
    names = list(tallies or {})
    sums: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(names, 0))
    for where in spans:
        inner = select(
            group.label("g"),
            seconds.label("s"),
            func.count().label("k"),
            *(func.sum(expr).label(f"t{i}") for i, expr in enumerate((tallies or {}).values())),
        )
        sub = inner.where(where).group_by(group, seconds).subquery()
        per_minute = _bucket(sub.c.s, nulls_as_zero)
        outer = select(
            sub.c.g,
            per_minute,
            func.sum(sub.c.k),
            *(func.sum(sub.c[f"t{i}"]) for i in range(len(names))),
        ).group_by(sub.c.g, per_minute)
        for grp, b, k, *tallied in session.execute(outer):
            if b is not None:
                _bump(hist[str(grp)], int(b), int(k))
            mine = sums[str(grp)]
            for name, value in zip(names, tallied, strict=True):
                mine[name] += int(value or 0)
    groups: dict[str | None, dict[int, int]] = dict(hist.items())
    groups[None] = merge_histograms(hist.values())
    targets = {grp: _targets(h) for grp, h in groups.items()}
    # The minutes to look into: one index range each (all groups: each group's range).
    wanted = sorted(
        {
            (one, minute)
            for grp, found in targets.items()
            for minute, _ in found.values()
            for one in ([grp] if grp is not None else hist)
        }
    )
    exact: dict[str, dict[int, int]] = defaultdict(dict)
    for grp, h in exact_extra.items():
        exact[grp].update(h)
    for where in spans:
        parts = [
            select(group.label("g"), seconds.label("s"), func.count().label("k"))
            .where(where, group == grp, _minute_range(seconds, minute, nulls_as_zero))
            .group_by(group, seconds)
            for grp, minute in wanted
        ]
        if not parts:
            continue
        for name, secs, k in session.execute(union_all(*parts)):
            _bump(exact[str(name)], max(int(secs or 0), 0), int(k))
    out: dict[str, dict[str, int | None]] = {}
    for key, h in groups.items():
        merged = merge_histograms(exact.values()) if key is None else exact.get(key, {})
        result = empty()
        result["count"] = sum(h.values())
        for label, (minute, inside) in targets[key].items():
            lo, hi = minute * BUCKET_SECONDS, (minute + 1) * BUCKET_SECONDS
            in_minute = {v: k for v, k in merged.items() if lo <= v < hi}
            result[f"{label}_seconds"] = bucket_of_rank(in_minute, inside)[0]
        out[ALL if key is None else key] = result
    return out, dict(sums)


def _bump(counts: dict[int, int], key: int, k: int) -> None:
    counts[key] = counts.get(key, 0) + k


def _targets(hist: Mapping[int, int]) -> dict[str, tuple[int, int]]:
    """Per percentile: the minute its rank falls in, and the rank inside that minute."""
    count = sum(hist.values())
    if not count:
        return {}
    return {label: bucket_of_rank(hist, -(-count * num // den)) for label, num, den in PERCENTILES}
