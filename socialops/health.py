"""Is the pipeline itself healthy? Deployments that keep failing, scheduled runs that are late.

Plain data in (what the Prefect API says about each deployment), alerts out; the alerts are
queued as notifications to the operations person on duty (``rotas.operations``; the duty
manager when there is no operations rota), once per run, and delivered by the notification
layer (retried with backoff like every other notification).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from socialops import storage
from socialops.rota.schedule import RotaEngine

FAILED_TYPES = ("FAILED", "CRASHED")


class RunInfo(BaseModel):
    """One flow run, as the watchdog needs it."""

    id: str
    name: str
    state_type: str  # SCHEDULED, PENDING, RUNNING, COMPLETED, FAILED, CRASHED, CANCELLED...
    state_name: str
    expected_start: datetime | None = None
    message: str | None = None


class DeploymentHealth(BaseModel):
    """A deployment's latest finished runs (newest first) and its oldest waiting run."""

    name: str  # flow-name/deployment-name
    interval_seconds: float | None = None
    schedule: str | None = None  # "every 300 s", "cron 0 8 * * 1 (Europe/London)"...
    late_after: datetime | None = None
    """When the oldest waiting run counts as late: its second next expected run (two intervals
    after it; for a cron, the second time the cron fires after it). Without it, two
    ``interval_seconds`` after the run's expected start."""
    paused: bool = False
    finished: list[RunInfo] = Field(default_factory=list)  # COMPLETED, FAILED or CRASHED
    oldest_waiting: RunInfo | None = None  # SCHEDULED or PENDING, expected before now


class Alert(BaseModel):
    """Something an operations person should look at, with the run's page in the UI."""

    kind: Literal["failing", "late"]
    deployment: str
    run_id: str
    run_name: str
    summary: str
    url: str

    @property
    def dedupe_key(self) -> str:
        return f"health:{self.kind}:{self.run_id}"


def run_url(ui_url: str | None, run_id: str) -> str:
    base = (ui_url or "").rstrip("/")
    return f"{base}/runs/flow-run/{run_id}" if base else f"flow run {run_id}"


def assess(
    deployments: list[DeploymentHealth], *, now: datetime, ui_url: str | None
) -> list[Alert]:
    """Failed or crashed twice in a row (cancelled runs, e.g. overlaps skipped, do not count);
    a scheduled run still waiting when the second run after it was due (more than two
    intervals; for a cron schedule, such as Mondays 08:00, two firings of the cron)."""
    alerts: list[Alert] = []
    for d in deployments:
        last_two = d.finished[:2]
        if len(last_two) == 2 and all(r.state_type in FAILED_TYPES for r in last_two):
            newest = last_two[0]
            alerts.append(
                Alert(
                    kind="failing",
                    deployment=d.name,
                    run_id=newest.id,
                    run_name=newest.name,
                    summary=f"{d.name}: the last two runs ended {last_two[1].state_name} and "
                    f"{newest.state_name}" + (f" ({newest.message})" if newest.message else ""),
                    url=run_url(ui_url, newest.id),
                )
            )
        waiting = d.oldest_waiting
        if waiting is None or waiting.expected_start is None or d.paused:
            continue
        late_after = d.late_after
        if late_after is None and d.interval_seconds:
            late_after = waiting.expected_start + timedelta(seconds=2 * d.interval_seconds)
        if late_after is not None and now > late_after:
            late = now - waiting.expected_start
            schedule = d.schedule or f"every {int(d.interval_seconds or 0)} s"
            alerts.append(
                Alert(
                    kind="late",
                    deployment=d.name,
                    run_id=waiting.id,
                    run_name=waiting.name,
                    summary=f"{d.name}: the run due at {waiting.expected_start:%Y-%m-%d %H:%M}"
                    f" UTC has not started ({_late_words(late)} late; {schedule}; the next "
                    f"run was due too): is a worker running?",
                    url=run_url(ui_url, waiting.id),
                )
            )
    return alerts


def _late_words(late: timedelta) -> str:
    minutes = int(late.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h {minutes % 60} min"
    return f"{hours // 24} days {hours % 24} h"


def on_duty(engine: RotaEngine, now: datetime) -> str | None:
    """The operations person on duty, else the duty manager, else nobody."""
    for duty in (engine.operations(now), engine.duty_manager(now)):
        if duty is not None and duty.primary is not None:
            return duty.primary
    return None


def queue_alerts(
    *, session: Session, engine: RotaEngine, alerts: list[Alert], now: datetime
) -> list[int]:
    """Queue each alert once (per run) to the operations person on duty; ids of new rows."""
    recipient = on_duty(engine, now)
    queued: list[int] = []
    if recipient is None:
        return queued
    table = storage.NotificationRow.__table__
    for alert in alerts:
        title = (
            f"Pipeline: {alert.deployment} is failing"
            if alert.kind == "failing"
            else f"Pipeline: {alert.deployment} is late"
        )
        row = session.execute(
            storage.dialect_insert(session, table)
            .values(
                dedupe_key=alert.dedupe_key[:200],
                event="pipeline",
                recipient=recipient,
                urgent=True,
                title=title,
                body=f"{alert.summary}\n{alert.url}",
                status="pending",
                attempts=0,
                created_at=now,
                next_attempt_at=now,
            )
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(table.c.id)
        ).first()
        if row is None:
            continue  # told already
        queued.append(int(row[0]))
        storage.audit(
            session=session,
            actor="socialops:watch-pipeline",
            action=f"pipeline-{alert.kind}",
            subject_type="deployment",
            subject_id=alert.deployment,
            details={"run_id": alert.run_id, "url": alert.url, "to": recipient},
        )
    return queued


def health_markdown(deployments: list[DeploymentHealth], alerts: list[Alert]) -> str:
    lines = [
        "# Pipeline health",
        "",
        "| deployment | last finished runs | waiting since | alert |",
        "|---|---|---|---|",
    ]
    by_name: dict[str, list[Alert]] = {}
    for alert in alerts:
        by_name.setdefault(alert.deployment, []).append(alert)
    for d in deployments:
        finished = ", ".join(r.state_name for r in d.finished) or "none yet"
        waiting = d.oldest_waiting
        since = f"{waiting.expected_start:%H:%M} UTC" if waiting and waiting.expected_start else ""
        told = "; ".join(f"**{a.kind}** [{a.run_name}]({a.url})" for a in by_name.get(d.name, []))
        lines.append(f"| {d.name} | {finished} | {since} | {told or 'ok'} |")
    return "\n".join(lines) + "\n"
