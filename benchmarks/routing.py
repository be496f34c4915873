"""Routing benchmark: urgent-notification latency end to end, and escalation timing.

    .venv/bin/python benchmarks/routing.py [--rounds 4] [--rate 600] [--step-minutes 5]

1. Through the sandbox, in a warm process on Prefect's local server: every round ingests what
   arrived (the ingest flow), classifies it (the classify flow; ``--classify oracle`` uses the
   sandbox's ground truth instead), and routes it (the route flow). Apprise delivers to a
   local HTTP endpoint; for each urgent mention, latency = notification arrival - the moment
   it was stored. Target: every urgent mention within one route interval (60 s).
2. Escalation, in real time on a scaled-down schedule (the flow started every
   ``--escalate-seconds`` instead of every 2 minutes): the urgent items just routed are made
   due at random moments; latency = the backup's notification arriving - the due time.
   Target: within one escalation interval.

Run on the shipped organisation (config/northwind.yaml) and a fresh SQLite database.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

CHANNELS = {"mastodon-main": "main", "mastodon-help": "help"}


@dataclass
class Clock:
    at: datetime = field(
        default_factory=lambda: datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    )

    def __call__(self) -> datetime:
        return self.at


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def classify_stage(name: str, world: Any, url: str) -> Callable[[], object]:
    """The hook for the classify stage: the sandbox oracle now, the classify flow later."""
    if name == "oracle":
        from tests.routing_fixtures import oracle_classifier

        return oracle_classifier(world, CHANNELS, url)  # type: ignore[no-any-return]
    from flows.classify_mentions import classify_mentions  # the lead's flow, once wired

    return lambda: classify_mentions(return_state=True).result()


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--rate", type=float, default=600, help="mentions per hour per channel")
    parser.add_argument("--step-minutes", type=float, default=5, help="sandbox time per round")
    parser.add_argument("--classify", choices=["oracle", "flow"], default="flow")
    parser.add_argument(
        "--escalate-seconds", type=float, default=10, help="the scaled-down escalation interval"
    )
    return parser.parse_args()


def main() -> None:
    args = arguments()
    home = Path(tempfile.mkdtemp(prefix="socialops-routing-bench-"))
    os.environ.update(
        {
            "SOCIALOPS_HOME": str(home),
            "PREFECT_HOME": str(home / "prefect"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
            "SOCIALOPS_CONFIG": str(REPO / "config" / "northwind.yaml"),
            "BENCH_TOKEN": "bench-token",
        }
    )
    from flows import run_sync
    from flows.ingest_mentions import ingest_mentions
    from sandbox.server import SandboxServer
    from sandbox.world import SandboxConfig
    from socialops.db import migrate
    from socialops.settings import get_settings, reset_settings_cache
    from tests.routing_fixtures import start_endpoint

    endpoints = start_endpoint()
    endpoint = next(endpoints)
    os.environ["SOCIALOPS_NOTIFY_URL"] = endpoint.url("notify/{handle}")
    clock = Clock()
    config = SandboxConfig(
        instances=tuple(CHANNELS.values()),
        seed=3,
        rate_per_hour=args.rate,
        history_hours=1,
        now=clock,
    )
    with SandboxServer(config) as sandbox:
        channels = home / "channels.yaml"
        channels.write_text(
            "channels:\n"
            + "".join(
                f"  - {{name: {name}, platform: mastodon, base_url: "
                f"'{sandbox.instance_url(instance)}', token_env: BENCH_TOKEN, backfill_hours: 2}}\n"
                for name, instance in CHANNELS.items()
            )
        )
        os.environ["SOCIALOPS_CHANNELS"] = str(channels)
        reset_settings_cache()
        url = get_settings().resolved_database_url()
        migrate(url)
        classify = classify_stage(args.classify, sandbox.world, url)
        started = time.perf_counter()
        run_sync(ingest_mentions(return_state=True))  # warm: Prefect's server, Great Expectations
        print(f"warm-up (Prefect server, first ingest): {time.perf_counter() - started:.1f} s")
        routing_rounds(args, clock, classify, endpoint, url)
        escalation(args.escalate_seconds, endpoint, url)
    endpoints.close()


def routing_rounds(
    args: argparse.Namespace, clock: Clock, classify: Callable[[], object], endpoint: Any, url: str
) -> None:
    """Ingest, classify and route a round at a time; for each urgent mention, the time from
    being stored to its notification's arrival."""
    from deployments.serve import ROUTE_EVERY
    from flows import run_sync
    from flows.ingest_mentions import ingest_mentions
    from flows.route_mentions import route_mentions

    seconds: list[float] = []
    urgent_total = routed_total = 0
    route_times: list[float] = []
    for round_no in range(args.rounds + 1):
        if round_no:
            clock.at += timedelta(minutes=args.step_minutes)
            run_sync(ingest_mentions(return_state=True)).result()
        seen = len(endpoint.arrivals)
        classify()
        t0 = time.perf_counter()
        cycle = route_mentions(return_state=True).result()
        route_times.append(time.perf_counter() - t0)
        routed_total += cycle.route.routed
        arrivals = endpoint.wait_for(seen + cycle.route.routed, timeout=30)[seen:]
        for mention_id, fetched_at in routed_urgent(url, cycle.route.at):
            hit = next(
                (
                    x
                    for x in arrivals
                    if x.payload["title"].startswith("URGENT")
                    and f"mention {mention_id}:" in x.payload["title"]
                ),
                None,
            )
            urgent_total += 1
            if hit is not None:
                seconds.append((hit.at - fetched_at).total_seconds())
    print(
        f"routed {routed_total} mentions in {args.rounds + 1} rounds; route flow "
        f"{statistics.median(route_times):.2f} s median, {max(route_times):.2f} s max"
    )
    print(
        f"urgent: {urgent_total}, notified {len(seconds)}; stored -> notification "
        f"median {statistics.median(seconds):.2f} s, p95 {pct(seconds, 0.95):.2f} s, "
        f"max {max(seconds):.2f} s (target < {ROUTE_EVERY.total_seconds():.0f} s)"
    )


