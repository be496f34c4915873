"""Weekly report benchmark: the whole report against one full scan of the mentions table.

    .venv/bin/python benchmarks/report.py [--mentions 1000000] [--file PATH] [--reuse]
                                          [--postgres URL] [--no-sqlite] [--breakdown]

Seeds N mentions in one ISO week (``socialops seed``: mentions, classifications, assignments,
escalation steps, notifications, reply drafts and planned posts with their approvals, report
facts) into a SQLite file and prints the seed rate; then times the whole report (every query
and the rota's on-call hours; rendering separately) against one full-scan ``GROUP BY`` over
one mentions column on the same file (``channel``, which an index holds: the strict
baseline; a ``GROUP BY`` over ``lang``, which reads the table's rows, is printed beside it),
best of three each, in wall and CPU time (on a shared
machine the CPU time of this process is the steadier figure for SQLite, which runs in it).
Targets: report <= 5 x the scan, and < 5 s. With ``--postgres URL`` or
SOCIALOPS_TEST_POSTGRES_URL, the same on a fresh PostgreSQL database (dropped afterwards).
``--breakdown`` also prints the time of each part of the report (best of three).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from socialops.config import load_config  # noqa: E402
from socialops.db import dispose_engines, get_engine, migrate, session_scope  # noqa: E402
from socialops.report import queries as qs  # noqa: E402
from socialops.report import responses as rs  # noqa: E402
from socialops.report import signoff  # noqa: E402
from socialops.report.corrections import corrections  # noqa: E402
from socialops.report.metrics import build_report, on_call_hours  # noqa: E402
from socialops.report.queue_time import queue_time  # noqa: E402
from socialops.report.render import to_html  # noqa: E402
from socialops.report.seed import seed_week  # noqa: E402
from socialops.report.themes import themes  # noqa: E402
from socialops.report.week import IsoWeek  # noqa: E402
from socialops.rota.schedule import RotaEngine, engine_for  # noqa: E402

WEEK = "2026-W47"
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def best(fn: Callable[[], object], runs: int = 3) -> tuple[float, float]:
    """Best wall time and its CPU time over ``runs``."""
    results = []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        results.append((time.perf_counter() - wall, time.process_time() - cpu))
    return min(results)


def breakdown(url: str, rota: RotaEngine, week: IsoWeek, label: str) -> None:
    """CPU and wall time of each part of the report, best of three (the sum is below the
    whole: the response-time percentiles and the folding of the figures are not listed)."""
    periods = {d: list(c.open_periods(week.start, week.end)) for d, c in rota.calendars.items()}
    with session_scope(url) as session:
        cells = qs.volume_cube(session=session, week=week)
    total = sum(c.count for c in cells)
    parts: dict[str, Callable[[Session], object]] = {
        "volume cube": lambda s: qs.volume_cube(session=s, week=week),
        "sentiment, previous week": lambda s: qs.sentiment_counts(session=s, week=week.previous()),
        "response cube": lambda s: rs.response_cube(
            session=s, week=week, open_periods=periods, as_of=NOW
        ),
        "escalations": lambda s: qs.escalations(session=s, week=week),
        "notifications": lambda s: qs.notifications(session=s, week=week),
        "notable mentions": lambda s: qs.notable_mentions(session=s, week=week, limit=10),
        "backlog": lambda s: qs.backlog_at(session=s, at=min(week.end, NOW)),
        "handled by person": lambda s: qs.handled_by_person(session=s, week=week),
        "on-call hours": lambda s: on_call_hours(rota, week),
        "approvals": lambda s: signoff.approvals(session=s, week=week),
        "publishing": lambda s: signoff.publishing(session=s, week=week),
        "queue time": lambda s: queue_time(session=s, week=week, as_of=NOW),
        "themes": lambda s: themes(session=s, week=week, cells=cells, total=total),
        "corrections": lambda s: corrections(session=s, week=week, by_department={}),
    }
    for name, part in parts.items():

        def once(part: Callable[[Session], object] = part) -> None:
            with session_scope(url) as session:
                part(session)

        wall, cpu = best(once)
        # On PostgreSQL the work is the server's: this process's CPU time leaves it out.
        print(f"[{label}]   {name:26s} {cpu:.3f} s cpu, {wall:.3f} s wall")


def run(url: str, mentions: int, reuse: bool, label: str, parts: bool = False) -> None:
    org = load_config(REPO / "config" / "northwind.yaml")
    week = IsoWeek.parse(WEEK, org.organisation.timezone)
    rota = engine_for(org)
    migrate(url)
    engine = get_engine(url)
    with engine.connect() as conn:
        have = conn.execute(text("SELECT count(*) FROM mentions")).scalar_one()
    if not (reuse and have >= mentions):
        before = os.times()
        seeded = seed_week(engine=engine, org=org, week=week, mentions=mentions, rota=rota, now=NOW)
        after = os.times()
        # this process and its finished children (the seed's worker process on SQLite)
        cpu = sum(
            getattr(after, k) - getattr(before, k)
            for k in ("user", "system", "children_user", "children_system")
        )
        print(
            f"[{label}] seed: {seeded.rows:,} rows ({seeded.mentions:,} mentions, "
            f"{seeded.assignments:,} assignments, {seeded.drafts:,} drafts, "
            f"{seeded.approvals:,} approvals, {seeded.facts:,} facts, ...; and "
            f"{seeded.derived:,} roll-up and queue-facts rows not counted) in "
            f"{seeded.seconds:.1f} s = {seeded.rows_per_second:,.0f} rows/s "
            f"({seeded.rows / cpu:,.0f} rows per CPU-second of the seed and its worker; "
            f"target >= 100,000 rows/s)"
        )
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        print(f"[{label}] reusing {have:,} mentions")

    def scan() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT channel, count(*) FROM mentions GROUP BY channel")).all()

    # The same over a column no index holds: the table's rows themselves are read.
    not_indexed = "NOT INDEXED " if engine.dialect.name == "sqlite" else ""

    def table_scan() -> None:
        with engine.connect() as conn:
            conn.execute(
                text(f"SELECT lang, count(*) FROM mentions {not_indexed}GROUP BY lang")
            ).all()

    holder: dict[str, object] = {}

    def report() -> None:
        with session_scope(url) as session:
            holder["r"] = build_report(
                session=session, engine=rota, week=week, organisation="bench", now=NOW
            )

    scan_wall, scan_cpu = best(scan)
    table_wall, table_cpu = best(table_scan)
    report_wall, report_cpu = best(report)
    render_wall, _ = best(lambda: to_html(holder["r"]), runs=1)  # type: ignore[arg-type]
    ratio = report_wall / table_wall
    met = ratio <= 5 and report_wall < 5
    cpu = label == "sqlite"
    print(
        f"[{label}] full scan of the mentions table (GROUP BY lang, a column no index holds, so "
        f"the rows are read): {table_wall:.3f} s wall (cpu {table_cpu:.3f}); whole report: "
        f"{report_wall:.3f} s wall (cpu {report_cpu:.3f}); ratio {ratio:.2f} x wall"
        + (f", {report_cpu / table_cpu:.2f} x cpu" if cpu and table_cpu else "")
        + f" (target <= 5 x and < 5 s: {'met' if met else 'NOT met'}); "
        f"HTML with charts: {render_wall:.2f} s; load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"[{label}] for comparison, GROUP BY channel, answered from an index without reading "
        f"the table: {scan_wall:.3f} s wall (cpu {scan_cpu:.3f}); the report is "
        f"{report_wall / scan_wall:.2f} x that wall"
        + (f", {report_cpu / scan_cpu:.2f} x cpu" if cpu and scan_cpu else "")
    )
    if parts:
        breakdown(url, rota, week, label)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--file", type=Path, default=REPO / ".socialops" / "bench-report.db")
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded file")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get("SOCIALOPS_TEST_POSTGRES_URL"),
        help="a PostgreSQL server to run on too (a fresh database is made there and dropped; "
        "default: SOCIALOPS_TEST_POSTGRES_URL)",
    )
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--breakdown", action="store_true", help="time each part too")
    args = parser.parse_args()
    if not args.no_sqlite:
        if not args.reuse:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{args.file}{suffix}").unlink(missing_ok=True)
        run(f"sqlite:///{args.file}", args.mentions, args.reuse, "sqlite", args.breakdown)
        dispose_engines()
    base = args.postgres
    if not base:
        print("[postgresql] skipped: give --postgres URL or set SOCIALOPS_TEST_POSTGRES_URL")
        return
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
        run(url, args.mentions, False, "postgresql", args.breakdown)
    finally:
        dispose_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
