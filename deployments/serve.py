"""Scheduled deployments of the pipeline, served by one long-running process.

``socialops serve`` (or ``python -m deployments.serve``) registers the deployments with the
Prefect API in use and runs their scheduled and ad-hoc runs until stopped. For workers in a
work pool instead, use deployments/prefect.yaml (``prefect deploy --all``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from prefect import serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

from deployments.signoff import signoff_deployments
from flows.classify_mentions import classify_mentions
from flows.escalate_overdue import escalate_overdue
from flows.ingest_mentions import ingest_mentions
from flows.route_mentions import route_mentions
from flows.weekly_report import weekly_report

# An ingest still running when the next one is due: skip the new one, the old one catches up.
ONE_AT_A_TIME = ConcurrencyLimitConfig(
    limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
)


ROUTE_EVERY = timedelta(minutes=1)
ESCALATE_EVERY = timedelta(minutes=2)


def deployments(ingest_every: timedelta = timedelta(minutes=5)) -> list[Any]:
    """Every scheduled stage of the pipeline, as Prefect deployments."""
    return [
        *_ingest(ingest_every),
        *_classify(),
        *routing_deployments(),
        *signoff_deployments(),
        *report_deployments(),
    ]


REPORT_CRON = "0 8 * * 1"  # Mondays 08:00, in the organisation's time zone


def _org_timezone() -> str:
    from socialops.config import load_config
    from socialops.settings import get_settings

    settings = get_settings()
    return load_config(settings.config, channels_path=settings.channels).organisation.timezone


def report_deployments(timezone: str | None = None) -> list[Any]:
    """The weekly report, Mondays 08:00 local time (the last complete week); on demand with
    ``week`` for any other."""
    from prefect.schedules import Cron

    return [
        weekly_report.to_deployment(
            name="scheduled",
            schedules=[Cron(REPORT_CRON, timezone=timezone or _org_timezone())],
            concurrency_limit=ONE_AT_A_TIME,
            description="Write the last complete week's report and send its summary.",
            tags=["socialops", "report"],
        ),
    ]


def _classify() -> list[Any]:
    # Scheduled classification runs inside route-mentions; this is the on-demand re-run.
    return [
        classify_mentions.to_deployment(
            name="reclassify",
            description="Ad-hoc: classify a date range again (set since and until).",
            tags=["socialops", "classify", "backfill"],
        ),
    ]


def routing_deployments(
    route_every: timedelta = ROUTE_EVERY, escalate_every: timedelta = ESCALATE_EVERY
) -> list[Any]:
    """Routing every minute (an urgent mention is notified within a minute of being
    classified); escalation, hand-over, reminders and notification retries every two."""
    return [
        route_mentions.to_deployment(
            name="scheduled",
            interval=route_every,
            concurrency_limit=ONE_AT_A_TIME,
            description="Assign classified mentions to the person on duty and notify them.",
            tags=["socialops", "routing"],
        ),
        escalate_overdue.to_deployment(
            name="scheduled",
            interval=escalate_every,
            concurrency_limit=ONE_AT_A_TIME,
            description="Hand over at shift ends, escalate overdue items, remind, retry sends.",
            tags=["socialops", "routing", "escalation"],
        ),
    ]


def _ingest(ingest_every: timedelta) -> list[Any]:
    return [
        ingest_mentions.to_deployment(
            name="scheduled",
            interval=ingest_every,
            concurrency_limit=ONE_AT_A_TIME,
            description="Fetch, validate and store new mentions from every channel.",
            tags=["socialops", "ingest"],
        ),
        ingest_mentions.to_deployment(
            name="backfill",
            parameters={"backfill_hours": 24},
            description="Ad-hoc: walk back over the channels again (set backfill_hours).",
            tags=["socialops", "ingest", "backfill"],
        ),
    ]


def main(ingest_every: timedelta = timedelta(minutes=5)) -> None:
    serve(*deployments(ingest_every))


if __name__ == "__main__":
    main()
