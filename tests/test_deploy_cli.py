"""The operating commands: backfill (with its progress bar), db upgrade, deployments write."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.test_ingest_flow import Sandboxed, sandboxed

__all__ = ["sandboxed"]  # the fixture, shared with the ingest flow tests
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_backfill_refuses_a_bad_time_in_one_line() -> None:
    code, _out, err = invoke("backfill", "--since", "last tuesday", "--until", "2026-11-08")
    assert code == 1 and "--since 'last tuesday' is not an ISO 8601 date or time" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_backfill_refuses_an_empty_window(socialops_env: Path) -> None:
    code, _out, err = invoke("backfill", "--since", "2026-11-08", "--until", "2026-11-01")
    assert code == 1 and "must be after" in err and len(err.strip().splitlines()) == 1


def test_deployments_write_check_passes_on_the_checked_in_file() -> None:
    code, out, err = invoke("deployments", "write", "--check")
    assert code == 0, err
    assert "matches the catalog" in out


@pytest.mark.e2e
@pytest.mark.usefixtures("prefect_api")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_socialops_backfill_runs_the_window_then_skips_it(
    sandboxed: Callable[..., Sandboxed],
) -> None:
    sandbox = sandboxed(history_hours=4, rate_per_hour=120)
    until = (sandbox.clock.at - timedelta(minutes=20)).isoformat()
    since = (sandbox.clock.at - timedelta(hours=3)).isoformat()
    args = ("backfill", "--since", since, "--until", until, "--channel", "mastodon-main")
    code, out, err = invoke(*args)
    assert code == 0, err
    assert "channel-days" in out and "1/1" in out  # the progress bar, at its end
    assert "Backfill" in out and "done" in out and "earlier" not in out
    code, out, err = invoke(*args)
    assert code == 0, err
    assert "earlier" in out  # "done earlier": the finished day was skipped
