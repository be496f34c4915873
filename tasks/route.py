"""Routing tasks: assign classified mentions, hand over at shift ends, escalate, remind."""

from __future__ import annotations

from datetime import datetime

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from socialops import reports, routing
from socialops.config import OrgConfig, load_config
from socialops.db import session_scope
from socialops.notify import utc
from socialops.rota.schedule import RotaEngine, engine_for
from socialops.settings import get_settings


def _org() -> tuple[OrgConfig, RotaEngine]:
    settings = get_settings()
    org = load_config(settings.config, channels_path=settings.channels)
    return org, engine_for(org)


@task(name="route-classified", cache_policy=NO_CACHE)
def route_classified(now: datetime | None = None, limit: int = 500) -> routing.RouteRun:
    """Give each classified, unassigned mention an owner on duty and a due time (committed
    with its queued notification, before anything is sent), and follow reclassifications of
    open items (re-route, withdraw, raise urgency)."""
    org, engine = _org()
    with session_scope(get_settings().resolved_database_url()) as session:
        run = routing.route_classified(
            session=session, org=org, engine=engine, now=utc(now), limit=limit
        )
    logger = get_run_logger()
    logger.info(
        "routed %d (%d urgent), %d left without anyone on duty, %d notifications held for "
        "business hours: %s",
        run.routed,
        run.urgent,
        run.unassigned,
        run.deferred,
        run.by_department,
    )
    if run.changes or run.relabelled:
        logger.info(
            "reclassified: %d re-routed, %d withdrawn, %d reopened, %d now urgent, "
            "%d relabelled (owner kept)%s",
            run.rerouted,
            run.withdrawn,
            run.reopened,
            run.raised,
            run.relabelled,
            "".join(f"\n- {line}" for line in run.changes[:50]),
        )
    return run


@task(name="hand-over", cache_policy=NO_CACHE)
def hand_over(now: datetime | None = None) -> routing.EscalationRun:
    """Move open items from people whose shift ended (or who are on leave) to those on duty."""
    org, engine = _org()
    at = utc(now)
    run = routing.EscalationRun(at=at)
    with session_scope(get_settings().resolved_database_url()) as session:
        routing.hand_over(session=session, org=org, engine=engine, now=at, run=run)
    get_run_logger().info(
        "handed over %d open items (%d notices held for business hours)",
        run.handed_over,
        run.deferred,
    )
    return run


@task(name="escalate-overdue-items", cache_policy=NO_CACHE)
def escalate_overdue_items(now: datetime | None = None) -> routing.EscalationRun:
    """Past due and untouched: backup, then lead, then duty manager."""
    org, engine = _org()
    at = utc(now)
    run = routing.EscalationRun(at=at)
    with session_scope(get_settings().resolved_database_url()) as session:
        routing.escalate(session=session, org=org, engine=engine, now=at, run=run)
    get_run_logger().info(
        "escalated %d steps (%d without anyone to take them)", run.escalated, run.skipped_steps
    )
    return run


@task(name="remind-due-soon", cache_policy=NO_CACHE)
def remind_due_soon(now: datetime | None = None) -> routing.EscalationRun:
    """Tell owners once before an item falls due."""
    org, engine = _org()
    at = utc(now)
    run = routing.EscalationRun(at=at)
    with session_scope(get_settings().resolved_database_url()) as session:
        routing.remind_due_soon(session=session, org=org, engine=engine, now=at, run=run)
    return run


@task(name="publish-routing-summary", cache_policy=NO_CACHE)
def publish_routing_summary(cycle: routing.RoutingCycle) -> str | None:
    """The run's markdown artifact (``routing-summary`` or ``escalation-summary``); none when
    the run changed and sent nothing, so a quiet minute does not hide the last busy one."""
    if not reports.routing_did_something(cycle):
        get_run_logger().info("nothing routed, escalated or sent: no artifact")
        return None
    markdown = reports.routing_summary_markdown(cycle)
    key, what = (
        ("routing-summary", "Mentions routed per department and person, queues, notifications")
        if cycle.route is not None
        else ("escalation-summary", "Hand-overs, escalation steps, reminders, notifications")
    )
    create_markdown_artifact(markdown=markdown, key=key, description=what)
    return markdown
