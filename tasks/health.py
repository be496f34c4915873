"""Health tasks: ask the Prefect API about every deployment; queue alerts to operations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
from prefect.settings import PREFECT_UI_URL

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
            for schedule in deployment.schedules or []:
                every = getattr(schedule.schedule, "interval", None)
                if isinstance(every, timedelta) and schedule.active:
                    interval = every.total_seconds()
            out.append(
                health.DeploymentHealth(
                    name=f"{flows.get(deployment.flow_id, '?')}/{deployment.name}",
                    interval_seconds=interval,
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
