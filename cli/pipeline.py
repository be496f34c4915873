"""The pipeline's stages as commands run them: each flow once, then its table on the console.

Shared by ``socialops ingest``, ``run`` and ``demo``. A flow that does not finish raises
``CommandFailed`` with its final state.
"""

from __future__ import annotations

from typing import Any

from cli.app import CommandFailed, console, quiet_prefect_console


def check_channels(org: Any, names: list[str] | None) -> None:
    """Fail fast, before any flow starts: unknown channel names, tokens not set."""
    channels = [org.channel(n) for n in names] if names else [c for c in org.channels if c.enabled]
    if not channels:
        raise CommandFailed("no enabled channels in the configuration")
    for channel in channels:
        channel.token()


def run_ingest(channels: list[str] | None, backfill_hours: float | None) -> Any:
    """The ingest flow once: its ``IngestRun`` and final state."""
    from flows import run_sync
    from flows.ingest_mentions import ingest_mentions
    from socialops.ingest import IngestRun

    quiet_prefect_console()
    state = run_sync(
        ingest_mentions(channels=channels, backfill_hours=backfill_hours, return_state=True)
    )
    outcome = state.result(raise_on_failure=False)
    if isinstance(outcome, IngestRun):
        return outcome, state
    raise CommandFailed(f"the ingest flow ended {state.type.value}: {state.message}")


def show_ingest(run: Any) -> None:
    from cli.render import failure_lines, ingest_table

    console.print(ingest_table(run.results, run.failures))
    for line in failure_lines(run.failures, run.results):
        console.print(line, soft_wrap=True, highlight=False)


def run_classify(since: Any = None, until: Any = None) -> list[Any]:
    """The classify flow once: its batches."""
    from flows.classify_mentions import classify_mentions

    quiet_prefect_console()
    state = classify_mentions(since=since, until=until, return_state=True)
    outcome = state.result(raise_on_failure=False)
    if isinstance(outcome, BaseException):
        raise CommandFailed(f"the classify flow ended {state.type.value}: {state.message}")
    return list(outcome)


def show_classify(batches: list[Any]) -> None:
    from cli.render import classify_table

    console.print(classify_table(batches))


def run_route() -> Any:
    """Route everything classified and not yet owned, then one escalation pass: the routing
    run's figures, with what both runs sent (the table counts every notification sent)."""
    from flows.escalate_overdue import escalate_overdue
    from flows.route_mentions import route_mentions

    quiet_prefect_console()
    routed = route_mentions(limit=1_000_000, return_state=True)
    cycle = routed.result(raise_on_failure=False)
    if isinstance(cycle, BaseException):
        raise CommandFailed(f"the route flow ended {routed.type.value}: {routed.message}")
    escalated = escalate_overdue(return_state=True)
    sweep = escalated.result(raise_on_failure=False)
    if isinstance(sweep, BaseException):
        raise CommandFailed(
            f"the escalation flow ended {escalated.type.value}: {escalated.message}"
        )
    return cycle.model_copy(
        update={"escalation": sweep.escalation, "delivery": cycle.delivery.merged(sweep.delivery)}
    )


def show_route(cycle: Any) -> None:
    from cli.render import route_table

    console.print(route_table(cycle))


def run_morning() -> Any:
    """Simulate the morning: the scheduled flows (hand-over, then routing) at each next
    opening of a department that is closed with items in its queue, as the schedules would
    run them then. Returns (when, per person (open items taken from a queue, other open
    items: urgent or escalated), queue per department, cap)."""
    from datetime import UTC, datetime

    from sqlalchemy import func, select

    from flows.escalate_overdue import escalate_overdue
    from flows.route_mentions import route_mentions
    from socialops import routing, storage
    from socialops.config import load_config
    from socialops.db import session_scope
    from socialops.rota.schedule import engine_for
    from socialops.settings import get_settings

    settings = get_settings()
    org = load_config(settings.config, channels_path=settings.channels)
    engine = engine_for(org)
    now = datetime.now(UTC)
    url = settings.resolved_database_url()
    with session_scope(url) as session:
        queue = routing.queue_lengths(session=session)
    openings = sorted(
        {
            opens
            for department in queue
            if department in engine.calendars
            and engine.calendars[department].period_at(now) is None
            and (opens := engine.calendars[department].next_open(now)) is not None
        }
    )
    for at in openings or [now]:
        for flow in (escalate_overdue, route_mentions):
            state = flow(now=at, return_state=True)
            if isinstance(state.result(raise_on_failure=False), BaseException):
                raise CommandFailed(f"the {flow.name} flow ended {state.type.value}")
    with session_scope(url) as session:
        loads = routing.open_load(session=session)
        queue = routing.queue_lengths(session=session)
        a = storage.AssignmentRow
        taken = dict(
            session.execute(
                select(a.assignee, func.count())
                .where(a.status == routing.OPEN, a.queued_at.is_not(None))
                .group_by(a.assignee)
            ).all()
        )
    people = {h: (int(taken.get(h, 0)), n - int(taken.get(h, 0))) for h, n in loads.items()}
    return (openings or [now])[-1], people, queue, org.routing.max_open_per_person


def show_morning(morning: Any) -> None:
    from cli.render import morning_table

    console.print(morning_table(*morning))
