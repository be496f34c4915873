"""Seed benchmark: ``socialops seed`` into a fresh database, in rows per second.

    .venv/bin/python benchmarks/seed.py [--mentions 1000000] [--file PATH] [--postgres URL]
                                        [--profile]

Seeds N mentions in one ISO week (the Northwind organisation and its rota) into a fresh SQLite
file (migrated first; the migration is not timed), and prints the rows written (mentions,
classifications, assignments, escalation steps, notifications, drafts, approvals, report facts;
the roll-up and queue-facts rows the database derives are printed but not counted), the rate
in rows per wall-clock second, in rows per CPU-second of this process and the seed's worker
process (SQLite runs inside them: on a shared machine the steadier figure), and the load
average. With ``--postgres URL`` (or
SOCIALOPS_TEST_POSTGRES_URL and ``--postgres env``) the same into a fresh PostgreSQL database,
dropped afterwards (the server's CPU is not in the per-CPU-second figure). ``--profile``
prints the 25 costliest functions. Target: >= 100,000 rows/s.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from socialops.config import load_config  # noqa: E402
from socialops.db import dispose_engines, get_engine, migrate  # noqa: E402
from socialops.report.seed import seed_week  # noqa: E402
from socialops.report.week import IsoWeek  # noqa: E402
from socialops.rota.schedule import engine_for  # noqa: E402

WEEK = "2026-W47"
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _cpu() -> tuple[float, float]:
    """CPU seconds of this process and of its finished children (the seed's worker)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def run(url: str, mentions: int, label: str, profile: bool) -> None:
    org = load_config(REPO / "config" / "northwind.yaml")
    week = IsoWeek.parse(WEEK, org.organisation.timezone)
    rota = engine_for(org)
    migrate(url)
    engine = get_engine(url)
    profiler = cProfile.Profile() if profile else None
    cpu = _cpu()
    if profiler:
        profiler.enable()
    seeded = seed_week(engine=engine, org=org, week=week, mentions=mentions, rota=rota, now=NOW)
    if profiler:
        profiler.disable()
    own, workers = (after - before for after, before in zip(_cpu(), cpu, strict=True))
    cpu = own + workers
    print(
        f"[{label}] seed: {seeded.rows:,} rows ({seeded.mentions:,} mentions, "
        f"{seeded.classifications:,} classifications, {seeded.assignments:,} assignments, "
        f"{seeded.escalation_steps:,} escalation steps, {seeded.notifications:,} notifications, "
        f"{seeded.drafts:,} drafts, {seeded.approvals:,} approvals, {seeded.facts:,} facts; "
        f"and {seeded.derived:,} roll-up and queue-facts rows, not counted)\n"
        f"[{label}] {seeded.seconds:.1f} s wall = {seeded.rows_per_second:,.0f} rows/s; "
        f"{cpu:.1f} CPU-s ({own:.1f} this process, "
        f"{workers:.1f} its worker) = {seeded.rows / cpu:,.0f} rows per "
        f"CPU-second; "
        f"load average {os.getloadavg()[0]:.1f} (target >= 100,000 rows/s)"
    )
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    dispose_engines()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--file", help="SQLite file to create (replaced if it exists)")
    parser.add_argument("--postgres", help="a PostgreSQL server URL, or 'env'")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if not args.no_sqlite:
        path = Path(args.file or Path(tempfile.mkdtemp()) / "seed.db")
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        run(f"sqlite:///{path}", args.mentions, "sqlite", args.profile)
    server = args.postgres
    if server == "env":
        server = os.environ.get("SOCIALOPS_TEST_POSTGRES_URL")
    if server:
        name = f"seed_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        try:
            url = make_url(server).set(database=name).render_as_string(hide_password=False)
            run(url, args.mentions, "postgresql", args.profile)
        finally:
            dispose_engines()
            with admin.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            admin.dispose()


if __name__ == "__main__":
    main()
