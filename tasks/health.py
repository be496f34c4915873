"""Health tasks: ask the Prefect API about every deployment; queue alerts to operations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterExpectedStartTime,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.server.schemas import schedules as server_schedules
from prefect.settings import PREFECT_UI_URL
from prefect.utilities.asyncutils import run_coro_as_sync

from socialops import health
from socialops.config import load_config
from socialops.db import session_scope
from socialops.rota.schedule import engine_for
from socialops.settings import get_settings


def _info(run: object) -> health.RunInfo:
    state = getattr(run, "state", None)
    return health.RunInfo(
        id=str(run.id),  # type: ignore[attr-defined]
        name=run.name,  # type: ignore[attr-defined]
        state_type=state.type.value if state else "UNKNOWN",
        state_name=state.name if state else "Unknown",
        expected_start=run.expected_start_time,  # type: ignore[attr-defined]
        message=(state.message or None) if state else None,
    )


def describe(schedule: Any) -> str:
    """``every 300 s``, ``cron 0 8 * * 1 (Europe/London)``, ``rrule ...``: for the alert."""
    every = getattr(schedule, "interval", None)
    if isinstance(every, timedelta):
        return f"every {int(every.total_seconds())} s"
    zone = f" ({schedule.timezone})" if getattr(schedule, "timezone", None) else ""
    if cron := getattr(schedule, "cron", None):
        return f"cron {cron}{zone}"
    if rrule := getattr(schedule, "rrule", None):
        return f"rrule {rrule}{zone}"
    return type(schedule).__name__


def second_run_after(schedules: list[Any], expected: datetime) -> datetime | None:
    """The second time any of these schedules expects a run after ``expected``: when a run
    due at ``expected`` and still waiting has made the next one late too.

    Interval schedules: two intervals after ``expected`` (whatever their anchor). Cron and
    rrule schedules: their own next firings, in their time zone, by Prefect's server-side
    schedule objects (the ones its scheduler creates runs from), so a Monday 08:00 cron
    in Europe/London counts Mondays, across summer time."""
    upcoming: list[datetime] = []
    for schedule in schedules:
        every = getattr(schedule, "interval", None)
        if isinstance(every, timedelta):
            upcoming += [expected + every, expected + 2 * every]
            continue
        kind = getattr(server_schedules, type(schedule).__name__, None)
        if kind is None or not hasattr(kind, "get_dates"):
            continue  # no schedule (NoSchedule), nothing is expected
        server_side = kind.model_validate(schedule.model_dump())
        dates: list[Any] = (
            run_coro_as_sync(server_side.get_dates(n=2, start=expected + timedelta(microseconds=1)))
            or []
        )
        upcoming += [datetime.fromtimestamp(d.timestamp(), UTC) for d in dates]
    upcoming.sort()
    return upcoming[1] if len(upcoming) >= 2 else None


@task(name="read-deployment-health", cache_policy=NO_CACHE)
def read_deployment_health(now: datetime | None = None) -> list[health.DeploymentHealth]:
    """Each deployment's two latest finished runs and its oldest run still waiting."""
    at = now or datetime.now(UTC)
    out: list[health.DeploymentHealth] = []
    with get_client(sync_client=True) as client:
        flows = {f.id: f.name for f in client.read_flows()}
        for deployment in client.read_deployments():
            only_this = DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
            finished = client.read_flow_runs(
                deployment_filter=only_this,
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(
                        type=FlowRunFilterStateType(
                            any_=[StateType.COMPLETED, StateType.FAILED, StateType.CRASHED]
                        )
                    )
                ),
                sort=FlowRunSort.EXPECTED_START_TIME_DESC,
                limit=2,
            )
            waiting = client.read_flow_runs(
                deployment_filter=only_this,
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(
                        type=FlowRunFilterStateType(any_=[StateType.SCHEDULED, StateType.PENDING])
                    ),
                    expected_start_time=FlowRunFilterExpectedStartTime(before_=at),
                ),
                sort=FlowRunSort.EXPECTED_START_TIME_ASC,
                limit=1,
            )
            interval = None
            active = [s.schedule for s in deployment.schedules or [] if s.active]
            for schedule in active:
                every = getattr(schedule, "interval", None)
                if isinstance(every, timedelta):
                    interval = every.total_seconds()
            oldest = waiting[0] if waiting else None
            out.append(
                health.DeploymentHealth(
                    name=f"{flows.get(deployment.flow_id, '?')}/{deployment.name}",
                    interval_seconds=interval,
                    schedule="; ".join(describe(s) for s in active) or None,
                    late_after=(
                        second_run_after(active, oldest.expected_start_time)
                        if oldest is not None and oldest.expected_start_time is not None
                        else None
                    ),
                    paused=bool(deployment.paused),
                    finished=[_info(r) for r in finished],
                    oldest_waiting=_info(waiting[0]) if waiting else None,
                )
            )
    return sorted(out, key=lambda d: d.name)


@task(name="queue-health-alerts", cache_policy=NO_CACHE)
def queue_health_alerts(
    deployments: list[health.DeploymentHealth], now: datetime | None = None
) -> list[health.Alert]:
    """Alerts for what is failing or late, queued once per run to operations on duty."""
    at = now or datetime.now(UTC)
    alerts = health.assess(deployments, now=at, ui_url=PREFECT_UI_URL.value())
    settings = get_settings()
    org = load_config(settings.config, channels_path=settings.channels)
    with session_scope(settings.resolved_database_url()) as session:
        health.queue_alerts(session=session, engine=engine_for(org), alerts=alerts, now=at)
    create_markdown_artifact(
        markdown=health.health_markdown(deployments, alerts),
        key="pipeline-health",
        description="Deployments' latest runs, and who was told about what",
    )
    return alerts
