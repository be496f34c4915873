"""The watchdog against a real Prefect server: a deployment failing twice in a row and a
scheduled run left waiting are told, once, to the operations person on duty, with the URL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from socialops import health, storage
from socialops.config import load_config
from socialops.db import session_scope
from socialops.rota.schedule import engine_for
from socialops.settings import get_settings
from tests.conftest import REPO

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


def run(id_: str, state: str, minutes_ago: int = 0) -> health.RunInfo:
    return health.RunInfo(
        id=id_,
        name=f"run-{id_}",
        state_type=state,
        state_name=state.title(),
        expected_start=NOW - timedelta(minutes=minutes_ago),
    )


def test_assess_failing_twice_in_a_row_and_late_by_two_intervals() -> None:
    deployments = [
        health.DeploymentHealth(name="a/x", finished=[run("2", "FAILED"), run("1", "CRASHED")]),
        health.DeploymentHealth(name="b/x", finished=[run("4", "FAILED"), run("3", "COMPLETED")]),
        health.DeploymentHealth(
            name="c/x", interval_seconds=300, oldest_waiting=run("5", "SCHEDULED", 11)
        ),
        health.DeploymentHealth(
            name="d/x", interval_seconds=300, oldest_waiting=run("6", "SCHEDULED", 9)
        ),
        health.DeploymentHealth(  # paused schedules are not late
            name="e/x", interval_seconds=60, paused=True, oldest_waiting=run("7", "SCHEDULED", 9)
        ),
    ]
    alerts = health.assess(deployments, now=NOW, ui_url="http://ui:4200/")
    assert [(a.kind, a.deployment, a.run_id) for a in alerts] == [
        ("failing", "a/x", "2"),
        ("late", "c/x", "5"),
    ]
    assert alerts[0].url == "http://ui:4200/runs/flow-run/2"
    assert "Crashed and Failed" in alerts[0].summary
    assert "11 min late" in alerts[1].summary


def test_operations_rota_covers_every_hour_of_2026_and_2027_with_someone_not_on_leave() -> None:
    org = load_config(REPO / "config" / "northwind.yaml")
    engine = engine_for(org)
    at = datetime(2026, 1, 5, tzinfo=UTC)
    seen = set()
    while at < datetime(2028, 1, 1, tzinfo=UTC):
        duty = engine.operations(at)
        assert duty is not None and duty.primary is not None and duty.backup is not None
        assert not engine.people[duty.primary].on_leave(at.date())
        seen.add(duty.primary)
        at += timedelta(hours=6)
    assert seen == {"tom.reilly", "daniel.brooks", "maya.chen"}


@pytest.mark.usefixtures("prefect_api")
def test_a_deployment_failing_twice_notifies_operations_once_with_the_run_url(
    socialops_env: Path,
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.states import Failed, Scheduled

    from deployments.catalog import entry
    from deployments.serve import to_deployment
    from flows.watch_pipeline import watch_pipeline

    runner = to_deployment(entry("ingest-mentions/scheduled"))
    runner.name = f"health-{uuid.uuid4().hex[:8]}"  # the server is shared by the session
    full_name = f"ingest-mentions/{runner.name}"
    deployment_id = runner.apply()
    now = datetime.now(UTC)
    with get_client(sync_client=True) as client:
        failed = []
        for _ in range(2):
            flow_run = client.create_flow_run_from_deployment(deployment_id)
            client.set_flow_run_state(flow_run.id, Failed(message="boom"), force=True)
            failed.append(flow_run.id)
        waiting = client.create_flow_run_from_deployment(
            deployment_id, state=Scheduled(scheduled_time=now - timedelta(minutes=11))
        )
    alerts = watch_pipeline(now=now)
    told = {(a.kind, a.run_id) for a in alerts if a.deployment == full_name}
    assert told == {("failing", str(failed[1])), ("late", str(waiting.id))}
    assert watch_pipeline(now=now)  # still failing: assessed again ...

    settings = get_settings()
    org = load_config(settings.config)
    with session_scope(settings.resolved_database_url()) as session:
        rows = session.scalars(
            select(storage.NotificationRow).where(storage.NotificationRow.event == "pipeline")
        ).all()
    mine = [r for r in rows if full_name in r.title]
    assert len(mine) == 2  # ... but told once per run
    assert {r.recipient for r in mine} == {health.on_duty(engine_for(org), now)}
    assert all(r.urgent for r in mine)
    failing = next(r for r in mine if "failing" in r.title)
    assert f"/runs/flow-run/{failed[1]}" in failing.body
    assert failing.status in {"no_target", "sent"}


def test_a_cron_schedule_is_late_once_its_second_firing_after_the_run_has_passed() -> None:
    """Mondays 08:00 in London: the next two firings after a run, across the change to summer
    time (08:00 GMT, then 07:00 UTC), by Prefect's own schedule objects."""
    from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule

    from tasks.health import describe, second_run_after

    weekly = CronSchedule(cron="0 8 * * 1", timezone="Europe/London")
    due = datetime(2026, 3, 23, 8, tzinfo=UTC)
    assert second_run_after([weekly], due) == datetime(2026, 4, 6, 7, tzinfo=UTC)
    assert describe(weekly) == "cron 0 8 * * 1 (Europe/London)"
    every = IntervalSchedule(interval=timedelta(minutes=5))
    assert second_run_after([every], due) == due + timedelta(minutes=10)
    assert second_run_after([], due) is None

    def waiting_since(days: int) -> health.DeploymentHealth:
        waiting = run("9", "SCHEDULED", 60 * 24 * days)
        assert waiting.expected_start is not None
        return health.DeploymentHealth(
            name="weekly-report/scheduled",
            schedule=describe(weekly),
            late_after=second_run_after([weekly], waiting.expected_start),
            oldest_waiting=waiting,
        )

    assert health.assess([waiting_since(8)], now=NOW, ui_url=None) == []  # one Monday missed
    [late] = health.assess([waiting_since(15)], now=NOW, ui_url=None)
    assert late.kind == "late" and "15 days" in late.summary and "cron 0 8 * * 1" in late.summary


