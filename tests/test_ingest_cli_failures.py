"""`socialops ingest` when platforms fail: one line per failed channel, a non-zero exit,
no traceback unless SOCIALOPS_DEBUG=1 (the Prefect run's logs keep it).

Each failure mode is a tiny server on 127.0.0.1 (tests/loopback.py); the command runs as a
user runs it, in a subprocess, against the test session's Prefect server. All channels fail
in one run, concurrently, so the retried ones wait once, together.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tests.loopback import LoopbackServer, refused_port

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_api")]

TOKEN = "tok-CLI-failures-7b9e2f"


@dataclass
class Outcome:
    code: int
    output: str
    lines: list[str]


# channel -> what its one line must say
CASES: dict[str, tuple[str, ...]] = {
    "refused": ("could not connect (ConnectError): connection refused by 127.0.0.1:",),
    "hangs": ("timed out (ReadTimeout): no answer from 127.0.0.1:", "within 0.5s"),
    "tls-on-http": ("speaks TLS on this port", "use https:// in base_url"),
    "tls-handshake": ("TLS handshake with 127.0.0.1:", "use http:// in base_url"),
    "bad-gateway": ("HTTP 502 (text/html) (3 attempts)",),
    "web-page": ("HTTP 200 with text/html, not JSON: http://127.0.0.1:", "check base_url"),
    "rate-limited": ("rate limited (HTTP 429) until", "resumes after", "next run continues"),
    "stuck-cursor": ("CursorStuck", "does not move past cursor '5'", "1 stored before it"),
}


def _environment(home: Path, channels: list[dict[str, str]], **extra: str) -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    path = home / "channels.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"channels": channels}), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOCIALOPS_", "PREFECT_"))}
    env.update(
        SOCIALOPS_HOME=str(home),
        SOCIALOPS_CHANNELS=str(path),
        SOCIALOPS_HTTP_TIMEOUT_SECONDS="0.5",
        CLI_FAILURE_TOKEN=TOKEN,
        PREFECT_API_URL=str(PREFECT_API_URL.value()),
        COLUMNS="240",
        **extra,
    )
    return env


def _ingest(env: dict[str, str]) -> Outcome:
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "ingest"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = done.stdout + done.stderr
    return Outcome(done.returncode, output, output.splitlines())


def _channel(name: str, base_url: str) -> dict[str, str]:
    return {
        "name": name,
        "platform": "mastodon",
        "base_url": base_url,
        "token_env": "CLI_FAILURE_TOKEN",
    }


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    servers = {
        kind: LoopbackServer(kind)
        for kind in ("hang", "tls", "plain", "502", "html200", "ratelimited", "stuck")
    }
    try:
        plain_port = servers["plain"].port
        channels = [
            _channel("refused", f"http://127.0.0.1:{refused_port()}"),
            _channel("hangs", servers["hang"].url),
            _channel("tls-on-http", servers["tls"].url),
            _channel("tls-handshake", f"https://127.0.0.1:{plain_port}"),
            _channel("bad-gateway", servers["502"].url),
            _channel("web-page", servers["html200"].url),
            _channel("rate-limited", servers["ratelimited"].url),
            _channel("stuck-cursor", servers["stuck"].url),
        ]
        yield _ingest(_environment(tmp_path_factory.mktemp("cli-failures"), channels))
    finally:
        for server in servers.values():
            server.close()


@pytest.mark.parametrize("channel", sorted(CASES))
def test_each_failed_channel_gets_one_line_with_its_cause(
    failing_run: Outcome, channel: str
) -> None:
    assert failing_run.code == 1, failing_run.output
    [line] = [line for line in failing_run.lines if line.startswith(f"{channel} failed:")]
    for phrase in CASES[channel]:
        assert phrase in line, line


def test_a_failing_run_prints_no_traceback_and_never_the_token(failing_run: Outcome) -> None:
    assert "Traceback" not in failing_run.output
    assert "ERROR" not in failing_run.output  # Prefect's run-failure lines stay in its logs
    assert TOKEN not in failing_run.output
    assert failing_run.lines[-1].startswith("error: 8 channel(s) failed: ")
    # The table, then one line per channel, then the summary: nothing else was printed.
    failed = [line for line in failing_run.lines if " failed: " in line]
    assert len(failed) == len(CASES) + 1


def test_the_traceback_stays_in_the_prefect_runs_logs(failing_run: Outcome) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        LogFilter,
        LogFilterFlowRunId,
    )
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        [latest] = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["ingest-mentions"])),
            sort=FlowRunSort.START_TIME_DESC,
            limit=1,
        )
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[latest.id]))
        )
    failures = [log.message for log in logs if log.message.startswith("channel ")]
    assert {m.split(" ", 2)[1] for m in failures} >= set(CASES)
    assert all("Traceback" in m for m in failures)
    assert not [log for log in logs if TOKEN in log.message]


def test_each_retry_of_a_transient_failure_is_logged_with_its_cause(failing_run: Outcome) -> None:
    """The bad gateway (HTTP 502, transient) is retried by the task: each retry is a line in
    the run's logs with the cause, never on the console (one line per failed channel there)
    and never with the token."""
    import time

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        LogFilter,
        LogFilterFlowRunId,
    )
    from prefect.client.schemas.sorting import FlowRunSort

    time.sleep(1.0)  # logs reach the API in batches
    with get_client(sync_client=True) as client:
        [latest] = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["ingest-mentions"])),
            sort=FlowRunSort.START_TIME_DESC,
            limit=1,
        )
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[latest.id]))
        )
    retries = [
        log.message
        for log in logs
        if log.message.startswith("retrying channel bad-gateway after a transient error")
    ]
    assert len(retries) == 3, [log.message for log in logs]  # attempts 2, 3 and 4 of 4
    assert all("Cause: " in m and "HTTP 502" in m for m in retries)
    assert [m for m in retries if "(attempt 4 of 4" in m]
    assert "retrying channel" not in failing_run.output
    assert not [log for log in logs if TOKEN in log.message]


def test_with_socialops_debug_the_traceback_is_shown(tmp_path: Path) -> None:
    server = LoopbackServer("html200")
    try:
        env = _environment(tmp_path, [_channel("web-page", server.url)], SOCIALOPS_DEBUG="1")
        outcome = _ingest(env)
    finally:
        server.close()
    assert outcome.code == 1
    assert "Traceback" in outcome.output and "web-page failed:" in outcome.output
