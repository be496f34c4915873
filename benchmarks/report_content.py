"""The weekly report's content sections at scale: sign-off, time in queue, themes and terms.

    .venv/bin/python benchmarks/report_content.py [--mentions 1000000] [--file PATH] [--reuse]

Seeds N mentions in one ISO week (``socialops seed``) into a SQLite file, adds sign-off history
the seed does not write (one draft per 10 mentions with its audit steps: requested, decided
after 1-600 minutes, a third published, a few failed; and a night-queue history on a fifth of
the assignments), then times, best of three, against one full-scan ``GROUP BY`` over one
mentions column: the themes and terms (the bounded sample and the scoring), time in queue,
approvals and publishing. Target: the themes and terms under 0.5 s at 1,000,000 mentions.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import exists, func, insert, select, text, update  # noqa: E402

from socialops import storage  # noqa: E402
from socialops.config import load_config  # noqa: E402
from socialops.db import get_engine, migrate, session_scope  # noqa: E402
from socialops.report import signoff, themes  # noqa: E402
from socialops.report.queue_time import queue_time  # noqa: E402
from socialops.report.seed import seed_week  # noqa: E402
from socialops.report.week import IsoWeek  # noqa: E402
from socialops.rota.schedule import engine_for  # noqa: E402

WEEK = "2026-W47"
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def best(fn: Callable[[], object], runs: int = 3) -> tuple[float, float]:
    """Best wall time and its CPU time over ``runs`` (SQLite runs inside this process)."""
    results = []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        results.append((time.perf_counter() - wall, time.process_time() - cpu))
    return min(results)


def add_signoff_history(url: str, week: IsoWeek, every: int = 10) -> int:
    """One draft per ``every`` mentions of the week, with its audit steps; queue history."""
    rnd = random.Random(7)
    m, a = storage.MentionRow.__table__, storage.AssignmentRow.__table__
    d, au = storage.DraftRow.__table__, storage.AuditRow.__table__
    engine = get_engine(url)
    with engine.begin() as conn:
        rows = conn.execute(
            select(m.c.id, m.c.channel, m.c.created_at, a.c.department)
            .select_from(m.join(a, a.c.mention_id == m.c.id))
            # The seed writes reply drafts itself (one per mention at most): only the others.
            .where((m.c.id % every) == 0, ~exists().where(d.c.mention_id == m.c.id))
        ).all()
        next_id = (conn.execute(select(func.max(d.c.id))).scalar() or 0) + 1
        drafts, audits = [], []
        for i, (mid, channel, created, dept) in enumerate(rows):
            did = next_id + i
            asked = created + timedelta(minutes=2)
            decided = asked + timedelta(minutes=rnd.randint(1, 600))
            roll = rnd.random()
            status = "published" if roll < 0.33 else "failed" if roll < 0.35 else "approved"
            if roll > 0.9:
                status = "rejected"
            drafts.append(
                {
                    "id": did,
                    "kind": "reply",
                    "mention_id": mid,
                    "channel": channel,
                    "platform": "mastodon",
                    "department": dept,
                    "urgent": False,
                    "intent": "question",
                    "lang": "en",
                    "text": "Thanks!",
                    "version": 1,
                    "author": "x",
                    "assignee": "x",
                    "visibility": "public",
                    "status": status,
                    "approvals_required": 1,
                    "idempotency_key": f"bench-{did}",
                    "attempts": 0,
                    "published_at": decided + timedelta(minutes=1)
                    if status == "published"
                    else None,
                    "created_at": asked,
                    "updated_at": decided,
                }
            )
            steps = [(asked, "draft", {"status": "pending"})]
            if status == "rejected":
                steps.append((decided, "reject", {"status": "rejected", "before": "pending"}))
            else:
                steps.append((decided, "approve", {"status": "approved"}))
            if status == "failed":
                steps.append((decided, "publish_failed", {"status": "failed"}))
            audits += [
                {
                    "at": at,
                    "actor": "bench",
                    "action": action,
                    "subject_type": "draft",
                    "subject_id": str(did),
                    "details": {"version": 1, **details},
                }
                for at, action, details in steps
            ]
        conn.execute(insert(d), drafts)
        conn.execute(insert(au), audits)
        # A fifth of the items waited in the night queue for 1-600 minutes.
        conn.execute(
            update(a)
            .where((a.c.mention_id % 5) == 0)
            .values(
                queued_at=a.c.received_at,
                first_assigned_at=a.c.assigned_at,
                queued_seconds=(a.c.mention_id % 36000),
            )
        )
        conn.exec_driver_sql("ANALYZE")
    return len(drafts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--file", type=Path, default=REPO / ".socialops" / "bench-content.db")
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded file")
    args = parser.parse_args()
    org = load_config(REPO / "config" / "northwind.yaml")
    week = IsoWeek.parse(WEEK, org.organisation.timezone)
    args.file.parent.mkdir(parents=True, exist_ok=True)
    if not args.reuse and args.file.exists():
        args.file.unlink()
    url = f"sqlite:///{args.file}"
    migrate(url)
    engine = get_engine(url)
    with engine.connect() as conn:
        have = conn.execute(text("SELECT count(*) FROM mentions")).scalar_one()
    if have < args.mentions:
        seeded = seed_week(
            engine=engine,
            org=org,
            week=week,
            mentions=args.mentions,
            rota=engine_for(org),
            now=NOW,
        )
        print(f"seed: {seeded.mentions:,} mentions in {seeded.seconds:.1f} s")
        drafts = add_signoff_history(url, week)
        print(f"sign-off history: {drafts:,} drafts")
    else:
        print(f"reusing {have:,} mentions")

    def scan() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT channel, count(*) FROM mentions GROUP BY channel")).all()

    with session_scope(url) as session:
        total = session.execute(
            select(func.count()).where(
                storage.MentionRow.created_at >= week.start,
                storage.MentionRow.created_at < week.end,
            )
        ).scalar_one()
        found: dict[str, object] = {}

        def sampled() -> None:
            found["sample"] = themes.sample(session=session, week=week, total=total)

        def terms() -> None:
            found["themes"] = themes.themes(
                session=session, week=week, cells=[], total=total, organisation="Northwind"
            )

        def queue() -> None:
            found["queue"] = queue_time(session=session, week=week, as_of=NOW)

        def approvals() -> None:
            found["approvals"] = signoff.approvals(session=session, week=week)

        def publishing() -> None:
            found["publishing"] = signoff.publishing(session=session, week=week)

        timings = {
            "full scan (GROUP BY channel)": best(scan),
            "terms: the sample alone": best(sampled),
            "themes and terms (sample + scoring)": best(terms),
            "time in queue": best(queue),
            "approvals": best(approvals),
            "publishing": best(publishing),
        }
    print(f"mentions in the week: {total:,}; load average {os.getloadavg()[0]:.1f}")
    for name, (wall, cpu) in timings.items():
        print(f"{name:40s} {wall:6.3f} s wall  {cpu:6.3f} s cpu")
    th = found["themes"]
    assert isinstance(th, dict)
    print("terms:", th["terms_source"]["note"])
    for dept, items in th["terms"].items():
        print(f"  {dept}: {', '.join(t['term'] for t in items[:5])}")
    ap = found["approvals"]
    assert isinstance(ap, dict)
    print(
        f"approvals: {ap['requested']:,} requested, turnaround median "
        f"{ap['turnaround']['median_seconds']} s, p90 {ap['turnaround']['p90_seconds']} s"
    )


if __name__ == "__main__":
    main()
