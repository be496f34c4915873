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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class _Walk:
    """What :func:`walked_percentiles` walks: ``group`` and ``seconds`` in index order within
    each of ``spans``."""

    group: Any
    seconds: Any
    spans: list[ColumnElement[bool]]
    nulls_as_zero: bool


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
    """Count, median and p90 (whole seconds) per group and over all of them (``"all"``), for
    rows an index holds in ``(..., group, seconds)`` order after an equality prefix: each of
    ``spans`` (a ``WHERE``, one such prefix each) is counted per group and second while the
    index is walked (no sort of the rows), then per minute; only the minutes a percentile
    falls in are looked into again, each one index range. ``extra`` adds durations counted
    elsewhere (exact seconds per group). A negative duration counts as 0; rows whose
    ``seconds`` is NULL are left out, or count as 0 with ``nulls_as_zero``. ``tallies``
    (name: a 0/1 expression over a row, NULL ones included) are summed per group in the same
    walk; returns the percentiles and those sums."""
    walk = _Walk(group, seconds, list(spans), nulls_as_zero)
    hist: dict[str, dict[int, int]] = defaultdict(dict)
    exact: dict[str, dict[int, int]] = defaultdict(dict)
    for grp, h in (extra or {}).items():
        for s, k in h.items():
            _bump(hist[grp], max(s, 0) // BUCKET_SECONDS, k)
            _bump(exact[grp], max(s, 0), k)
    sums = _walk_minutes(session, walk, tallies or {}, hist)
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
    _look_into(session, walk, wanted, exact)
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
    return out, sums


def _walk_minutes(
    session: Session,
    walk: _Walk,
    tallies: Mapping[str, ColumnElement[Any]],
    hist: dict[str, dict[int, int]],
) -> dict[str, dict[str, int]]:
    """Add each group's durations per minute to ``hist``; return its ``tallies``' sums."""
    names = list(tallies)
    sums: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(names, 0))
    for where in walk.spans:
        inner = select(
            walk.group.label("g"),
            walk.seconds.label("s"),
            func.count().label("k"),
            *(func.sum(expr).label(f"t{i}") for i, expr in enumerate(tallies.values())),
        )
        sub = inner.where(where).group_by(walk.group, walk.seconds).subquery()
        per_minute = _bucket(sub.c.s, walk.nulls_as_zero)
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
    return dict(sums)


def _look_into(
    session: Session,
    walk: _Walk,
    wanted: list[tuple[str, int]],
    exact: dict[str, dict[int, int]],
) -> None:
    """Add to ``exact`` the durations (whole seconds) of each wanted group and minute."""
    if not wanted:
        return
    for where in walk.spans:
        parts = [
            select(walk.group.label("g"), walk.seconds.label("s"), func.count().label("k"))
            .where(
                where,
                walk.group == grp,
                _minute_range(walk.seconds, minute, walk.nulls_as_zero),
            )
            .group_by(walk.group, walk.seconds)
            for grp, minute in wanted
        ]
        for name, secs, k in session.execute(union_all(*parts)):
            _bump(exact[str(name)], max(int(secs or 0), 0), int(k))


def _bump(counts: dict[int, int], key: int, k: int) -> None:
    counts[key] = counts.get(key, 0) + k


def _targets(hist: Mapping[int, int]) -> dict[str, tuple[int, int]]:
    """Per percentile: the minute its rank falls in, and the rank inside that minute."""
    count = sum(hist.values())
    if not count:
        return {}
    return {label: bucket_of_rank(hist, -(-count * num // den)) for label, num, den in PERCENTILES}
