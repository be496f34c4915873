"""Ingest benchmark: N mentions from the sandbox into SQLite, through the real flow.

    .venv/bin/python benchmarks/ingest.py [--mentions 20000] [--batch-size 5000]

Prints the flow's mentions per second, then the same fetch-and-insert done by a bare script
(httpx and sqlite3: no Prefect, no mapping, no validation) against the same sandbox, and the
ratio. Targets on a 2-core machine: >= 3,000 mentions/s and >= 40% of the bare figure.

The flow is timed in a warm process (Prefect's local server up, Great Expectations imported),
as in a served deployment; the one-off start-up costs are printed separately.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TOKEN_ENV = "SOCIALOPS_BENCH_TOKEN"


def bare_ingest(base_url: str, token: str, db_path: Path, cutoff: datetime) -> int:
    """Page backwards through the notifications and insert them: the floor to compare with."""
    import httpx

    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "CREATE TABLE mentions (platform TEXT, external_id TEXT, author TEXT, content TEXT,"
        " created_at TEXT, raw TEXT, UNIQUE(platform, external_id))"
    )
    stored = 0
    params: dict[str, str | int] = {"types[]": "mention", "limit": 80}
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}) as http:
        while True:
            items = http.get("/api/v1/notifications", params=params).raise_for_status().json()
            if not items:
                break
            rows = [
                (
                    "mastodon",
                    n["status"]["id"],
                    n["status"]["account"]["acct"],
                    n["status"]["content"],
                    n["status"]["created_at"],
                    json.dumps(n),
                )
                for n in items
                if n.get("status")
            ]
            cur = conn.executemany("INSERT OR IGNORE INTO mentions VALUES (?,?,?,?,?,?)", rows)
            stored += cur.rowcount
            conn.commit()
            params["max_id"] = items[-1]["id"]
            oldest = datetime.fromisoformat(items[-1]["created_at"].replace("Z", "+00:00"))
            if oldest < cutoff:
                break
    conn.close()
    return stored


class SandboxProcess:
    """The sandbox in a forked child process, warmed up before it listens."""

    def __init__(self, config: object) -> None:
        import multiprocessing

        self._ctx = multiprocessing.get_context("fork")
        self._config = config
        self._queue = self._ctx.Queue()
        self._stop = self._ctx.Event()
        self._proc = self._ctx.Process(target=self._child, daemon=True)
        self.warm_seconds = 0.0
        self._base = ""

    def _child(self) -> None:
        from sandbox.server import SandboxServer

        server = SandboxServer(self._config)  # type: ignore[arg-type]
        started = time.perf_counter()
        server.world.warm()
        warm = time.perf_counter() - started
        with server:
            self._queue.put((server.url, warm))
            self._stop.wait()

    def __enter__(self) -> SandboxProcess:
        self._proc.start()
        self._base, self.warm_seconds = self._queue.get(timeout=120)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._proc.join(timeout=10)

    def instance_url(self, name: str) -> str:
        return f"{self._base}/i/{name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=5_000)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="socialops-bench-"))
    os.environ.update(
        {
            "PREFECT_HOME": str(work / "prefect"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
            "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
            "SOCIALOPS_HOME": str(work),
            "SOCIALOPS_DATABASE_URL": f"sqlite:///{work / 'flow.db'}",
            "SOCIALOPS_INGEST_BATCH_SIZE": str(args.batch_size),
            TOKEN_ENV: "bench-token",
        }
    )
    from sandbox.world import SandboxConfig

    frozen = datetime.now(UTC).replace(microsecond=0)
    config = SandboxConfig(
        instances=("bench",),
        rate_per_hour=args.mentions,
        history_hours=1.2,
        bad_item_rate=0.0,
        rate_limit=1_000_000,
        seed=3,
        now=lambda: frozen,
    )
    # The platform is another machine in real life: serve it from another process (fork keeps
    # the frozen clock), so it does not compete with the code under test for one interpreter.
    with SandboxProcess(config) as sandbox:
        channels = work / "channels.yaml"
        channels.write_text(
            "channels:\n  - name: bench\n    platform: mastodon\n"
            f"    base_url: {sandbox.instance_url('bench')}\n    token_env: {TOKEN_ENV}\n"
            "    backfill_hours: 1\n    max_pages_per_run: 100000\n",
            encoding="utf-8",
        )
        os.environ["SOCIALOPS_CHANNELS"] = str(channels)
        figures = Figures(warm_sandbox=sandbox.warm_seconds)
        run = timed_flow(figures)
        figures.stored = sum(r.stored for r in run.results)
        figures.walk = sum(r.seconds for r in run.results)
        t = time.perf_counter()
        figures.bare_stored = bare_ingest(
            sandbox.instance_url("bench"),
            "bench-token",
            work / "bare.db",
            frozen - timedelta(hours=1),
        )
        figures.bare_seconds = time.perf_counter() - t
    print(f"sandbox: {args.mentions} mentions/hour, frozen at {frozen.isoformat()}")
    figures.show(args.batch_size)


@dataclass
class Figures:
    warm_sandbox: float
    imports: float = 0.0
    gx_seconds: float = 0.0
    prefect_start: float = 0.0
    flow_seconds: float = 0.0
    stored: int = 0
    walk: float = 0.0
    bare_stored: int = 0
    bare_seconds: float = 0.0

    def show(self, batch_size: int) -> None:
        flow_rate = self.stored / self.flow_seconds
        bare_rate = self.bare_stored / self.bare_seconds
        ratio = flow_rate / bare_rate
        print(
            f"one-off start-up: imports {self.imports:.2f} s, Great Expectations suite "
            f"{self.gx_seconds:.2f} s, Prefect local server {self.prefect_start:.2f} s, "
            f"sandbox warm-up {self.warm_sandbox:.2f} s"
        )
        for label, count, seconds, rate in (
            ("flow", self.stored, self.flow_seconds, flow_rate),
            ("bare", self.bare_stored, self.bare_seconds, bare_rate),
        ):
            print(f"{label} : {count:6d} mentions in {seconds:6.2f} s = {rate:8.0f} mentions/s")
        print(
            f"flow time: {self.walk:.2f} s fetching, validating and storing (batches of "
            f"{batch_size}), {self.flow_seconds - self.walk:.2f} s Prefect (runs, tasks, "
            f"artifact); peak memory "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
        )
        print(f"ratio: {ratio:.0%} of bare")
        ok_rate, ok_ratio = flow_rate >= 3000, ratio >= 0.40
        print(
            f"targets: >= 3000/s {'PASS' if ok_rate else 'FAIL'}; "
            f">= 40% of bare {'PASS' if ok_ratio else 'FAIL'}"
        )


def timed_flow(figures: Figures) -> Any:
    """The ingest flow once, on a started Prefect server; the one-off start-up costs apart."""
    t = time.perf_counter()
    from prefect import flow

    from flows import run_sync
    from flows.ingest_mentions import ingest_mentions
    from socialops import quality
    from socialops.db import migrate

    figures.imports = time.perf_counter() - t
    t = time.perf_counter()
    quality.warm_up()
    figures.gx_seconds = time.perf_counter() - t
    migrate(os.environ["SOCIALOPS_DATABASE_URL"])

    @flow
    def start_prefect() -> None:
        """Starts Prefect's local server, as a running deployment would have it."""

    t = time.perf_counter()
    start_prefect()
    figures.prefect_start = time.perf_counter() - t

    t = time.perf_counter()
    state = run_sync(ingest_mentions(return_state=True))
    figures.flow_seconds = time.perf_counter() - t
    return state.result()


if __name__ == "__main__":
    main()
