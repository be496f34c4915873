"""The routing and escalation flows on the real Prefect engine, with Apprise delivering to a
local HTTP endpoint: what arrives, failures that never block routing, retries, escalation
timing against the schedule interval, and the deployments."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from deployments.serve import ESCALATE_EVERY, ROUTE_EVERY, routing_deployments
from flows.escalate_overdue import escalate_overdue
from flows.route_mentions import route_mentions
from socialops import routing, storage
from socialops.db import session_scope
from socialops.routing import RoutingCycle
from socialops.settings import get_settings, reset_settings_cache
from tests.routing_fixtures import (
    Endpoint,
    add_classified,
    reclassify,
    small_org,
    start_endpoint,
    write_org,
)

pytestmark = pytest.mark.usefixtures("prefect_api")

NIGHT = datetime(2026, 12, 1, 23, 12, tzinfo=UTC)  # Tuesday 23:12 in London, 18:12 in New York


@pytest.fixture
def endpoint(socialops_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Endpoint]:
    """The small organisation, its notifications pointed at a local endpoint."""
    for server in start_endpoint():
        config = write_org(socialops_env / "org.yaml", small_org())
        monkeypatch.setenv("SOCIALOPS_CONFIG", str(config))
        monkeypatch.setenv("TEST_NOTIFY_URL", server.url("notify/{handle}"))
        reset_settings_cache()
        yield server


def add(**kwargs: object) -> int:
    with session_scope(get_settings().resolved_database_url()) as session:
        return add_classified(session, **kwargs)  # type: ignore[arg-type]


def notifications() -> list[storage.NotificationRow]:
    with session_scope(get_settings().resolved_database_url()) as session:
        rows = list(session.execute(select(storage.NotificationRow)).scalars())
        session.expunge_all()
        return rows


def run(flow: object, now: datetime) -> RoutingCycle:
    state = flow(now=now, return_state=True)  # type: ignore[operator]
    assert state.is_completed(), state.message
    result = state.result()
    assert isinstance(result, RoutingCycle)
    return result


def test_route_flow_assigns_and_notifies_the_person_on_duty(endpoint: Endpoint) -> None:
    urgent = add(
        external_id="u1",
        department="legal",
        urgent=True,
        fetched_at=NIGHT - timedelta(minutes=1),
        text="Your coffee burned me, calling my lawyer",
    )
    normal = add(external_id="n1", department="customer_relations", fetched_at=NIGHT)
    cycle = run(route_mentions, NIGHT)
    assert cycle.route is not None and cycle.route.routed == 1 and cycle.route.urgent == 1
    # The urgent page goes at once; the normal item waits in the care desk's queue, with no
    # owner, for the desk to open (it used to be the on-call person's, announced at 08:00).
    assert cycle.delivery.sent == 1 and cycle.delivery.failed == 0
    assert cycle.route.queued == 1 and cycle.route.queue == {"customer_relations": 1}
    [arrival] = endpoint.wait_for(1)
    assert len(set(cycle.route.by_assignee)) == 1
    legal = arrival.payload
    assert legal["title"].startswith("URGENT [Legal]")
    assert legal["type"] == "warning"
    assert f"mention {urgent}" in legal["title"]
    assert "calling my lawyer" in legal["message"]
    assert "EST" in legal["message"]  # the due time in the New York on-call person's zone
    by_mention = {n.mention_id: n for n in notifications()}
    assert by_mention[urgent].status == "sent"
    assert arrival.path.endswith(f"/{by_mention[urgent].recipient}")
    assert normal not in by_mention and owner_of(normal) is None
    # A second run routes nothing and sends nothing.
    again = run(route_mentions, NIGHT + timedelta(minutes=1))
    assert again.route is not None and again.route.routed == 0 and again.delivery.sent == 0
    assert len(endpoint.arrivals) == 1


def test_a_broken_notification_service_never_blocks_routing(endpoint: Endpoint) -> None:
    endpoint.fail = True
    mention = add(external_id="u2", department="legal", urgent=True, fetched_at=NIGHT)
    cycle = run(route_mentions, NIGHT)
    assert cycle.route is not None and cycle.route.routed == 1
    assert cycle.delivery.failed == 1 and cycle.delivery.sent == 0
    with session_scope(get_settings().resolved_database_url()) as session:
        owned = session.execute(
            select(storage.AssignmentRow).where(storage.AssignmentRow.mention_id == mention)
        ).scalar_one()
        assert owned.status == "open"  # committed before anything was sent
    [note] = notifications()
    assert note.status == "failed" and note.attempts == 1 and endpoint.arrivals == []
    # The service recovers; the escalation flow's delivery retries once the backoff has passed.
    endpoint.fail = False
    early = run(escalate_overdue, NIGHT + timedelta(seconds=30))
    assert early.delivery.sent == 0
    later = run(escalate_overdue, NIGHT + timedelta(minutes=2))
    assert later.delivery.sent == 1
    [arrival] = endpoint.wait_for(1)
    assert arrival.payload["title"].startswith("URGENT [Legal]")
    [note] = notifications()
    assert note.status == "sent" and note.attempts == 2


def test_escalation_fires_within_one_interval_of_the_due_time(endpoint: Endpoint) -> None:
    mention = add(external_id="e1", department="legal", urgent=True, fetched_at=NIGHT)
    first = run(route_mentions, NIGHT)
    assert first.route is not None
    owner = next(iter(first.route.by_assignee))
    due = NIGHT + timedelta(minutes=30)
    interval = ESCALATE_EVERY
    # The schedule ticks every interval from an arbitrary phase; the step fires on the first
    # tick at or after the due time.
    tick = due - 2 * interval + timedelta(seconds=17)
    fired: RoutingCycle | None = None
    while fired is None:
        cycle = run(escalate_overdue, tick)
        if cycle.escalation is not None and cycle.escalation.escalated:
            fired = cycle
            break
        tick += interval
    assert timedelta(0) <= tick - due < interval
    assert fired.escalation is not None
    [line] = fired.escalation.steps
    assert line.startswith(f"mention {mention}: {owner} -> ") and line.endswith("(backup)")
    backup = line.split(" -> ")[1].split(" ")[0]
    assert backup != owner
    escalated = [a for a in endpoint.wait_for(2) if a.path.endswith(f"/{backup}")]
    assert escalated and escalated[0].payload["title"].startswith("Escalated to you (backup)")


def owner_of(mention_id: int) -> str | None:
    with session_scope(get_settings().resolved_database_url()) as session:
        return session.execute(
            select(storage.AssignmentRow.assignee).where(
                storage.AssignmentRow.mention_id == mention_id
            )
        ).scalar_one()


def test_route_flow_follows_a_reclassification(endpoint: Endpoint) -> None:
    monday = datetime(2026, 11, 30, 10, tzinfo=UTC)
    mention = add(external_id="r1", department="legal", fetched_at=monday)
    first = run(route_mentions, monday)
    assert first.delivery.sent == 1 and owner_of(mention) == "ann"
    with session_scope(get_settings().resolved_database_url()) as session:
        reclassify(session, mention, department="customer_relations")
    cycle = run(route_mentions, monday + timedelta(minutes=5))
    assert cycle.route is not None and cycle.route.rerouted == 1 and cycle.route.routed == 0
    assert cycle.delivery.sent == 2 and owner_of(mention) == "eve"
    arrivals = endpoint.wait_for(3)
    assert [a.payload["title"] for a in endpoint.to("eve")] == [
        f"[Care] Mention {mention} is yours"
    ]
    assert [a.payload["title"] for a in endpoint.to("ann")] == [
        f"[Legal] Mention {mention} is yours",
        f"[Legal] Mention {mention} is no longer yours",
    ]
    assert len(arrivals) == 3
    again = run(route_mentions, monday + timedelta(minutes=6))
    assert again.route is not None and again.route.changes == [] and again.delivery.sent == 0


def test_a_night_backlog_waits_in_the_queue_and_the_flows_spread_it_at_the_opening(
    endpoint: Endpoint,
) -> None:
    """2,000 normal and 50 urgent legal mentions overnight: the on-call people own only the
    urgent ones; at 09:00 the scheduled flows give the queue out, 25 each (the default cap),
    and a re-run changes nothing."""
    monday_night = datetime(2026, 12, 7, 22, tzinfo=UTC)
    step = timedelta(hours=10) / 2050
    with session_scope(get_settings().resolved_database_url()) as session:
        for i in range(2050):
            add_classified(
                session,
                external_id=f"b{i}",
                department="legal",
                urgent=i % 41 == 0,
                fetched_at=monday_night + i * step,
            )
    night = run_routing(at=datetime(2026, 12, 8, 8, 1, tzinfo=UTC))
    assert night.route is not None
    assert (night.route.routed, night.route.urgent, night.route.queued) == (50, 50, 2000)
    assert set(night.route.by_assignee) <= {"ann", "bob", "cat", "dan"}  # legal's on-call
    assert night.delivery.sent == 50  # the urgent pages, and nothing else
    with session_scope(get_settings().resolved_database_url()) as session:
        a = storage.AssignmentRow
        for mention_id, owner in session.execute(
            select(a.mention_id, a.assignee).where(a.urgent)
        ).all():
            routing.mark_acted(
                session=session, mention_id=mention_id, actor=owner, now=night.route.at
            )
    opens = datetime(2026, 12, 8, 9, tzinfo=UTC)
    run(escalate_overdue, opens)
    morning = run(route_mentions, opens)
    assert morning.route is not None
    assert morning.route.by_assignee == {"ann": 25, "bob": 25, "lee": 25}
    assert morning.route.queue == {"legal": 1925} and morning.delivery.sent == 75
    calm = run(escalate_overdue, opens + timedelta(minutes=1)).escalation
    assert calm is not None and (calm.handed_over, calm.requeued, calm.escalated) == (0, 0, 0)
    again = run(route_mentions, opens + timedelta(minutes=1))
    assert again.route is not None and again.route.from_queue == 0
    assert again.route.queue == {"legal": 1925} and again.delivery.sent == 0


def run_routing(at: datetime) -> RoutingCycle:
    state = route_mentions(now=at, limit=5000, return_state=True)
    assert state.is_completed(), state.message
    result = state.result()
    assert isinstance(result, RoutingCycle)
    return result


def test_routing_deployments_are_scheduled_one_at_a_time() -> None:
    route, escalate = routing_deployments()
    assert route.flow_name == "route-mentions" and escalate.flow_name == "escalate-overdue"
    assert route.schedules[0].schedule.interval == ROUTE_EVERY == timedelta(minutes=1)
    assert escalate.schedules[0].schedule.interval == ESCALATE_EVERY == timedelta(minutes=2)
    for deployment in (route, escalate):
        assert deployment.concurrency_limit == 1
        assert deployment.concurrency_options.collision_strategy.value == "CANCEL_NEW"


def _artifacts(flow_run_id: object) -> dict[str, str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
    return {a.key: str(a.data) for a in found if a.key}


def test_routing_and_escalation_runs_leave_a_summary_and_quiet_runs_none(
    endpoint: Endpoint,
) -> None:
    add(external_id="u1", department="legal", urgent=True, fetched_at=NIGHT)
    add(external_id="n1", department="customer_relations", fetched_at=NIGHT)
    state = route_mentions(now=NIGHT, return_state=True)
    assert state.is_completed(), state.message
    cycle = state.result()
    summary = _artifacts(state.state_details.flow_run_id)["routing-summary"]
    assert cycle.route is not None and cycle.route.routed == 1 and cycle.route.queued == 1
    assert "1 given an owner (1 urgent" in summary and "1 new ones queued" in summary
    assert "| legal | 1 |" in summary and "| customer_relations | 1 |" in summary
    assert f"Notifications: {cycle.delivery.sent} sent" in summary
    # The same minute again changes and sends nothing: no artifact, so the UI keeps the last.
    again = route_mentions(now=NIGHT, return_state=True)
    assert again.is_completed() and "routing-summary" not in _artifacts(
        again.state_details.flow_run_id
    )
    later = escalate_overdue(now=NIGHT + timedelta(hours=3), return_state=True)
    assert later.is_completed(), later.message
    steps = later.result().escalation
    found = _artifacts(later.state_details.flow_run_id)
    # Three hours on, the urgent legal item is past due and untouched: it escalates.
    assert steps.escalated >= 1
    assert f"{steps.escalated} escalation steps" in found["escalation-summary"]
