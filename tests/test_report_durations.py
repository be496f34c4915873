"""Percentiles counted while an index is walked (report time in queue) equal nearest-rank
percentiles computed here from the rows themselves, on SQLite and PostgreSQL: with negative
durations (count as 0), NULL ones (left out, or 0), durations counted elsewhere, a group
spread over two UTC weeks, and ranks that fall on a minute's first and last second."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, String, Table, case, func

from socialops.db import get_engine, session_scope
from socialops.report import durations


def _expected(values: Iterable[int]) -> dict[str, int | None]:
    ordered = sorted(max(v, 0) for v in values)
    if not ordered:
        return durations.empty()
    n = len(ordered)
    return {
        "count": n,
        "median_seconds": ordered[math.ceil(n / 2) - 1],
        "p90_seconds": ordered[math.ceil(n * 9 / 10) - 1],
    }


def test_walked_percentiles_are_exact_nearest_rank(database_url: str) -> None:
    meta = MetaData()
    table = Table(
        "scratch_durations",
        meta,
        Column("id", Integer, primary_key=True),
        Column("week", Integer, nullable=False),
        Column("grp", String(8), nullable=False),
        Column("seconds", BigInteger),
        Index("ix_scratch_durations", "week", "grp", "seconds"),
    )
    engine = get_engine(database_url)
    meta.drop_all(engine)
    meta.create_all(engine)
    rng = random.Random(17)
    choices: list[int | None] = [None, -90, -1, 0, 59, 60, 61, 119, 120, 3599, 3600, 86399]
    rows = [
        {
            "week": rng.choice((1, 2, 3)),  # week 3 is outside the spans asked for
            "grp": rng.choice(("a", "b", "c")),
            "seconds": rng.choice(choices) if rng.random() < 0.3 else rng.randrange(0, 7200),
        }
        for _ in range(3000)
    ]
    rows += [{"week": 1, "grp": "d", "seconds": s} for s in (None, None, -5)]  # all at 0
    extra = {"b": {5: 2, 4000: 3}, "e": {70: 1}}
    try:
        with engine.begin() as conn:
            conn.execute(table.insert(), rows)
        spans = [table.c.week == 1, table.c.week == 2]
        seen = [r for r in rows if r["week"] in (1, 2)]
        with session_scope(database_url) as session:
            for nulls_as_zero in (False, True):
                found, tallies = durations.walked_percentiles(
                    session,
                    group=table.c.grp,
                    seconds=table.c.seconds,
                    spans=spans,
                    nulls_as_zero=nulls_as_zero,
                    extra=extra,
                    tallies={"rows": case((table.c.id > 0, 1), else_=0), "n": func.abs(1)},
                )
                values: dict[str, list[int]] = {g: [] for g in "abcde"}
                for r in seen:
                    if r["seconds"] is not None or nulls_as_zero:
                        values[r["grp"]].append(r["seconds"] or 0)
                for grp, hist in extra.items():
                    for s, k in hist.items():
                        values[grp] += [s] * k
                expected = {g: _expected(v) for g, v in values.items() if v}
                expected[durations.ALL] = _expected(v for vs in values.values() for v in vs)
                assert found == expected, nulls_as_zero
                per_group = {g: sum(1 for r in seen if r["grp"] == g) for g in "abcd"}
                assert tallies == {g: {"rows": k, "n": k} for g, k in per_group.items()}
    finally:
        meta.drop_all(engine)
