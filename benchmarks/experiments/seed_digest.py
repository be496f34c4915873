"""A digest of every table a seed writes (and the roll-ups it derives), row by row in primary
key order: the seed's output before and after a change to how it writes, compared.

    .venv/bin/python benchmarks/experiments/seed_digest.py [--mentions 30000] [--twice]
                                                           [--file PATH] [--postgres URL]

Seeds N mentions into a fresh migrated SQLite file (``--twice``: then N/3 more, the second seed
adding to the first) and prints one SHA-256 per table over its rows ordered by primary key
(values as the driver returns them), and a digest of those digests.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from sqlalchemy import inspect  # noqa: E402

from socialops.config import load_config  # noqa: E402
from socialops.db import dispose_engines, get_engine, migrate  # noqa: E402
from socialops.report.seed import seed_week  # noqa: E402
from socialops.report.week import IsoWeek  # noqa: E402
from socialops.rota.schedule import engine_for  # noqa: E402

TABLES = (
    "mentions",
    "report_facts",
    "classifications",
    "assignments",
    "notifications",
    "escalation_steps",
    "drafts",
    "draft_approvals",
    "audit_log",
    "report_volume_hours",
    "report_response_hours",
    "report_person_hours",
    "report_queue_facts",
    "report_signoff_facts",
)
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def digest(url: str) -> dict[str, str]:
    engine = get_engine(url)
    inspector = inspect(engine)
    out = {}
    with engine.connect() as conn:
        for table in TABLES:
            key = inspector.get_pk_constraint(table)["constrained_columns"]
            h = hashlib.sha256()
            rows = conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY {', '.join(key)}")
            count = 0
            for row in rows:
                h.update(repr(tuple(row)).encode())
                count += 1
            out[table] = f"{count:>9,} {h.hexdigest()[:16]}"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mentions", type=int, default=30_000)
    parser.add_argument("--twice", action="store_true")
    parser.add_argument("--file")
    parser.add_argument("--postgres")
    args = parser.parse_args()
    url = args.postgres or f"sqlite:///{args.file or Path(tempfile.mkdtemp()) / 'digest.db'}"
    org = load_config(REPO / "config" / "northwind.yaml")
    week = IsoWeek.parse("2026-W47", org.organisation.timezone)
    migrate(url)
    sizes = [args.mentions, args.mentions // 3] if args.twice else [args.mentions]
    for n in sizes:
        seed_week(
            engine=get_engine(url), org=org, week=week, mentions=n, rota=engine_for(org), now=NOW
        )
    tables = digest(url)
    for table, line in tables.items():
        print(f"{table:<24} {line}")
    total = hashlib.sha256("".join(tables.values()).encode()).hexdigest()[:16]
    print(f"{'all':<24} {total}")
    dispose_engines()


if __name__ == "__main__":
    main()
