"""The catalog's deployments, served by one long-running process.

``socialops serve`` (or ``python -m deployments.serve``) registers every deployment in
deployments/catalog.py with the Prefect API in use and runs their scheduled and ad-hoc runs
until stopped. For workers in a work pool instead, use deployments/prefect.yaml (generated from
the same catalog; ``prefect deploy --all``).
"""

from __future__ import annotations

import importlib
from datetime import timedelta
from typing import Any

from prefect import serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.schedules import Cron, Interval

from deployments.catalog import CATALOG, Entry, entry, resolve_timezone

ROUTE_EVERY = entry("route-mentions/scheduled").interval or timedelta(minutes=1)
ESCALATE_EVERY = entry("escalate-overdue/scheduled").interval or timedelta(minutes=2)
INGEST = "ingest-mentions/scheduled"


def load_flow(item: Entry) -> Any:
    """The flow object an entry names (imported as a module of this checkout)."""
    return getattr(importlib.import_module(item.module), item.function)


def _org_timezone() -> str:
    from socialops.config import load_config
    from socialops.settings import get_settings

    return load_config(get_settings().config).organisation.timezone


def to_deployment(item: Entry, *, interval: timedelta | None = None) -> Any:
    """One catalog entry as a ``RunnerDeployment`` for ``serve()``."""
    schedules: list[Any] = []
    every = interval or item.interval
    if every is not None:
        schedules = [Interval(every)]
    elif item.cron is not None:
        schedules = [Cron(item.cron, timezone=resolve_timezone(item, _org_timezone()))]
    return load_flow(item).to_deployment(
        name=item.name,
        description=item.description,
        tags=["socialops", *item.tags],
        parameters=dict(item.parameters),
        schedules=schedules,
        concurrency_limit=ConcurrencyLimitConfig(
            limit=item.concurrency,
            collision_strategy=ConcurrencyLimitStrategy(item.collision_strategy),
        ),
    )


def deployments(ingest_every: timedelta | None = None) -> list[Any]:
    """Every deployment in the catalog (``ingest_every`` overrides the ingest interval)."""
    return [
        to_deployment(item, interval=ingest_every if item.full_name == INGEST else None)
        for item in CATALOG
    ]


def routing_deployments(
    route_every: timedelta = ROUTE_EVERY, escalate_every: timedelta = ESCALATE_EVERY
) -> list[Any]:
    """The routing stage's two deployments (benchmarks and tests change their intervals)."""
    return [
        to_deployment(entry("route-mentions/scheduled"), interval=route_every),
        to_deployment(entry("escalate-overdue/scheduled"), interval=escalate_every),
    ]


def main(ingest_every: timedelta | None = None) -> None:
    serve(*deployments(ingest_every))


if __name__ == "__main__":
    main()
