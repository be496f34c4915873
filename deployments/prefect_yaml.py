"""deployments/prefect.yaml, written from the catalog (never edited by hand).

``socialops deployments write`` (or ``make deployments``) rewrites it; a test fails when the
checked-in file differs from :func:`render`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from deployments.catalog import CATALOG, WORK_QUEUE, Entry, resolve_timezone, work_pool

PATH = Path(__file__).resolve().parent / "prefect.yaml"

HEADER = """\
# GENERATED from deployments/catalog.py by `socialops deployments write` (`make deployments`):
# edit the catalog, not this file (tests/test_deployments.py fails when they differ).
#
# From the repository root:
#   prefect work-pool create {pool} --type process
#   prefect deploy --all --prefect-file deployments/prefect.yaml
#   prefect worker start --pool {pool}
# No pull step is written: Prefect records the directory `prefect deploy` ran in (the
# checkout) and workers run the flows from there, so deploy from the same path the workers see.
"""


def _deployment(entry: Entry, *, pool: str, org_timezone: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": entry.name,
        "entrypoint": entry.entrypoint,
        "description": entry.description,
        "tags": ["socialops", *entry.tags],
    }
    if entry.parameters:
        spec["parameters"] = dict(entry.parameters)
    if entry.interval is not None:
        spec["schedules"] = [{"interval": int(entry.interval.total_seconds())}]
    elif entry.cron is not None:
        schedule: dict[str, Any] = {"cron": entry.cron}
        timezone = resolve_timezone(entry, org_timezone)
        if timezone:
            schedule["timezone"] = timezone
        spec["schedules"] = [schedule]
    spec["concurrency_limit"] = {
        "limit": entry.concurrency,
        "collision_strategy": entry.collision_strategy,
    }
    spec["work_pool"] = {"name": pool, "work_queue_name": WORK_QUEUE}
    return spec


def render(*, pool: str | None = None, org_timezone: str | None = None) -> str:
    """The prefect.yaml text for every catalog entry."""
    pool = pool or work_pool()
    if org_timezone is None:
        from socialops.config import load_config
        from socialops.settings import get_settings

        settings = get_settings()
        org_timezone = load_config(settings.config).organisation.timezone
    document = {
        "name": "socialops",
        "prefect-version": "3.9.1",
        "deployments": [
            _deployment(entry, pool=pool, org_timezone=org_timezone) for entry in CATALOG
        ],
    }
    body = yaml.safe_dump(document, sort_keys=False, width=100, allow_unicode=True)
    return HEADER.format(pool=pool) + "\n" + body


def write(path: Path = PATH, *, pool: str | None = None) -> Path:
    path.write_text(render(pool=pool))
    return path
