"""Routing, hand-over, escalation and reminders on real SQLite and PostgreSQL, with a fixed
clock and the small London + New York organisation (tests/routing_fixtures.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from socialops import routing, storage
from socialops.config import OrgConfig
from socialops.db import session_scope
from socialops.rota.schedule import RotaEngine
from tests.routing_fixtures import add_classified, org_from, small_org


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


MONDAY_10 = at(2026, 11, 30, 10)  # GMT: London time is UTC


@pytest.fixture(scope="module")
def org() -> OrgConfig:
    return org_from(small_org())


@pytest.fixture(scope="module")
def engine(org: OrgConfig) -> RotaEngine:
    return RotaEngine(org)


def route(url: str, org: OrgConfig, engine: RotaEngine, now: datetime) -> routing.RouteRun:
    with session_scope(url) as session:
        return routing.route_classified(session=session, org=org, engine=engine, now=now)


def step(url: str, org: OrgConfig, engine: RotaEngine, now: datetime) -> routing.EscalationRun:
    run = routing.EscalationRun(at=now)
    with session_scope(url) as session:
        routing.hand_over(session=session, org=org, engine=engine, now=now, run=run)
        routing.escalate(session=session, org=org, engine=engine, now=now, run=run)
        routing.remind_due_soon(session=session, org=org, engine=engine, now=now, run=run)
    return run


def hand_over(url: str, org: OrgConfig, engine: RotaEngine, now: datetime) -> routing.EscalationRun:
    run = routing.EscalationRun(at=now)
    with session_scope(url) as session:
        routing.hand_over(session=session, org=org, engine=engine, now=now, run=run)
    return run


def add(url: str, **kwargs: Any) -> int:
    with session_scope(url) as session:
        return add_classified(session, **kwargs)


def assignment(url: str, mention_id: int) -> storage.AssignmentRow:
    with session_scope(url) as session:
        row = session.execute(
            select(storage.AssignmentRow).where(storage.AssignmentRow.mention_id == mention_id)
        ).scalar_one()
        session.expunge(row)
        return row


def rows(url: str, model: type[Any], **where: Any) -> list[Any]:
    with session_scope(url) as session:
        stmt = select(model)
        for key, value in where.items():
            stmt = stmt.where(getattr(model, key) == value)
        found = list(session.execute(stmt.order_by(model.id)).scalars())
        session.expunge_all()
        return found


def test_business_hours_share_by_least_load_round_robin_and_route_once(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    ids = [
        add(
            database_url,
            external_id=f"l{i}",
            department="legal",
            fetched_at=at(2026, 11, 30, 9, 50),
        )
        for i in range(6)
    ]
    run = route(database_url, org, engine, MONDAY_10)
    assert run.routed == 6 and run.urgent == 0 and run.unassigned == 0
    assert run.by_assignee == {"ann": 2, "bob": 2, "lee": 2}
    assert run.by_department == {"legal": 6}
    first = assignment(database_url, ids[0])
    # 09:50 + 4 business hours: 2h40 to the lunch break, then 1h20 from 13:30.
    assert first.due_at == at(2026, 11, 30, 14, 50)
    assert first.status == "open" and first.source == "rota" and first.escalation_level == 0
    assert first.next_escalation_at == first.due_at  # the first step fires at the due time
    assert len(run.notifications) == 6
    notes = rows(database_url, storage.NotificationRow)
    assert {n.event for n in notes} == {"assigned"} and {n.status for n in notes} == {"pending"}
    assert "First response due Mon 30 Nov 14:50 GMT" in notes[0].body
    audits = rows(database_url, storage.AuditRow, action="assigned")
    assert len(audits) == 6 and audits[0].details["shift"] == "business-hours"
    # Twice: nothing new.
    assert route(database_url, org, engine, MONDAY_10 + timedelta(minutes=1)).routed == 0
    assert len(rows(database_url, storage.AssignmentRow)) == 6
    # The next one goes to whoever has the least open load (all equal: least recently given).
    add(database_url, external_id="l6", department="legal", fetched_at=at(2026, 11, 30, 10, 5))
    with session_scope(database_url) as session:
        routing.mark_acted(session=session, mention_id=ids[0], actor="cli:ann", now=MONDAY_10)
    again = route(database_url, org, engine, MONDAY_10 + timedelta(minutes=6))
    assert again.by_assignee == {first.assignee: 1}  # one fewer open item than the others


def test_urgent_at_night_goes_to_the_on_call_person_at_once(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    night = at(2026, 12, 1, 23, 12)
    urgent = add(
        database_url,
        external_id="u1",
        department="legal",
        urgent=True,
        fetched_at=at(2026, 12, 1, 23, 10),
        text="I will sue you",
    )
    saturday = add(
        database_url, external_id="n1", department="legal", fetched_at=at(2026, 11, 28, 11)
    )
    run = route(database_url, org, engine, night)
    assert run.routed == 2 and run.urgent == 1
    on_call = engine.on_duty("legal", night)
    assert on_call.shift == "out-of-hours" and on_call.primary in {"cat", "dan"}  # New York
    item = assignment(database_url, urgent)
    assert item.assignee == on_call.primary and item.urgent
    assert item.due_at == at(2026, 12, 1, 23, 40)  # 30 minutes, whatever the hour
    # A normal mention from Saturday is due on Monday within business hours.
    assert assignment(database_url, saturday).due_at == at(2026, 11, 30, 14)
    [page] = rows(database_url, storage.NotificationRow, event="urgent")
    assert page.urgent and page.recipient == on_call.primary and page.status == "pending"
    assert page.title.startswith("URGENT [Legal] mention") and "I will sue you" in page.body
    assert run.notifications[0] == page.id  # urgent first


def test_triage_and_unknown_departments_go_to_the_community_desk(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    unsure = add(database_url, external_id="t1", department="triage", fetched_at=MONDAY_10)
    odd = add(database_url, external_id="t2", department="finance", fetched_at=MONDAY_10)
    spam = add(database_url, external_id="t3", department="none", fetched_at=MONDAY_10)
    threat = add(
        database_url, external_id="t4", department="none", urgent=True, fetched_at=MONDAY_10
    )
    run = route(database_url, org, engine, MONDAY_10)
    assert run.by_department == {"triage": 3} and run.urgent == 1
    assert assignment(database_url, threat).assignee == "eve"
    with session_scope(database_url) as session:
        assert routing.assignments_for(session=session, mention_ids=[spam]) == {}  # nobody
    # Fay works from noon: only Eve is on the community desk at 10:00.
    assert assignment(database_url, unsure).assignee == "eve"
    assert assignment(database_url, odd).assignee == "eve"


def test_hand_over_at_shift_end_and_when_someone_goes_on_leave(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    care = add(
        database_url, external_id="c1", department="customer_relations", fetched_at=MONDAY_10
    )
    legal = add(database_url, external_id="l1", department="legal", fetched_at=MONDAY_10)
    route(database_url, org, engine, MONDAY_10)
    assert assignment(database_url, care).assignee == "eve"
    with session_scope(database_url) as session:
        routing.assign_manually(
            session=session,
            org=org,
            engine=engine,
            mention_id=legal,
            handle="bob",
            actor="cli:lee",
            now=MONDAY_10,
        )
    # 20:05: the care desk has closed; the evening belongs to New York's on-call person.
    evening = at(2026, 11, 30, 20, 5)
    run = hand_over(database_url, org, engine, evening)
    on_call = engine.on_duty("customer_relations", evening).primary
    assert on_call in {"gus", "hal"}
    assert assignment(database_url, care).assignee == on_call
    assert assignment(database_url, legal).assignee == "bob"  # assigned by hand: kept
    assert run.handed_over == 1
    [moved] = rows(database_url, storage.AuditRow, action="handover")
    assert moved.subject_id == str(care)
    assert moved.details | {"at": None} == {
        "from": "eve",
        "to": on_call,
        "reason": "shift ended",
        "department": "customer_relations",
        "at": None,
    }
    [note] = rows(database_url, storage.NotificationRow, event="handover")
    assert note.recipient == on_call and note.title == "Hand-over: 1 open item(s) are now yours"
    assert f"mention {care} (customer_relations, normal) from eve" in note.body
    # Tuesday 10:00: back to the desk; Bob is on leave (1-3 December), so his item moves too.
    tuesday = at(2026, 12, 1, 10)
    assert hand_over(database_url, org, engine, tuesday).handed_over == 2
    assert assignment(database_url, care).assignee == "eve"
    assert assignment(database_url, legal).assignee in {"ann", "lee"}
    reasons = {
        a.subject_id: a.details["reason"]
        for a in rows(database_url, storage.AuditRow, action="handover")
        if a.details["at"] == tuesday.isoformat()
    }
    assert reasons == {str(care): "shift ended", str(legal): "on leave"}
    # Nothing more to move an hour later.
    assert hand_over(database_url, org, engine, tuesday + timedelta(hours=1)).handed_over == 0


def test_escalation_climbs_backup_lead_duty_manager_within_one_interval(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    mention = add(
        database_url, external_id="e1", department="legal", fetched_at=at(2026, 11, 30, 9, 50)
    )
    route(database_url, org, engine, MONDAY_10)
    item = assignment(database_url, mention)
    due = item.due_at
    assert due == at(2026, 11, 30, 14, 50)
    interval = timedelta(minutes=5)
    t = at(2026, 11, 30, 14, 12)  # the schedule's phase is arbitrary
    reminded = 0
    while t <= due + timedelta(hours=2):
        reminded += step(database_url, org, engine, t).reminded
        t += interval
    assert reminded == 1  # once, half an hour before the due time
    steps = rows(database_url, storage.EscalationStepRow, assignment_id=item.id)
    assert [s.level for s in steps] == [1, 2, 3]
    assert [s.target for s in steps] == ["backup", "lead", "duty_manager"]
    for s, after in zip(
        steps, (timedelta(0), timedelta(minutes=30), timedelta(hours=1)), strict=True
    ):
        assert timedelta(0) <= s.fired_at - (due + after) < interval
    # Who: the backup on duty at that instant, then the department's lead, then the manager.
    duty = engine.on_duty("legal", steps[0].fired_at)
    expected_backup = next(
        h for h in (duty.backup, duty.primary, *duty.on_shift) if h and h != item.assignee
    )
    assert steps[0].from_person == item.assignee and steps[0].to_person == expected_backup
    assert steps[1].to_person == ("lee" if expected_backup != "lee" else None)
    manager = engine.duty_manager(steps[2].fired_at)
    assert manager is not None
    assert steps[2].to_person in {manager.primary, manager.backup}
    final = assignment(database_url, mention)
    assert final.escalation_level == 3 and final.next_escalation_at is None
    assert final.assignee == steps[2].to_person and final.source == "escalation"
    escalated = rows(database_url, storage.NotificationRow, event="escalated")
    assert [n.recipient for n in escalated] == [s.to_person for s in steps if s.to_person]
    assert all(n.urgent for n in escalated)
    audits = rows(database_url, storage.AuditRow, subject_id=str(mention))
    assert [a.action for a in audits].count("escalated") == len(escalated)


def test_acted_items_do_not_escalate_and_a_late_run_catches_up(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    done = add(
        database_url, external_id="a1", department="legal", fetched_at=at(2026, 11, 30, 9, 50)
    )
    late = add(
        database_url, external_id="a2", department="legal", fetched_at=at(2026, 11, 30, 9, 50)
    )
    route(database_url, org, engine, MONDAY_10)
    with session_scope(database_url) as session:
        assert routing.mark_acted(session=session, mention_id=done, actor="cli:ann", now=MONDAY_10)
        assert not routing.mark_acted(
            session=session, mention_id=done, actor="cli:ann", now=MONDAY_10
        )
    # The scheduler was down: the first run comes 70 minutes after the due time.
    run = step(database_url, org, engine, at(2026, 11, 30, 16))
    assert assignment(database_url, done).escalation_level == 0
    assert assignment(database_url, done).status == "acted"
    levels = [s.level for s in rows(database_url, storage.EscalationStepRow)]
    assert levels == [1, 2, 3]
    assert run.escalated + run.skipped_steps == 3
    assert assignment(database_url, late).escalation_level == 3
    # Running again changes nothing.
    again = step(database_url, org, engine, at(2026, 11, 30, 16, 5))
    assert again.escalated == 0 and len(rows(database_url, storage.EscalationStepRow)) == 3


def test_manual_assignment_is_audited_notified_and_kept(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    mention = add(database_url, external_id="m1", department="legal", fetched_at=MONDAY_10)
    unrouted = add(database_url, external_id="m2", department="hr", fetched_at=MONDAY_10)
    route(database_url, org, engine, MONDAY_10)
    with session_scope(database_url) as session:
        view = routing.assign_manually(
            session=session,
            org=org,
            engine=engine,
            mention_id=mention,
            handle="cat",
            actor="cli:lee",
            now=MONDAY_10 + timedelta(minutes=5),
        )
        with pytest.raises(routing.RoutingError, match="no person with handle 'zed'"):
            routing.assign_manually(
                session=session,
                org=org,
                engine=engine,
                mention_id=mention,
                handle="zed",
                actor="cli:lee",
                now=MONDAY_10,
            )
        with pytest.raises(routing.RoutingError, match="no mention with id 999999"):
            routing.assign_manually(
                session=session,
                org=org,
                engine=engine,
                mention_id=999999,
                handle="cat",
                actor="cli:lee",
                now=MONDAY_10,
            )
    assert view.assignee == "cat" and view.source == "manual" and view.department == "legal"
    [audit] = rows(database_url, storage.AuditRow, action="assign")
    assert audit.actor == "cli:lee" and audit.details["to"] == "cat"
    [note] = rows(database_url, storage.NotificationRow, event="reassigned")
    assert note.recipient == "cat" and "cli:lee assigned mention" in note.body
    # Cat is not on shift at 11:00, but a hand-assigned item stays with her.
    step(database_url, org, engine, at(2026, 11, 30, 11))
    assert assignment(database_url, mention).assignee == "cat"
    # "hr" is not a department of this organisation: its mention was routed to triage.
    with session_scope(database_url) as session:
        views = routing.assignments_for(session=session, mention_ids=[mention, unrouted, 424242])
    assert set(views) == {mention, unrouted}
    assert views[unrouted].department == "triage"
    assert views[mention].overdue(views[mention].due_at) and not views[mention].overdue(MONDAY_10)


def test_nobody_on_shift_falls_back_to_the_lead(database_url: str) -> None:
    data = small_org()
    data["rotas"]["departments"]["legal"]["business_hours"] = ["bob"]
    org = org_from(data)
    engine = RotaEngine(org)
    tuesday = at(2026, 12, 1, 10)  # Bob is on leave
    mention = add(database_url, external_id="f1", department="legal", fetched_at=tuesday)
    run = route(database_url, org, engine, tuesday)
    assert run.routed == 1
    item = assignment(database_url, mention)
    assert item.assignee == "lee" and item.source == "fallback"
