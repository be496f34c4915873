"""Routing, hand-over, escalation and reminders on real SQLite and PostgreSQL, with a fixed
clock and the small London + New York organisation (tests/routing_fixtures.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from socialops import notify, routing, storage
from socialops.config import OrgConfig
from socialops.db import session_scope
from socialops.rota.schedule import RotaEngine
from tests.routing_fixtures import add_classified, org_from, reclassify, small_org


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


def reclass(url: str, mention_id: int, department: str, **kwargs: Any) -> int:
    with session_scope(url) as session:
        return reclassify(session, mention_id, department=department, **kwargs)


def deliver(
    url: str, org: OrgConfig, engine: RotaEngine, now: datetime
) -> tuple[int, list[notify.Outgoing]]:
    """What the send task does, with a chat service that always accepts: skip held
    notifications that no longer apply, claim what is due, record it as sent."""
    with session_scope(url) as session:
        skipped = routing.skip_stale_deferred(session=session, engine=engine, now=now)
        claimed = notify.claim_due(session=session, now=now)
    with session_scope(url) as session:
        for item in claimed:
            notify.record(
                session=session, org=org, outgoing=item, delivery=notify.Delivery(True), now=now
            )
    return skipped, claimed


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
    # Both go out now: urgent, and already overdue (quiet hours never hold past the due time).
    [late] = rows(database_url, storage.NotificationRow, event="assigned")
    assert late.mention_id == saturday and run.deferred == 0
    for note in (page, late):
        assert note.next_attempt_at == night and note.deferred_until is None


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
    # The desk has closed, but the item was due at 14:00: no holding it for the morning.
    assert run.deferred == 0 and note.deferred_until is None and note.next_attempt_at == evening
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


def test_nobody_on_shift_queues_normal_items_and_pages_the_lead_for_urgent_ones(
    database_url: str,
) -> None:
    # Before the department queues, a normal item went to the lead too: with a backlog, that
    # dumped it all on one person. Now only what cannot wait goes to the fallback.
    data = small_org()
    data["rotas"]["departments"]["legal"]["business_hours"] = ["bob"]
    org = org_from(data)
    engine = RotaEngine(org)
    tuesday = at(2026, 12, 1, 10)  # Bob is on leave
    normal = add(database_url, external_id="f1", department="legal", fetched_at=tuesday)
    urgent = add(
        database_url, external_id="f2", department="legal", urgent=True, fetched_at=tuesday
    )
    run = route(database_url, org, engine, tuesday)
    assert (run.routed, run.queued, run.queue) == (1, 1, {"legal": 1})
    item = assignment(database_url, urgent)
    assert item.assignee == "lee" and item.source == "fallback"
    waiting = assignment(database_url, normal)
    assert (waiting.status, waiting.assignee, waiting.source) == ("queued", None, "queue")


# --------------------------------------------------------------------------------------------
# Following reclassifications
# --------------------------------------------------------------------------------------------


def counts(url: str) -> tuple[int, int, int]:
    return (
        len(rows(url, storage.NotificationRow)),
        len(rows(url, storage.AuditRow)),
        len(rows(url, storage.EscalationStepRow)),
    )


def notes_by(url: str) -> dict[tuple[str, str], storage.NotificationRow]:
    return {(n.event, n.recipient): n for n in rows(url, storage.NotificationRow)}


def test_a_reclassified_item_moves_to_the_new_departments_person_on_duty(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    mention = add(
        database_url, external_id="r1", department="legal", fetched_at=at(2026, 11, 30, 9, 50)
    )
    route(database_url, org, engine, MONDAY_10)
    before = assignment(database_url, mention)
    assert (before.department, before.assignee) == ("legal", "ann")
    deliver(database_url, org, engine, MONDAY_10)  # Ann has been told it is hers
    new_id = reclass(database_url, mention, "customer_relations")
    later = at(2026, 11, 30, 10, 30)
    run = route(database_url, org, engine, later)
    assert (run.rerouted, run.routed, run.withdrawn, run.raised) == (1, 0, 0, 0)
    assert run.changes == [f"mention {mention}: legal/ann -> customer_relations/eve"]
    moved = assignment(database_url, mention)
    assert (moved.department, moved.assignee, moved.source, moved.status) == (
        "customer_relations",
        "eve",
        "rota",
        "open",
    )
    assert moved.classification_id == new_id != before.classification_id
    # The care desk's SLA, counted from when the mention was stored: 09:50 + 4h of 08-20.
    assert moved.due_at == at(2026, 11, 30, 13, 50)
    assert moved.next_escalation_at == moved.due_at and moved.escalation_level == 0
    assert moved.assigned_at == later and moved.received_at == at(2026, 11, 30, 9, 50)
    [audit] = rows(database_url, storage.AuditRow, action="rerouted")
    assert audit.subject_id == str(mention) and audit.actor == routing.ROUTER
    assert audit.details | {"at": None} == {
        "from_department": "legal",
        "to_department": "customer_relations",
        "from": "ann",
        "to": "eve",
        "classified_as": "customer_relations",
        "urgent": False,
        "due_at": "2026-11-30T13:50:00+00:00",
        "source": "rota",
        "classification_id": new_id,
        "previous_classification_id": before.classification_id,
        "at": None,
    }
    notes = notes_by(database_url)
    yours = notes[("assigned", "eve")]
    assert yours.title == f"[Care] Mention {mention} is yours" and yours.assignment_id == moved.id
    assert "First response due Mon 30 Nov 13:50 GMT" in yours.body
    assert yours.status == "pending" and yours.next_attempt_at == later
    assert yours.deferred_until is None  # the care desk is open
    gone = notes[("released", "ann")]
    assert gone.title == f"[Legal] Mention {mention} is no longer yours" and not gone.urgent
    assert "it was reclassified for Care, and eve has it now" in gone.body
    assert notes[("assigned", "ann")].status == "sent"  # what she was told stays as it was
    with session_scope(database_url) as session:
        assert routing.open_load(session=session) == {"eve": 1}
    # A second pass changes nothing.
    before_again = counts(database_url)
    again = route(database_url, org, engine, later + timedelta(minutes=1))
    assert (again.rerouted, again.relabelled, again.changes) == (0, 0, [])
    assert counts(database_url) == before_again
    assert assignment(database_url, mention).updated_at == later


def test_an_unannounced_owner_hears_nothing_and_unknown_departments_stay_at_triage(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    mention = add(database_url, external_id="r2", department="finance", fetched_at=MONDAY_10)
    route(database_url, org, engine, MONDAY_10)
    assert assignment(database_url, mention).department == "triage"
    # "hr" is unknown to this organisation too: still the community desk, nothing moves.
    hr = reclass(database_url, mention, "hr")
    run = route(database_url, org, engine, MONDAY_10 + timedelta(minutes=1))
    assert (run.rerouted, run.relabelled) == (0, 1)
    kept = assignment(database_url, mention)
    assert (kept.department, kept.assignee, kept.classification_id) == ("triage", "eve", hr)
    [audit] = rows(database_url, storage.AuditRow, action="reclassified")
    assert audit.details["classified_as"] == "hr" and audit.details["kept_owner"] is None
    # Now legal, before Eve's notification went out: it is cancelled, and she gets no
    # "no longer yours" about something she never heard of.
    reclass(database_url, mention, "legal", model_version="test-3")
    run = route(database_url, org, engine, MONDAY_10 + timedelta(minutes=2))
    assert run.rerouted == 1
    assert assignment(database_url, mention).assignee == "ann"
    notes = notes_by(database_url)
    cancelled = notes[("assigned", "eve")]
    assert cancelled.status == "skipped"
    assert cancelled.skip_reason == "superseded: mention re-routed to Legal"
    assert ("released", "eve") not in notes
    assert notes[("assigned", "ann")].status == "pending"
    [skipped] = rows(database_url, storage.AuditRow, action="notification-skipped")
    assert skipped.subject_id == str(cancelled.id)


def test_urgency_raised_tightens_the_deadline_and_pages_lowered_never_loosens(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    mention = add(
        database_url, external_id="r3", department="legal", fetched_at=at(2026, 11, 30, 9, 50)
    )
    route(database_url, org, engine, MONDAY_10)
    deliver(database_url, org, engine, MONDAY_10)
    assert assignment(database_url, mention).due_at == at(2026, 11, 30, 14, 50)
    urgent_id = reclass(database_url, mention, "legal", urgent=True)
    t = at(2026, 11, 30, 10, 5)
    run = route(database_url, org, engine, t)
    assert (run.raised, run.rerouted) == (1, 0)
    raised = assignment(database_url, mention)
    assert raised.urgent and raised.assignee == "ann" and raised.classification_id == urgent_id
    # 30 minutes from when it was stored, not from now.
    assert raised.due_at == at(2026, 11, 30, 10, 20) == raised.next_escalation_at
    assert raised.reminded_at == t  # the page says when it is due
    [page] = rows(database_url, storage.NotificationRow, event="urgent")
    assert page.recipient == "ann" and page.urgent and page.next_attempt_at == t
    assert page.title == f"URGENT [Legal] mention {mention}: respond by Mon 30 Nov 10:20 GMT"
    [audit] = rows(database_url, storage.AuditRow, action="urgency-raised")
    assert audit.details["from_due_at"] == "2026-11-30T14:50:00+00:00"
    assert audit.details["due_at"] == "2026-11-30T10:20:00+00:00"
    # Lowered again: the flag follows, the deadline stays.
    reclass(database_url, mention, "legal", urgent=False, model_version="test-3")
    run = route(database_url, org, engine, t + timedelta(minutes=5))
    assert (run.relabelled, run.raised) == (1, 0)
    lowered = assignment(database_url, mention)
    assert not lowered.urgent and lowered.due_at == at(2026, 11, 30, 10, 20)
    [audit] = rows(database_url, storage.AuditRow, action="reclassified")
    assert (audit.details["was_urgent"], audit.details["urgent"]) == (True, False)
    assert len(rows(database_url, storage.NotificationRow)) == 2  # assigned, urgent
    before = counts(database_url)
    assert route(database_url, org, engine, t + timedelta(minutes=6)).changes == []
    assert counts(database_url) == before


def test_reclassified_as_spam_is_withdrawn_and_nothing_escalates_it(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    mention = add(
        database_url, external_id="r4", department="legal", fetched_at=at(2026, 11, 30, 9, 50)
    )
    route(database_url, org, engine, MONDAY_10)
    deliver(database_url, org, engine, MONDAY_10)
    spam = reclass(database_url, mention, "none")
    run = route(database_url, org, engine, at(2026, 11, 30, 10, 30))
    assert run.withdrawn == 1 and run.changes == [f"mention {mention}: legal/ann withdrawn"]
    closed = assignment(database_url, mention)
    assert (closed.status, closed.next_escalation_at, closed.classification_id) == (
        "withdrawn",
        None,
        spam,
    )
    [audit] = rows(database_url, storage.AuditRow, action="withdrawn")
    assert audit.details["reason"] == "reclassified as spam or chit-chat: nobody needs to act"
    assert audit.details["assignee"] == "ann"
    [gone] = rows(database_url, storage.NotificationRow, event="released")
    assert gone.recipient == "ann"
    assert "no longer needs you: reclassified as spam or chit-chat" in gone.body
    before = counts(database_url)
    assert route(database_url, org, engine, at(2026, 11, 30, 10, 31)).changes == []
    assert counts(database_url) == before
    # Past its old due time: no escalation, reminder or hand-over touches it.
    late = step(database_url, org, engine, at(2026, 11, 30, 16))
    assert (late.escalated, late.skipped_steps, late.reminded, late.handed_over) == (0, 0, 0, 0)
    assert rows(database_url, storage.EscalationStepRow) == []
    with session_scope(database_url) as session:
        view = routing.assignments_for(session=session, mention_ids=[mention])[mention]
        assert routing.open_load(session=session) == {}
        assert not routing.mark_acted(
            session=session, mention_id=mention, actor="cli:ann", now=at(2026, 11, 30, 16)
        )
    assert view.status == "withdrawn" and not view.overdue(at(2026, 11, 30, 16))
    # Another model that also says spam: the decision is remembered, nothing else happens.
    before = counts(database_url)
    newer = reclass(database_url, mention, "none", model_version="test-3")
    quiet = route(database_url, org, engine, at(2026, 11, 30, 16, 1))
    assert quiet.changes == [] and quiet.relabelled == 0 and counts(database_url) == before
    assert assignment(database_url, mention).classification_id == newer
    # Then a care matter after all: it is opened again, at the care desk.
    care = reclass(database_url, mention, "customer_relations", model_version="test-4")
    run = route(database_url, org, engine, at(2026, 11, 30, 16, 5))
    assert run.reopened == 1
    reopened = assignment(database_url, mention)
    assert (reopened.status, reopened.department, reopened.assignee) == (
        "open",
        "customer_relations",
        "eve",
    )
    assert reopened.classification_id == care and reopened.due_at == at(2026, 11, 30, 13, 50)
    [audit] = rows(database_url, storage.AuditRow, action="reopened")
    assert (audit.details["from"], audit.details["to"]) == ("ann", "eve")
    assert notes_by(database_url)[("assigned", "eve")].title == (
        f"[Care] Mention {mention} is yours"
    )


def test_a_hand_assigned_item_keeps_its_owner_when_reclassified(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    mention = add(
        database_url, external_id="r5", department="legal", fetched_at=at(2026, 11, 30, 9, 50)
    )
    route(database_url, org, engine, MONDAY_10)
    with session_scope(database_url) as session:
        routing.assign_manually(
            session=session,
            org=org,
            engine=engine,
            mention_id=mention,
            handle="cat",
            actor="cli:lee",
            now=at(2026, 11, 30, 10, 5),
        )
    before = counts(database_url)
    care = reclass(database_url, mention, "customer_relations")
    run = route(database_url, org, engine, at(2026, 11, 30, 10, 10))
    assert (run.relabelled, run.rerouted) == (1, 0)
    kept = assignment(database_url, mention)
    assert (kept.assignee, kept.department, kept.source, kept.classification_id) == (
        "cat",
        "legal",
        "manual",
        care,
    )
    [audit] = rows(database_url, storage.AuditRow, action="reclassified")
    assert audit.details["kept_owner"] == "assigned by hand"
    assert audit.details["classified_as"] == "customer_relations"
    assert counts(database_url)[0] == before[0]  # nobody is notified
    again = route(database_url, org, engine, at(2026, 11, 30, 10, 11))
    assert again.relabelled == 0 and counts(database_url)[1] == before[1] + 1  # one audit row
    # Spam, says the model: a person decided someone should look, so it stays open.
    reclass(database_url, mention, "none", model_version="test-3")
    route(database_url, org, engine, at(2026, 11, 30, 10, 15))
    assert assignment(database_url, mention).status == "open"
    # Urgent: Cat keeps it, with the urgent deadline, and is paged.
    reclass(database_url, mention, "legal", urgent=True, model_version="test-4")
    run = route(database_url, org, engine, at(2026, 11, 30, 10, 20))
    assert run.raised == 1
    urgent = assignment(database_url, mention)
    assert (urgent.assignee, urgent.urgent, urgent.due_at) == (
        "cat",
        True,
        at(2026, 11, 30, 10, 20),
    )
    [page] = rows(database_url, storage.NotificationRow, event="urgent")
    assert page.recipient == "cat"
    [raised] = rows(database_url, storage.AuditRow, action="urgency-raised")
    assert raised.details["kept_owner"] == "assigned by hand"


def test_a_rerouted_or_hand_assigned_escalated_item_climbs_again_in_a_new_chain(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    mention = add(
        database_url, external_id="r6", department="legal", fetched_at=at(2026, 11, 30, 9, 50)
    )
    route(database_url, org, engine, MONDAY_10)
    step(database_url, org, engine, at(2026, 11, 30, 16))
    assert assignment(database_url, mention).escalation_level == 3
    reclass(database_url, mention, "customer_relations")
    run = route(database_url, org, engine, at(2026, 11, 30, 16, 5))
    assert run.rerouted == 1
    moved = assignment(database_url, mention)
    assert (moved.assignee, moved.escalation_level, moved.source) == ("eve", 0, "rota")
    # Already past the care desk's deadline (13:50): it climbs that chain at the next run.
    assert moved.next_escalation_at == at(2026, 11, 30, 13, 50)
    climbed = step(database_url, org, engine, at(2026, 11, 30, 16, 10))
    assert climbed.steps == [
        f"mention {mention}: eve -> fay (backup)",
        f"mention {mention}: fay -> lee (lead)",
        f"mention {mention}: lee -> liz (duty_manager)",
    ]
    # A person hands it back to Eve: a third chain, later, without clashing with the others.
    with session_scope(database_url) as session:
        routing.assign_manually(
            session=session,
            org=org,
            engine=engine,
            mention_id=mention,
            handle="eve",
            actor="cli:lee",
            now=at(2026, 11, 30, 16, 15),
        )
    assert step(database_url, org, engine, at(2026, 11, 30, 16, 40)).escalated == 0
    assert step(database_url, org, engine, at(2026, 11, 30, 16, 50)).escalated == 3
    steps = rows(database_url, storage.EscalationStepRow)
    assert [(s.chain, s.level) for s in steps] == [
        (chain, level) for chain in (0, 1, 2) for level in (1, 2, 3)
    ]
    assert [s.to_person for s in steps[3:6]] == ["fay", "lee", "liz"]


# --------------------------------------------------------------------------------------------
# Quiet hours
# --------------------------------------------------------------------------------------------

TUESDAY_NIGHT = at(2026, 12, 1, 23, 12)
WEDNESDAY_0900 = at(2026, 12, 2, 9)  # legal opens


def test_a_normal_item_at_night_waits_in_the_queue_and_is_given_out_when_legal_opens(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    # Before the department queues, the on-call person owned these (with the notice held
    # until the morning); now nobody owns them until the department opens.
    first = add(
        database_url, external_id="q1", department="legal", fetched_at=at(2026, 12, 1, 23, 10)
    )
    run = route(database_url, org, engine, TUESDAY_NIGHT)
    assert (run.routed, run.queued, run.deferred, run.notifications) == (0, 1, 0, [])
    waiting = assignment(database_url, first)
    assert (waiting.status, waiting.assignee, waiting.source) == ("queued", None, "queue")
    assert waiting.queued_at == TUESDAY_NIGHT and waiting.first_assigned_at is None
    assert waiting.due_at == at(2026, 12, 2, 14)  # 4 business hours from the opening
    [queued] = rows(database_url, storage.AuditRow, action="queued")
    assert queued.details["assignee"] is None and queued.details["shift"] == "out-of-hours"
    dawn = at(2026, 12, 2, 4)
    kept = add(database_url, external_id="q2", department="legal", fetched_at=dawn)
    done = add(database_url, external_id="q3", department="legal", fetched_at=dawn)
    assert route(database_url, org, engine, dawn).queue == {"legal": 3}
    with session_scope(database_url) as session:  # someone answers one from the queue
        assert routing.mark_acted(session=session, mention_id=done, actor="cli:lee", now=dawn)
    acted = assignment(database_url, done)
    assert acted.status == "acted" and acted.queued_seconds == 0  # queued and acted at 04:00
    assert route(database_url, org, engine, WEDNESDAY_0900 - timedelta(minutes=1)).routed == 0
    assert rows(database_url, storage.NotificationRow) == []  # a quiet night
    # 09:00: Ann and Lee are on shift (Bob is on leave): one item each, oldest first.
    opening = route(database_url, org, engine, WEDNESDAY_0900)
    assert (opening.from_queue, opening.routed, opening.queue) == (2, 0, {})
    assert sorted(opening.by_assignee) == ["ann", "lee"]
    owned = assignment(database_url, first)
    assert owned.status == "open" and owned.assignee in {"ann", "lee"}
    assert owned.first_assigned_at == owned.assigned_at == WEDNESDAY_0900
    assert owned.queued_seconds == (WEDNESDAY_0900 - TUESDAY_NIGHT).total_seconds()
    assert owned.next_escalation_at == owned.due_at and owned.source == "rota"
    skipped, sent = deliver(database_url, org, engine, WEDNESDAY_0900)
    assert skipped == 0 and sorted(o.recipient for o in sent) == ["ann", "lee"]
    audit = next(
        a
        for a in rows(database_url, storage.AuditRow, action="assigned")
        if a.subject_id == str(first)
    )
    assert audit.details["source"] == "queue" and audit.details["queued_seconds"] == 35280
    with session_scope(database_url) as session:
        view = routing.assignments_for(session=session, mention_ids=[kept])[kept]
    assert view.seconds_in_queue(WEDNESDAY_0900) == 5 * 3600
    # Again: nothing moves.
    assert route(database_url, org, engine, WEDNESDAY_0900 + timedelta(minutes=1)).changes == []
    assert route(database_url, org, engine, WEDNESDAY_0900).from_queue == 0


def test_a_queued_item_assigned_by_hand_leaves_the_queue_with_its_wait_recorded(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    dawn = at(2026, 12, 2, 4)
    mention = add(database_url, external_id="q4", department="legal", fetched_at=dawn)
    route(database_url, org, engine, dawn)
    with session_scope(database_url) as session:
        view = routing.assign_manually(
            session=session,
            org=org,
            engine=engine,
            mention_id=mention,
            handle="lee",
            actor="cli:liz",
            now=dawn + timedelta(minutes=5),
        )
    assert (view.status, view.assignee, view.source) == ("open", "lee", "manual")
    assert view.queued_seconds == 300 and view.first_assigned_at == dawn + timedelta(minutes=5)
    skipped, sent = deliver(database_url, org, engine, dawn + timedelta(minutes=5))
    assert skipped == 0 and [o.recipient for o in sent] == ["lee"]  # the reassigned notice
    # At the opening it is Lee's (assigned by hand): the queue pass leaves it alone.
    assert route(database_url, org, engine, WEDNESDAY_0900).from_queue == 0


def test_urgent_and_items_due_before_the_opening_go_to_the_on_call_person_at_once(
    database_url: str,
) -> None:
    data = small_org()
    data["departments"]["legal"]["quiet_out_of_hours"] = False
    data["departments"]["customer_relations"]["sla"] = {
        "normal": {"first_response": "2h", "clock": "around-the-clock"}
    }
    org = org_from(data)
    engine = RotaEngine(org)
    assert org.departments["triage"].quiet_out_of_hours  # the default
    stored = at(2026, 12, 1, 23, 10)
    ids = {
        name: add(database_url, external_id=name, department=name, fetched_at=stored)
        for name in ("legal", "customer_relations", "triage")
    }
    urgent = add(database_url, external_id="u", department="triage", urgent=True, fetched_at=stored)
    run = route(database_url, org, engine, TUESDAY_NIGHT)
    # Legal and triage normal items wait for the morning, whatever quiet_out_of_hours says
    # (it used to decide only when the on-call owner heard of them). Care: due at 01:10,
    # before the desk opens, so it cannot wait. Urgent: always.
    assert (run.routed, run.queued, run.deferred) == (2, 2, 0)
    assert run.queue == {"legal": 1, "triage": 1}
    notes = {n.mention_id: n for n in rows(database_url, storage.NotificationRow)}
    assert set(notes) == {ids["customer_relations"], urgent}
    for note in notes.values():
        assert note.deferred_until is None and note.next_attempt_at == TUESDAY_NIGHT
    assert assignment(database_url, ids["customer_relations"]).due_at == at(2026, 12, 2, 1, 10)
    assert assignment(database_url, ids["triage"]).status == "queued"


def test_a_reroute_at_night_moves_a_queued_item_to_the_new_departments_queue(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    mention = add(
        database_url, external_id="q5", department="legal", fetched_at=at(2026, 12, 1, 23, 10)
    )
    route(database_url, org, engine, TUESDAY_NIGHT)
    reclass(database_url, mention, "customer_relations")
    later = at(2026, 12, 1, 23, 20)
    run = route(database_url, org, engine, later)
    assert run.rerouted == 1 and run.queue == {"customer_relations": 1}
    assert run.changes == [f"mention {mention}: legal/queue -> customer_relations/queue"]
    moved = assignment(database_url, mention)
    assert (moved.status, moved.assignee, moved.department) == (
        "queued",
        None,
        "customer_relations",
    )
    assert moved.due_at == at(2026, 12, 2, 12) and moved.queued_at == TUESDAY_NIGHT
    assert rows(database_url, storage.NotificationRow) == []  # nobody was, or is, told
    # Urgent after all: out of the queue, to the care desk's on-call person, paged at once.
    reclass(database_url, mention, "customer_relations", urgent=True, model_version="test-3")
    run = route(database_url, org, engine, later + timedelta(minutes=5))
    paged = assignment(database_url, mention)
    assert (paged.status, paged.assignee, paged.urgent) == ("open", "hal", True)
    assert paged.first_assigned_at == later + timedelta(minutes=5)
    assert paged.queued_seconds == 13 * 60 and run.queue == {}  # from 23:12
    [page] = rows(database_url, storage.NotificationRow, event="urgent")
    assert page.recipient == "hal" and page.deferred_until is None
    # Spam after all, while queued: withdrawn, nobody to tell.
    other = add(database_url, external_id="q6", department="legal", fetched_at=later)
    route(database_url, org, engine, later)
    reclass(database_url, other, "none")
    assert route(database_url, org, engine, later + timedelta(minutes=6)).withdrawn == 1
    gone = assignment(database_url, other)
    assert (gone.status, gone.assignee, gone.queued_seconds) == ("withdrawn", None, 360)
    assert len(rows(database_url, storage.NotificationRow)) == 1


def test_assigning_a_withdrawn_item_by_hand_reopens_it(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    mention = add(database_url, external_id="r7", department="legal", fetched_at=MONDAY_10)
    route(database_url, org, engine, MONDAY_10)
    reclass(database_url, mention, "none")
    assert route(database_url, org, engine, MONDAY_10 + timedelta(minutes=1)).withdrawn == 1
    with session_scope(database_url) as session:
        view = routing.assign_manually(
            session=session,
            org=org,
            engine=engine,
            mention_id=mention,
            handle="lee",
            actor="cli:liz",
            now=MONDAY_10 + timedelta(minutes=5),
        )
    assert (view.status, view.assignee, view.source) == ("open", "lee", "manual")
    reopened = assignment(database_url, mention)
    assert reopened.next_escalation_at == reopened.due_at == at(2026, 11, 30, 15)
    # The model still says spam, but a person wants it looked at: it stays open.
    assert route(database_url, org, engine, MONDAY_10 + timedelta(minutes=6)).changes == []
    assert assignment(database_url, mention).status == "open"
