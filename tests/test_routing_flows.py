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
from socialops import storage
from socialops.db import session_scope
from socialops.routing import RoutingCycle
from socialops.settings import get_settings, reset_settings_cache
from tests.routing_fixtures import Endpoint, add_classified, small_org, start_endpoint, write_org

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
    add(external_id="n1", department="customer_relations", fetched_at=NIGHT)
    cycle = run(route_mentions, NIGHT)
    assert cycle.route is not None and cycle.route.routed == 2 and cycle.route.urgent == 1
    assert cycle.delivery.sent == 2 and cycle.delivery.failed == 0
    arrivals = endpoint.wait_for(2)
    by_path = {a.path.rsplit("/", 1)[-1]: a.payload for a in arrivals}
    on_call = set(cycle.route.by_assignee)
    assert set(by_path) == on_call and len(on_call) == 2
    legal = next(p for p in by_path.values() if p["title"].startswith("URGENT [Legal]"))
    assert legal["type"] == "warning"
    assert f"mention {urgent}" in legal["title"]
    assert "calling my lawyer" in legal["message"]
    assert "EST" in legal["message"]  # the due time in the New York on-call person's zone
    assert {n.status for n in notifications()} == {"sent"}
    # A second run routes nothing and sends nothing.
    again = run(route_mentions, NIGHT + timedelta(minutes=1))
    assert again.route is not None and again.route.routed == 0 and again.delivery.sent == 0
    assert len(endpoint.arrivals) == 2


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


def test_routing_deployments_are_scheduled_one_at_a_time() -> None:
    route, escalate = routing_deployments()
    assert route.flow_name == "route-mentions" and escalate.flow_name == "escalate-overdue"
    assert route.schedules[0].schedule.interval == ROUTE_EVERY == timedelta(minutes=1)
    assert escalate.schedules[0].schedule.interval == ESCALATE_EVERY == timedelta(minutes=2)
    for deployment in (route, escalate):
        assert deployment.concurrency_limit == 1
        assert deployment.concurrency_options.collision_strategy.value == "CANCEL_NEW"
