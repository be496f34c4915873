"""What ``socialops.routing`` offers other stages (tasks, the CLI, a later sign-off stage): its
entry points, and the building blocks they reuse without reaching into private names: picking
an owner, quiet hours, queueing a notification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from socialops import routing, storage
from socialops.config import OrgConfig
from socialops.db import session_scope
from socialops.rota.schedule import RotaEngine
from tests.routing_fixtures import add_classified, org_from, small_org

MONDAY_10 = datetime(2026, 11, 30, 10, tzinfo=UTC)  # GMT: London time is UTC
SATURDAY_22 = datetime(2026, 11, 28, 22, tzinfo=UTC)
MONDAY_OPENS = datetime(2026, 11, 30, 9, tzinfo=UTC)  # legal's business hours start


@pytest.fixture(scope="module")
def org() -> OrgConfig:
    return org_from(small_org())


@pytest.fixture(scope="module")
def engine(org: OrgConfig) -> RotaEngine:
    return RotaEngine(org)


def test_the_package_names_its_public_entry_points() -> None:
    assert len(routing.__all__) == len(set(routing.__all__))
    assert [name for name in routing.__all__ if name.startswith("_")] == []
    assert [name for name in routing.__all__ if not hasattr(routing, name)] == []
    used_by_tasks_and_cli = {
        "route_classified",
        "hand_over",
        "escalate",
        "remind_due_soon",
        "skip_stale_deferred",
        "assign_manually",
        "mark_acted",
        "assignments_for",
        "open_load",
        "RouteRun",
        "EscalationRun",
        "RoutingCycle",
        "RoutingError",
        "ROUTER",
    }
    building_blocks = {"OwnerPicker", "pick_owner", "quiet_until", "queue_notification"}
    assert used_by_tasks_and_cli | building_blocks <= set(routing.__all__)


def test_pick_owner_chooses_as_a_routing_pass_would_and_writes_nothing(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    on_shift = engine.on_duty("legal", MONDAY_10).on_shift
    with session_scope(database_url) as session:
        first = routing.pick_owner(
            session=session, engine=engine, department="legal", now=MONDAY_10
        )
        assert session.execute(select(storage.AssignmentRow)).first() is None
    assert first == (on_shift[0], "rota")  # all equally loaded: rota order
    with session_scope(database_url) as session:
        add_classified(session, external_id="l1", department="legal", fetched_at=MONDAY_10)
    with session_scope(database_url) as session:
        run = routing.route_classified(session=session, org=org, engine=engine, now=MONDAY_10)
    assert run.by_assignee == {on_shift[0]: 1}
    with session_scope(database_url) as session:
        second = routing.pick_owner(
            session=session, engine=engine, department="legal", now=MONDAY_10
        )
    assert second == (on_shift[1], "rota")  # the stored open load counts


def test_quiet_until_holds_only_normal_items_of_a_closed_department(engine: RotaEngine) -> None:
    later = MONDAY_OPENS + timedelta(days=1)

    def quiet(now: datetime, *, urgent: bool = False, due_at: datetime = later) -> datetime | None:
        return routing.quiet_until(engine, "legal", urgent=urgent, due_at=due_at, now=now)

    assert quiet(SATURDAY_22) == MONDAY_OPENS
    assert quiet(SATURDAY_22, urgent=True) is None
    assert quiet(MONDAY_10) is None  # open now
    assert quiet(SATURDAY_22, due_at=MONDAY_OPENS) is None  # never held past the due time


def test_queue_item_notification_queues_once_per_key_and_can_wait(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    with session_scope(database_url) as session:
        add_classified(session, external_id="l1", department="legal", fetched_at=MONDAY_10)
    with session_scope(database_url) as session:
        routing.route_classified(session=session, org=org, engine=engine, now=MONDAY_10)
    later = MONDAY_10 + timedelta(hours=8)
    queued: list[int] = []
    with session_scope(database_url) as session:
        item = session.execute(select(storage.AssignmentRow)).scalar_one()
        mention = session.get(storage.MentionRow, item.mention_id)
        assert mention is not None

        def queue() -> bool:
            return routing.queue_item_notification(
                session=session,
                org=org,
                engine=engine,
                key=f"probe:{item.id}",
                event="due_soon",
                recipient=item.assignee,
                department=item.department,
                mention=mention,
                due_at=item.due_at,
                urgent=False,
                now=MONDAY_10,
                assignment_id=item.id,
                into=queued,
                not_before=later,
            )

        assert (queue(), queue()) == (True, False)
    assert len(queued) == 1
    with session_scope(database_url) as session:
        note = session.get(storage.NotificationRow, queued[0])
        assert note is not None and note.event == "due_soon" and note.status == "pending"
        assert note.deferred_until == note.next_attempt_at == later
