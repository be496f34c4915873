"""Task retry policy and the deployments, on the real Prefect engine."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from prefect import flow, task

from connectors.errors import RateLimited, Rejected, Retryable
from deployments.serve import deployments
from tasks.ingest import retry_transient
from tests.conftest import REPO


@pytest.mark.usefixtures("prefect_api")
@pytest.mark.parametrize(
    ("error", "attempts"),
    [
        (Retryable("HTTP 503"), 3),
        (Rejected("HTTP 404", status_code=404), 1),
        (RateLimited("quota spent until 18:00", reset_at=None), 1),
        (ValueError("a bug"), 1),
    ],
)
def test_only_transient_errors_are_retried(error: Exception, attempts: int) -> None:
    calls: list[int] = []

    @task(retries=2, retry_delay_seconds=0, retry_condition_fn=retry_transient)
    def flaky() -> None:
        calls.append(1)
        raise error

    @flow
    def run_it() -> None:
        flaky()

    state = run_it(return_state=True)
    assert state.is_failed()
    assert len(calls) == attempts


def test_served_deployments_schedule_ingest_one_at_a_time() -> None:
    by_name = {(d.flow_name, d.name): d for d in deployments(timedelta(minutes=7))}
    scheduled = by_name[("ingest-mentions", "scheduled")]
    backfill = by_name[("ingest-mentions", "backfill")]
    # Scheduled classification runs inside route-mentions (every minute); re-runs on demand.
    assert ("classify-mentions", "scheduled") not in by_name
    assert by_name[("route-mentions", "scheduled")].schedules
    assert not by_name[("classify-mentions", "reclassify")].schedules
    assert scheduled.name == "scheduled" and scheduled.flow_name == "ingest-mentions"
    assert scheduled.schedules[0].schedule.interval == timedelta(minutes=7)
    assert scheduled.concurrency_limit == 1
    assert scheduled.concurrency_options.collision_strategy.value == "CANCEL_NEW"
    assert backfill.parameters == {"backfill_hours": 24} and not backfill.schedules


def test_prefect_yaml_entrypoints_exist_and_match_the_flows() -> None:
    spec = yaml.safe_load((REPO / "deployments" / "prefect.yaml").read_text())
    for deployment in spec["deployments"]:
        path, _, name = deployment["entrypoint"].partition(":")
        assert (REPO / path).exists()
        assert f"def {name}(" in (REPO / path).read_text()


def test_weekly_report_runs_mondays_at_eight_in_the_organisations_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from socialops.config import load_config
    from socialops.settings import reset_settings_cache

    monkeypatch.setenv("SOCIALOPS_CONFIG", str(REPO / "config" / "northwind.yaml"))
    monkeypatch.delenv("SOCIALOPS_CHANNELS", raising=False)
    reset_settings_cache()
    zone = load_config(REPO / "config" / "northwind.yaml").organisation.timezone
    by_name = {(d.flow_name, d.name): d for d in deployments()}
    report = by_name[("weekly-report", "scheduled")]
    schedule = report.schedules[0].schedule
    assert schedule.cron == "0 8 * * 1" and schedule.timezone == zone == "Europe/London"
    assert report.concurrency_limit == 1
    spec = yaml.safe_load((REPO / "deployments" / "prefect.yaml").read_text())
    [entry] = [d for d in spec["deployments"] if "weekly_report" in d["entrypoint"]]
    assert entry["schedules"] == [{"cron": "0 8 * * 1", "timezone": zone}]
    reset_settings_cache()