def routed_urgent(url: str, at: datetime) -> list[Any]:
    """``(mention id, stored at)`` of the urgent mentions a routing pass at ``at`` assigned."""
    from sqlalchemy import select

    from socialops import storage
    from socialops.db import session_scope

    a, m = storage.AssignmentRow, storage.MentionRow
    with session_scope(url) as session:
        return list(
            session.execute(
                select(a.mention_id, m.fetched_at)
                .join(m, m.id == a.mention_id)
                .where(a.urgent, a.assigned_at >= at - timedelta(seconds=1))
            ).all()
        )


def escalation(interval: float, endpoint: Any, url: str) -> None:
    """Escalation in real time on a scaled-down schedule: the urgent items fall due at random
    moments; the flow starts every ``interval`` seconds, as an interval schedule would;
    latency = the escalation notification's arrival - the due time."""
    import random

    from sqlalchemy import select, update

    from deployments.serve import ESCALATE_EVERY
    from flows.escalate_overdue import escalate_overdue
    from socialops import storage
    from socialops.db import session_scope

    a = storage.AssignmentRow
    rng = random.Random(5)
    base = datetime.now(UTC)
    with session_scope(url) as session:
        ids = list(session.execute(select(a.id).where(a.urgent)).scalars())
        for aid in ids:
            due = base + timedelta(seconds=rng.uniform(3, 3 * interval))
            session.execute(update(a).where(a.id == aid).values(due_at=due, next_escalation_at=due))
    seen = len(endpoint.arrivals)
    run_times: list[float] = []
    deadline = time.monotonic() + 6 * interval + 30
    while time.monotonic() < deadline:
        t0 = time.perf_counter()
        escalate_overdue(return_state=True).result()
        run_times.append(time.perf_counter() - t0)
        with session_scope(url) as session:
            pending = session.execute(select(a.id).where(a.urgent, a.escalation_level == 0)).all()
        if not pending:
            break
        time.sleep(max(0.0, interval - (time.perf_counter() - t0)))
    endpoint.wait_for(seen + len(ids), timeout=30)
    with session_scope(url) as session:
        dues = dict(session.execute(select(a.mention_id, a.due_at).where(a.urgent)).all())
    lags = []
    for arrival in endpoint.arrivals[seen:]:
        title = arrival.payload["title"]
        if title.startswith("Escalated to you (backup): mention "):
            mention_id = int(title.split("mention ")[1].split(" ")[0])
            lags.append((arrival.at - dues[mention_id]).total_seconds())
    print(
        f"escalation: {len(lags)} of {len(ids)} urgent items escalated to their backup; "
        f"flow every {interval:.0f} s (real time), {statistics.median(run_times):.2f} s "
        f"per run; due -> escalation notification median {statistics.median(lags):.1f} s, "
        f"max {max(lags):.1f} s (bound: one interval, {interval:.0f} s, plus one run; "
        f"deployed every {ESCALATE_EVERY.total_seconds():.0f} s)"
    )


if __name__ == "__main__":
    main()