@pytest.mark.usefixtures("prefect_api")
def test_the_weekly_reports_cron_run_waiting_past_two_mondays_notifies_operations(
    socialops_env: Path,
) -> None:
    """Against a started server: the weekly-report deployment as the catalog defines it
    (Mondays 08:00 in the organisation's time zone). A run left waiting since two Mondays
    ago is late; one waiting since last Monday only is not (yet)."""
    from zoneinfo import ZoneInfo

    from prefect.client.orchestration import get_client
    from prefect.states import Scheduled

    from deployments.catalog import entry
    from deployments.serve import to_deployment
    from flows.watch_pipeline import watch_pipeline

    settings = get_settings()
    zone = ZoneInfo(load_config(settings.config).organisation.timezone)
    now = datetime.now(UTC)
    local = now.astimezone(zone)
    monday = (local - timedelta(days=local.weekday())).replace(
        hour=8, minute=0, second=0, microsecond=0
    )
    if monday > local:
        monday -= timedelta(days=7)  # the last Monday 08:00 that has passed

    names = {}
    waiting = {}
    for weeks in (1, 2):
        runner = to_deployment(entry("weekly-report/scheduled"))
        runner.name = f"health-cron-{weeks}-{uuid.uuid4().hex[:8]}"
        deployment_id = runner.apply()
        names[weeks] = f"weekly-report/{runner.name}"
        due = (monday - timedelta(days=7 * weeks)).astimezone(UTC)
        with get_client(sync_client=True) as client:
            waiting[weeks] = client.create_flow_run_from_deployment(
                deployment_id, state=Scheduled(scheduled_time=due)
            )
    alerts = watch_pipeline(now=now)
    mine = {a.deployment: a for a in alerts if a.deployment in names.values()}
    assert set(mine) == {names[2]}  # last Monday's run is due again only next Monday
    late = mine[names[2]]
    assert (late.kind, late.run_id) == ("late", str(waiting[2].id))
    assert "cron 0 8 * * 1" in late.summary and f"/runs/flow-run/{waiting[2].id}" in late.url

    with session_scope(settings.resolved_database_url()) as session:
        told = session.scalars(
            select(storage.NotificationRow).where(storage.NotificationRow.event == "pipeline")
        ).all()
    assert [r.title for r in told if names[2] in r.title] == [f"Pipeline: {names[2]} is late"]
    assert not [r for r in told if names[1] in r.title]
