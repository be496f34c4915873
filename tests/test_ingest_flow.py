"""The ingest flow end to end: the real Prefect engine, the sandbox over loopback HTTP, real
SQLite and PostgreSQL. Only the platform is simulated."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select, text

from flows import run_sync
from flows.ingest_mentions import ingest_mentions
from sandbox.server import SandboxServer
from sandbox.world import SandboxConfig
from socialops import storage
from socialops.db import get_engine, session_scope
from socialops.ingest import IngestRun
from socialops.settings import get_settings, reset_settings_cache

TOKEN = "tok-E2E-5ecret-9f8e7d6c"
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_api")]


@dataclass
class Clock:
    """The sandbox's clock, an hour behind the real one so that moving it forward in a test
    never makes mentions from the future (which the quality suite rightly quarantines)."""

    at: datetime = field(
        default_factory=lambda: datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    )

    def __call__(self) -> datetime:
        return self.at


@dataclass
class Sandboxed:
    server: SandboxServer
    clock: Clock
    channels: dict[str, str]  # channel name -> instance

    def expected(self) -> dict[str, set[str]]:
        """Per outcome, the status ids the sandbox serves right now (its ground truth)."""
        out: dict[str, set[str]] = {"stored": set(), "skipped": set(), "quarantined": set()}
        for instance in self.channels.values():
            feed = self.server.world.feed(instance)
            feed.sync()
            for k in feed.visible:
                item = feed.item(k)
                key = {None: "stored", "null_status": "skipped"}.get(item.bad, "quarantined")
                out[key].add(item.status_id)
        return out


@pytest.fixture
def sandboxed(
    socialops_env: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Sandboxed]]:
    """Start a sandbox and point the channels at it (each test gets its own database)."""
    stack = ExitStack()

    def start(extra_channels: list[dict[str, Any]] | None = None, **options: Any) -> Sandboxed:
        clock = Clock()
        config = SandboxConfig(
            instances=("main", "help"),
            seed=options.pop("seed", 5),
            rate_per_hour=options.pop("rate_per_hour", 200),
            history_hours=options.pop("history_hours", 3),
            bad_item_rate=options.pop("bad_item_rate", 0.03),
            tokens=frozenset({TOKEN}),
            now=clock,
            **options,
        )
        server = stack.enter_context(SandboxServer(config))
        channels = {"mastodon-main": "main", "mastodon-help": "help"}
        entries = [
            {
                "name": name,
                "platform": "mastodon",
                "base_url": server.instance_url(instance),
                "token_env": "E2E_TOKEN",
                "backfill_hours": 24,
            }
            for name, instance in channels.items()
        ] + (extra_channels or [])
        path = socialops_env / "channels.yaml"
        path.write_text(yaml.safe_dump({"channels": entries}), encoding="utf-8")
        monkeypatch.setenv("SOCIALOPS_CHANNELS", str(path))
        monkeypatch.setenv("E2E_TOKEN", TOKEN)
        monkeypatch.setenv("SOCIALOPS_RATE_LIMIT_MAX_WAIT_SECONDS", "5")
        reset_settings_cache()
        return Sandboxed(server, clock, channels)

    yield start
    stack.close()


def run_flow(**params: Any) -> tuple[Any, IngestRun]:
    state = run_sync(ingest_mentions(return_state=True, **params))
    outcome = state.result(raise_on_failure=False)
    assert isinstance(outcome, IngestRun), outcome
    return state, outcome


def stored_ids() -> list[str]:
    with session_scope(get_settings().resolved_database_url()) as session:
        return list(session.execute(select(storage.MentionRow.external_id)).scalars())


def test_two_ingests_store_each_mention_once(sandboxed: Callable[..., Sandboxed]) -> None:
    sandbox = sandboxed()
    expected = sandbox.expected()
    state, first = run_flow()
    assert state.is_completed()
    ids = stored_ids()
    assert len(ids) == len(set(ids)) == len(expected["stored"]) > 1000
    assert set(ids) == expected["stored"]
    assert sum(r.quarantined for r in first.results) == len(expected["quarantined"]) > 0
    assert sum(sum(r.skipped.values()) for r in first.results) == len(expected["skipped"]) > 0

    state, second = run_flow()
    assert state.is_completed()
    assert [(r.fetched, r.stored) for r in second.results] == [(0, 0), (0, 0)]

    sandbox.clock.at += timedelta(minutes=30)  # new mentions arrive
    now_expected = sandbox.expected()
    state, third = run_flow()
    new = now_expected["stored"] - expected["stored"]
    assert len(new) > 0 and sum(r.stored for r in third.results) == len(new)
    assert sum(r.duplicates for r in third.results) == 0
    ids = stored_ids()
    assert len(ids) == len(set(ids)) and set(ids) == now_expected["stored"]


def test_with_25_percent_faults_every_mention_is_stored_once_within_two_runs(
    sandboxed: Callable[..., Sandboxed],
) -> None:
    sandbox = sandboxed(
        fault_rate=0.25,
        latency_seconds=0.05,
        fault_reset_seconds=0.2,
        history_hours=2,
        rate_per_hour=1500,  # about 40 pages per channel: enough requests for the faults to bite
    )
    expected = sandbox.expected()
    state, _run = run_flow()
    if not state.is_completed():
        state, _run = run_flow()
    assert state.is_completed(), state.message
    ids = stored_ids()
    assert len(ids) == len(set(ids)) and set(ids) == expected["stored"]
    faults = sandbox.server.sandbox.stats.faults
    assert sum(faults.values()) >= 10 and len(faults) >= 3  # they really happened, of several kinds


def test_one_failing_channel_does_not_stop_the_others(
    sandboxed: Callable[..., Sandboxed], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("E2E_WRONG_TOKEN", "not-the-token")
    sandbox = sandboxed(
        extra_channels=[
            {
                "name": "wrong-token",
                "platform": "mastodon",
                "base_url": "http://127.0.0.1:9/i/main",
                "token_env": "E2E_WRONG_TOKEN",
            }
        ]
    )
    sandbox_url = sandbox.server.instance_url("main")
    path = Path(get_settings().channels or "")
    entries = yaml.safe_load(path.read_text())["channels"]
    entries[-1]["base_url"] = sandbox_url  # a real server that refuses the token
    path.write_text(yaml.safe_dump({"channels": entries}))
    state, run = run_flow()
    assert state.is_failed()
    assert "1 of 3 channels failed: wrong-token (Rejected" in (state.message or "")
    ok = sorted(r.channel for r in run.results if r.error is None)
    assert ok == ["mastodon-help", "mastodon-main"]
    [failed] = [r for r in run.results if r.error is not None]
    assert (failed.channel, failed.stored) == ("wrong-token", 0)
    assert set(stored_ids()) == sandbox.expected()["stored"]
    assert "401" in run.failures["wrong-token"]


# The injected disk failure is a SQLite trigger; storage is covered on both databases elsewhere.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@SQLITE_ONLY
def test_a_crash_between_fetch_and_store_loses_nothing(
    sandboxed: Callable[..., Sandboxed], database_url: str
) -> None:
    sandbox = sandboxed()
    with get_engine(database_url).begin() as conn:
        conn.execute(
            text(
                "CREATE TRIGGER fail_insert BEFORE INSERT ON mentions "
                "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
            )
        )
    state, run = run_flow()
    assert state.is_failed() and set(run.failures) == {"mastodon-main", "mastodon-help"}
    with session_scope(database_url) as session:
        positions = session.execute(select(storage.ChannelState)).scalars().all()
        assert positions == []  # nothing moved: the batch and its position were one transaction
    with get_engine(database_url).begin() as conn:
        conn.execute(text("DROP TRIGGER fail_insert"))
    state, _ = run_flow()
    assert state.is_completed()
    ids = stored_ids()
    assert len(ids) == len(set(ids)) and set(ids) == sandbox.expected()["stored"]


@SQLITE_ONLY
def test_hostile_text_is_stored_and_shown_verbatim(sandboxed: Callable[..., Sandboxed]) -> None:
    from typer.testing import CliRunner

    from cli.main import app

    # About 1 mention in 200 carries the script text, 1 in 100 the SQL: ~2,400 hold plenty.
    sandboxed(history_hours=3, rate_per_hour=400, seed=11)
    run_flow()
    with session_scope(get_settings().resolved_database_url()) as session:
        rows = session.execute(select(storage.MentionRow)).scalars().all()
    script = [r for r in rows if "<script>alert(1)</script>" in r.text]
    sql = [r for r in rows if "DROP TABLE mentions; --" in r.text]
    assert script and sql
    assert "&lt;" not in script[0].text  # unescaped once: text, not markup
    result = CliRunner().invoke(app, ["inbox", "--json", "--limit", "10000"])
    assert result.exit_code == 0, result.output
    shown = {
        json.loads(line)["external_id"]: json.loads(line) for line in result.stdout.splitlines()
    }
    assert shown[script[0].external_id]["text"] == script[0].text
    assert shown[sql[0].external_id]["text"] == sql[0].text
    assert len(shown) == len(rows)  # and the mentions table is still there


@SQLITE_ONLY
def test_the_token_never_appears_in_logs_artifacts_errors_or_inbox(
    sandboxed: Callable[..., Sandboxed], caplog: pytest.LogCaptureFixture
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        LogFilter,
        LogFilterFlowRunId,
    )
    from typer.testing import CliRunner

    from cli.main import app

    caplog.set_level("DEBUG")
    sandboxed(
        fault_rate=0.3,
        latency_seconds=0.02,
        fault_reset_seconds=0.2,
        history_hours=1,
        extra_channels=[
            {
                "name": "dead-server",
                "platform": "mastodon",
                "base_url": "http://127.0.0.1:9",
                "token_env": "E2E_TOKEN",
            }
        ],
    )
    state, run = run_flow()
    flow_run_id = state.state_details.flow_run_id
    seen = [caplog.text, state.message or "", json.dumps(run.model_dump(mode="json"))]
    import time

    time.sleep(1.0)  # logs reach the API in batches
    with get_client(sync_client=True) as client:
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
        )
        artifacts = client.read_artifacts(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
    assert logs and artifacts
    seen += [log.message for log in logs]
    seen += [json.dumps(artifact.data) for artifact in artifacts]
    for command in (["inbox", "--json"], ["inbox"], ["quarantine", "--json"]):
        result = CliRunner().invoke(app, command)
        seen.append(result.output)
    assert "dead-server" in run.failures
    assert any(a.key == "ingest-summary" for a in artifacts)
    leaked = [s for s in seen if TOKEN in s]
    assert leaked == []


def test_classify_flow_classifies_new_mentions_once_and_a_range_again(
    sandboxed: Callable[..., Sandboxed], database_url: str
) -> None:
    from flows.classify_mentions import classify_mentions

    sandboxed(history_hours=2)
    run_flow()
    first = classify_mentions(return_state=True)
    assert first.is_completed()
    batches = first.result()
    stored = len(stored_ids())
    assert sum(b.classified for b in batches) == sum(b.new for b in batches) == stored
    departments = {d for b in batches for d in b.departments}
    assert {"customer_relations", "marketing", "legal"} <= departments
    assert any(b.urgent for b in batches)
    with session_scope(database_url) as session:
        rows = session.execute(select(storage.ClassificationRow)).scalars().all()
        assert len(rows) == stored and all(r.is_current for r in rows)
        assert all(r.explanation["summary"] for r in rows)
    again = classify_mentions(return_state=True).result()
    assert sum(b.classified for b in again) == 0  # nothing new, nothing done
    since = datetime.now(UTC) - timedelta(days=7)
    redo = classify_mentions(since=since, return_state=True).result()
    assert sum(b.classified for b in redo) == stored
    assert sum(b.unchanged for b in redo) == stored  # same model, same decisions: no new rows
    with session_scope(database_url) as session:
        assert len(session.execute(select(storage.ClassificationRow)).scalars().all()) == stored


def _window_start(clock: Clock, window: int) -> None:
    """Move the clock to just after a rate-limit window opens: the reset is a window away."""
    seconds = int(clock.at.timestamp())
    clock.at -= timedelta(seconds=seconds % window - 1)


def test_with_a_quota_smaller_than_a_batch_repeated_runs_store_every_mention_once(
    sandboxed: Callable[..., Sandboxed],
) -> None:
    """6 requests per 5-minute window for both channels, batches of 5,000: before, every
    run fetched the same pages, was refused, and stored nothing."""
    sandbox = sandboxed(rate_limit=6, rate_window=300, history_hours=3, rate_per_hour=200)
    _window_start(sandbox.clock, 300)
    runs: list[IngestRun] = []
    for _ in range(8):
        state, run = run_flow()
        runs.append(run)
        if state.is_completed():
            break
        limited = [r for r in run.results if r.resume_at is not None]
        assert limited and all("RateLimited" in (r.error or "") for r in limited)
        sandbox.clock.at += timedelta(seconds=300)  # the next window: the next scheduled run
    assert len(runs) > 2 and state.is_completed()
    assert sum(r.stored for r in runs[0].results) > 0  # the first window's pages were kept
    ids = stored_ids()
    assert len(ids) == len(set(ids)) and set(ids) == sandbox.expected()["stored"]


def test_ids_revealed_out_of_order_while_ingest_polls_are_not_skipped(
    sandboxed: Callable[..., Sandboxed],
) -> None:
    """A fifth of the mentions become visible 40 s after their id (after newer ones); ingest
    polls every 20 s. The overlap re-read finds each late one; nothing is skipped."""
    sandbox = sandboxed(history_hours=1, rate_per_hour=720, late_fraction=0.2, late_seconds=40)
    run_flow()
    late = 0
    for _ in range(6):
        sandbox.clock.at += timedelta(seconds=20)
        state, run = run_flow()
        assert state.is_completed()
        late += sum(r.late for r in run.results)
    sandbox.clock.at += timedelta(seconds=60)  # every id given so far is visible now
    state, run = run_flow()
    late += sum(r.late for r in run.results)
    assert late > 0  # found only by the re-read: a forward walk alone skips these for good
    ids = stored_ids()
    assert len(ids) == len(set(ids)) and set(ids) == sandbox.expected()["stored"]


def _run_logs(flow_run_id: Any) -> list[str]:
    """The run's log lines (its tasks' too) as the Prefect UI shows them."""
    import time

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    time.sleep(1.0)  # logs reach the API in batches
    with get_client(sync_client=True) as client:
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
        )
    return [log.message for log in logs]


def test_ingest_and_classify_log_their_figures_and_every_retry_with_its_cause(
    sandboxed: Callable[..., Sandboxed],
) -> None:
    """What an operator reads in the UI's logs: per channel the figures (which add up), each
    retried transient error with its cause, the classification per department; no token."""
    import re

    from flows.classify_mentions import classify_mentions

    sandbox = sandboxed(
        fault_rate=0.3, latency_seconds=0.02, fault_reset_seconds=0.2, history_hours=1
    )
    state, run = run_flow()
    logs = _run_logs(state.state_details.flow_run_id)
    assert sum(sandbox.server.sandbox.stats.faults.values()) > 0
    for result in run.results:
        f = result.accounted()
        line = next(m for m in logs if m.startswith(f"{result.channel}: fetched "))
        assert line.startswith(
            f"{result.channel}: fetched {f['fetched']} = {f['skipped']} skipped + "
            f"{f['quarantined']} quarantined + {f['stored']} stored + {f['already_stored']} "
            f"already stored + {f['outside_window']} outside the window"
        ), line
        assert f["fetched"] == sum(v for k, v in f.items() if k != "fetched")
    retried = [m for m in logs if "retrying" in m]
    assert retried, logs  # the injected faults show: each retry says why
    causes = (re.match(r"(GET|POST) /\S*: (.+); retrying in ", m) for m in retried)
    assert all(c or "Cause: " in m for c, m in zip(causes, retried, strict=True)), retried

    classified = classify_mentions(return_state=True)
    lines = _run_logs(classified.state_details.flow_run_id)
    batches = classified.result()
    total = sum(b.classified for b in batches)
    [summary] = [m for m in lines if m.startswith("run total: classified ")]
    assert summary.startswith(f"run total: classified {total} ({total} new, 0 changed")
    for department, n in Counter(
        d for b in batches for d, k in b.departments.items() for _ in range(k)
    ).items():
        assert f"{department} {n}" in summary
    urgent = sum(len(b.urgent) for b in batches)
    assert f"; {urgent} urgent; " in summary and " sent to triage; model " in summary
    assert all(TOKEN not in m for m in logs + lines)


def test_a_run_that_finds_nothing_new_leaves_the_last_ingest_summary_the_latest(
    sandboxed: Callable[..., Sandboxed],
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    sandboxed(history_hours=1)  # the sandbox's clock stands still: the second run finds nothing

    def summaries(state: Any) -> list[str]:
        with get_client(sync_client=True) as client:
            found = client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])
                )
            )
        return [a.key for a in found if a.key == "ingest-summary"]

    first, busy = run_flow()
    second, quiet = run_flow()
    assert busy.stored > 0 and summaries(first) == ["ingest-summary"]
    assert second.is_completed() and quiet.stored == 0 and not quiet.failures
    assert all(r.accounted()["fetched"] == 0 and r.rechecked > 0 for r in quiet.results)
    assert summaries(second) == []
