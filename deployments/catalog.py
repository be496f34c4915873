"""Every deployment of the pipeline, in ONE list.

``socialops serve`` (deployments/serve.py) and ``deployments/prefect.yaml`` (workers in a work
pool) are both generated from :data:`CATALOG`, so the two cannot drift; a test fails when the
checked-in prefect.yaml differs from what this list gives (``make deployments`` or
``socialops deployments write`` rewrites it).

Adding a flow is one entry, for example the weekly report, Mondays 08:00 in the organisation's
time zone::

    Entry("flows/weekly_report.py:weekly_report", "scheduled",
          "Last week's figures, per channel and department.",
          tags=("report",), cron="0 8 * * 1", timezone=ORG_TIMEZONE),

Every scheduled entry runs one at a time: a run due while the previous one still runs is
cancelled (``CANCEL_NEW``; the running one catches up). On-demand entries (no schedule) queue
instead (``ENQUEUE``): a backfill asked for twice runs twice, one after the other, and the
second finds the days the first finished already done.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

# The organisation's time zone (``organisation.timezone`` in the organisation YAML), read when
# the deployments are built.
ORG_TIMEZONE = "organisation"
DEFAULT_WORK_POOL = "socialops"
WORK_QUEUE = "default"

Collision = Literal["CANCEL_NEW", "ENQUEUE"]


@dataclass(frozen=True)
class Entry:
    """One deployment: which flow, its name, schedule (interval, or cron with a time zone, or
    none: on demand), default parameters and how overlapping runs are handled."""

    entrypoint: str  # "flows/<module>.py:<function>"
    name: str
    description: str
    tags: tuple[str, ...] = ()
    interval: timedelta | None = None
    cron: str | None = None
    timezone: str | None = None  # for cron; ORG_TIMEZONE for the organisation's
    parameters: dict[str, Any] = field(default_factory=dict)
    concurrency: int = 1
    collision: Collision | None = None  # default: CANCEL_NEW when scheduled, else ENQUEUE

    def __post_init__(self) -> None:
        if self.interval is not None and self.cron is not None:
            raise ValueError(f"{self.full_name}: give an interval or a cron, not both")
        if self.timezone is not None and self.cron is None:
            raise ValueError(f"{self.full_name}: a timezone needs a cron")

    @property
    def module(self) -> str:
        path, _, _ = self.entrypoint.partition(":")
        return path.removesuffix(".py").replace("/", ".")

    @property
    def function(self) -> str:
        return self.entrypoint.partition(":")[2]

    @property
    def scheduled(self) -> bool:
        return self.interval is not None or self.cron is not None

    @property
    def collision_strategy(self) -> Collision:
        return self.collision or ("CANCEL_NEW" if self.scheduled else "ENQUEUE")

    @property
    def flow_name(self) -> str:
        # The house convention: flows/ingest_mentions.py:ingest_mentions is "ingest-mentions".
        return self.function.replace("_", "-")

    @property
    def full_name(self) -> str:
        return f"{self.flow_name}/{self.name}"


CATALOG: tuple[Entry, ...] = (
    Entry(
        "flows/ingest_mentions.py:ingest_mentions",
        "scheduled",
        "Fetch, validate and store new mentions from every channel.",
        tags=("ingest",),
        interval=timedelta(minutes=5),
    ),
    Entry(
        "flows/ingest_mentions.py:ingest_mentions",
        "backfill",
        "Ad-hoc: walk back over the channels again (set backfill_hours).",
        tags=("ingest", "backfill"),
        parameters={"backfill_hours": 24},
    ),
    Entry(
        "flows/classify_mentions.py:classify_mentions",
        "reclassify",
        "Ad-hoc: classify a date range again (set since and until).",
        tags=("classify", "backfill"),
    ),
    # Scheduled classification runs inside route-mentions (stored -> owner notified within one
    # routing interval, and only one scheduled run ever classifies).
    Entry(
        "flows/route_mentions.py:route_mentions",
        "scheduled",
        "Assign classified mentions to the person on duty and notify them.",
        tags=("routing",),
        interval=timedelta(minutes=1),
    ),
    Entry(
        "flows/escalate_overdue.py:escalate_overdue",
        "scheduled",
        "Hand over at shift ends, escalate overdue items, remind, retry sends.",
        tags=("routing", "escalation"),
        interval=timedelta(minutes=2),
    ),
    Entry(
        "flows/backfill_mentions.py:backfill_mentions",
        "backfill",
        "Ad-hoc: fetch a time window again, day by day (set since and until).",
        tags=("ingest", "backfill"),
    ),
    Entry(
        "flows/draft_replies.py:draft_replies",
        "scheduled",
        "Draft replies for open assignments and ask their eligible approvers.",
        tags=("signoff",),
        interval=timedelta(minutes=1),
    ),
    # Claims in the database keep two publishers apart; one at a time only avoids piling up runs.
    Entry(
        "flows/publish_replies.py:publish_replies",
        "scheduled",
        "Publish approved replies and due planned posts, each exactly once.",
        tags=("signoff", "publish"),
        interval=timedelta(minutes=1),
    ),
    # One run per draft, started by draft-replies or `prefect deployment run review-draft/review
    # --param draft_id=N`. Any number may wait Suspended for a person (a suspended run holds
    # no slot), but each start costs a worker a process: two at a time, the rest queued, so a
    # morning of 300 new drafts never starves ingest and routing of the pool's workers.
    Entry(
        "flows/review_draft.py:review_draft",
        "review",
        "Approve, reject or edit one draft from the UI (set draft_id).",
        tags=("signoff", "review"),
        concurrency=2,
    ),
    Entry(
        "flows/weekly_report.py:weekly_report",
        "scheduled",
        "Write the last complete week's report and send its summary.",
        tags=("report",),
        cron="0 8 * * 1",
        timezone=ORG_TIMEZONE,
    ),
    Entry(
        "flows/watch_pipeline.py:watch_pipeline",
        "scheduled",
        "Tell operations on duty when a deployment keeps failing or its runs are late.",
        tags=("health",),
        interval=timedelta(minutes=5),
    ),
)


def work_pool() -> str:
    """The work pool prefect.yaml names: ``SOCIALOPS_WORK_POOL``, default ``socialops``."""
    return os.environ.get("SOCIALOPS_WORK_POOL") or DEFAULT_WORK_POOL


def entry(full_name: str) -> Entry:
    """The entry named ``<flow name>/<deployment name>`` (``ingest-mentions/scheduled``)."""
    for item in CATALOG:
        if item.full_name == full_name:
            return item
    raise KeyError(full_name)


def resolve_timezone(entry: Entry, org_timezone: str) -> str | None:
    if entry.timezone == ORG_TIMEZONE:
        return org_timezone
    return entry.timezone
