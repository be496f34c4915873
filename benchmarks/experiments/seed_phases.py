"""Where a SQLite seed's time goes: each statement the loader runs, timed (wall and CPU).

    .venv/bin/python benchmarks/experiments/seed_phases.py [--mentions 200000] [--threads N]

Seeds N mentions into a fresh migrated SQLite file, the seed's driver connection wrapped so
that every ``execute``/``executemany`` is timed; prints the totals per kind of statement
(inserts per table, index builds, roll-ups, commit) and the costliest single statements.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from socialops.config import load_config  # noqa: E402
from socialops.db import dispose_engines, get_engine, migrate  # noqa: E402
from socialops.report import seed_load  # noqa: E402
from socialops.report.seed import seed_week  # noqa: E402
from socialops.report.week import IsoWeek  # noqa: E402
from socialops.rota.schedule import engine_for  # noqa: E402

SYS: dict[str, float] = defaultdict(float)
TIMES: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])


def kind(sql: str) -> str:
    s = " ".join(sql.split())
    if m := re.match(r"INSERT INTO (\w+) \(\w+, \w+, \w+, \w+, n\)", s):
        return f"rollup {m.group(1)}"
    if m := re.match(r"INSERT INTO (report_\w+) \(", s):
        return f"rollup {m.group(1)}"
    if m := re.match(r"INSERT INTO (\w+) \(", s):
        return f"insert {m.group(1)}"
    if m := re.match(r"CREATE (UNIQUE )?INDEX (\w+)", s):
        return f"index {m.group(2)}"
    if s.startswith("CREATE TRIGGER"):
        return "triggers"
    if m := re.match(r"INSERT INTO main\.(\w+)", s):
        return f"copy {m.group(1)}"
    if m := re.match(r"INSERT INTO (\w+)", s):
        return f"rollup {m.group(1)}"
    return s[:40]


class Timed:
    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "_raw":
            object.__setattr__(self, name, value)
        else:
            setattr(self._raw, name, value)

    def _timed(self, how: str, sql: str, *args: Any) -> Any:
        if sql == "COMMIT":
            mode = self._raw.execute("PRAGMA journal_mode").fetchone()[0]
            print(f"  journal mode at the commit: {mode}")
        w, c = time.perf_counter(), time.process_time()
        sys0 = resource.getrusage(resource.RUSAGE_SELF).ru_stime
        out = getattr(self._raw, how)(sql, *args)
        SYS[kind(sql).split(" ")[0]] += resource.getrusage(resource.RUSAGE_SELF).ru_stime - sys0
        t = TIMES[kind(sql)]
        t[0] += time.perf_counter() - w
        t[1] += time.process_time() - c
        t[2] += 1
        return out

    def execute(self, sql: str, *args: Any) -> Any:
        return self._timed("execute", sql, *args)

    def executemany(self, sql: str, *args: Any) -> Any:
        return self._timed("executemany", sql, *args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mentions", type=int, default=200_000)
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp()) / "phases.db"
    url = f"sqlite:///{path}"
    org = load_config(REPO / "config" / "northwind.yaml")
    week = IsoWeek.parse("2026-W47", org.organisation.timezone)
    migrate(url)
    enter = seed_load.Loader.__enter__

    def timed_enter(self: Any) -> Any:
        out = enter(self)
        if self.dialect == "sqlite":
            self.raw = Timed(self.raw)
        return out

    seed_load.Loader.__enter__ = timed_enter  # type: ignore[method-assign]
    cpu = time.process_time()
    result = seed_week(
        engine=get_engine(url),
        org=org,
        week=week,
        mentions=args.mentions,
        rota=engine_for(org),
        now=datetime(2026, 12, 1, tzinfo=UTC),
    )
    cpu = time.process_time() - cpu
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"  workers: {children.ru_utime + children.ru_stime:.2f} CPU-s")
    print(
        f"{result.rows:,} rows in {result.seconds:.1f} s wall = {result.rows_per_second:,.0f}"
        f" rows/s; {cpu:.1f} CPU-s = {result.rows / cpu:,.0f} rows/CPU-s;"
        f" load {os.getloadavg()[0]:.1f}"
    )
    groups: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for k, (w, c, _) in TIMES.items():
        g = groups[k.split(" ")[0]]
        g[0] += w
        g[1] += c
    for k, (w, c) in sorted(groups.items(), key=lambda x: -x[1][1]):
        print(f"  {k:<40} {w:7.2f} s wall {c:7.2f} s CPU ({SYS[k]:.2f} s system)")
    for k, (w, c, n) in sorted(TIMES.items(), key=lambda x: -x[1][1])[:40]:
        print(f"    {k:<50} {w:7.2f} {c:7.2f} x{n}")
    dispose_engines()


if __name__ == "__main__":
    main()
