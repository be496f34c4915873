"""The watchdog flow: tell operations on duty when a deployment keeps failing or runs late."""

from __future__ import annotations

from datetime import datetime

from prefect import flow

from socialops.health import Alert
from tasks.health import queue_health_alerts, read_deployment_health
from tasks.notify import send_notifications


@flow(name="watch-pipeline")
def watch_pipeline(now: datetime | None = None) -> list[Alert]:
    """Alert operations on duty about deployments failing twice in a row or running late."""
    deployments = read_deployment_health(now)
    alerts = queue_health_alerts(deployments, now)
    send_notifications(now)
    return alerts
