"""Department queues on real SQLite (and PostgreSQL when configured): a night's backlog waits
without an owner, the opening spreads it by least load under the open-item cap, the rest is
pulled as people close items, and people going off shift or on leave hand theirs back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from socialops import routing, storage
from socialops.config import ConfigError, OrgConfig, load_config
from socialops.db import session_scope
from socialops.rota.schedule import RotaEngine
from tests.routing_fixtures import add_classified, org_from, small_org, write_org


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


MONDAY_NIGHT = at(2026, 12, 7, 22)  # Monday 7 December, 22:00 in London (GMT = UTC)
TUESDAY_0900 = at(2026, 12, 8, 9)  # legal opens: Ann, Bob and Lee on shift


def org_with(cap: int | None = None) -> OrgConfig:
    data = small_org()
    if cap is not None:
        data["routing"] = {"max_open_per_person": cap}
    return org_from(data)


def route(url: str, org: OrgConfig, engine: RotaEngine, now: datetime) -> routing.RouteRun:
    with session_scope(url) as session:
        return routing.route_classified(
            session=session, org=org, engine=engine, now=now, limit=5000
        )


def hand_over(url: str, org: OrgConfig, engine: RotaEngine, now: datetime) -> routing.EscalationRun:
    run = routing.EscalationRun(at=now)
    with session_scope(url) as session:
        routing.hand_over(session=session, org=org, engine=engine, now=now, run=run)
    return run


def backlog(url: str, *, normal: int, urgent: int, start: datetime, hours: float) -> None:
    """``normal`` + ``urgent`` legal mentions stored evenly over ``hours`` from ``start``."""
    total = normal + urgent
    step = timedelta(hours=hours) / total
    with session_scope(url) as session:
        for i in range(total):
            add_classified(
                session,
                external_id=f"b{i}",
                department="legal",
                urgent=i % (total // urgent) == 0 if urgent else False,
                fetched_at=start + i * step,
            )


def owned(url: str) -> dict[str | None, list[storage.AssignmentRow]]:
    """Open and queued items by owner (None: the queue)."""
    out: dict[str | None, list[storage.AssignmentRow]] = {}
    a = storage.AssignmentRow
    with session_scope(url) as session:
        for row in session.execute(select(a).where(a.status.in_(("open", "queued")))).scalars():
            out.setdefault(row.assignee, []).append(row)
        session.expunge_all()
    return out


def spread(loads: dict[str | None, list[Any]], people: set[str]) -> tuple[int, int]:
    counts = [len(loads.get(h, [])) for h in people]
    return max(counts), min(counts)


def test_the_cap_is_configured_and_validated_with_its_key_path(tmp_path: Path) -> None:
    assert org_with().routing.max_open_per_person == 25  # the default
    data = small_org()
    data["routing"] = {"max_open_per_person": 0}
    path = write_org(tmp_path / "org.yaml", data)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert f"{path}:" in str(caught.value)
    assert "routing.max_open_per_person: Input should be greater than or equal to 1" in str(
        caught.value
    )
    data["routing"] = {"max_open_per_persn": 5}
    with pytest.raises(ConfigError, match=r"routing.max_open_per_persn: unknown key"):
        load_config(write_org(tmp_path / "org.yaml", data))


def test_a_night_backlog_waits_and_the_opening_spreads_it_under_the_cap(
    database_url: str,
) -> None:
    org = org_with()  # 25 open items each
    engine = RotaEngine(org)
    backlog(database_url, normal=2000, urgent=50, start=MONDAY_NIGHT, hours=10.5)
    night = route(database_url, org, engine, at(2026, 12, 8, 8, 31))
    # Only the 50 urgent ones have an owner: the on-call people of the night.
    assert (night.routed, night.urgent, night.queued, night.queue) == (
        50,
        50,
        2000,
        {"legal": 2000},
    )
    by_owner = owned(database_url)
    assert len(by_owner[None]) == 2000 and not any(r.urgent for r in by_owner[None])
    owners = {h for h in by_owner if h is not None}
    assert sum(len(by_owner[h]) for h in owners) == 50
    assert all(r.urgent for h in owners for r in by_owner[h])
    assert owners <= {"ann", "bob", "cat", "dan"}  # legal's on-call rotation
    # The on-call people deal with the urgent ones before the morning.
    with session_scope(database_url) as session:
        for h in owners:
            for row in by_owner[h]:
                routing.mark_acted(
                    session=session, mention_id=row.mention_id, actor=h, now=at(2026, 12, 8, 8)
                )
    # 09:00: Ann, Bob and Lee are on shift; each takes 25, the rest waits.
    hand_over(database_url, org, engine, TUESDAY_0900)
    opening = route(database_url, org, engine, TUESDAY_0900)
    assert opening.from_queue == 75 and opening.by_assignee == {"ann": 25, "bob": 25, "lee": 25}
    day = owned(database_url)
    assert spread(day, {"ann", "bob", "lee"}) == (25, 25) and len(day[None]) == 1925
    # Oldest first: the first 75 stored normal items are the ones given out.
    given = sorted(r.received_at for h in ("ann", "bob", "lee") for r in day[h])
    assert given[-1] < min(r.received_at for r in day[None])
    # A re-run changes nothing.
    again = route(database_url, org, engine, TUESDAY_0900 + timedelta(minutes=1))
    assert (again.from_queue, again.routed, again.changes) == (0, 0, [])
    assert hand_over(database_url, org, engine, TUESDAY_0900).handed_over == 0
    # The pull: Ann closes 10 and Lee 3; the next pass gives them exactly that many more.
    with session_scope(database_url) as session:
        for h, n in (("ann", 10), ("lee", 3)):
            for row in day[h][:n]:
                routing.mark_acted(
                    session=session, mention_id=row.mention_id, actor=h, now=at(2026, 12, 8, 9, 30)
                )
    pulled = route(database_url, org, engine, at(2026, 12, 8, 9, 31))
    assert pulled.by_assignee == {"ann": 10, "lee": 3} and pulled.queue == {"legal": 1912}
    assert spread(owned(database_url), {"ann", "bob", "lee"}) == (25, 25)


def test_without_a_tight_cap_the_whole_backlog_is_spread_evenly(database_url: str) -> None:
    org = org_with(cap=1000)
    engine = RotaEngine(org)
    backlog(database_url, normal=2000, urgent=50, start=MONDAY_NIGHT, hours=10.5)
    route(database_url, org, engine, at(2026, 12, 8, 8, 31))
    # This time the urgent items stay open: whoever is still on call at 09:00 hands over.
    hand_over(database_url, org, engine, TUESDAY_0900)
    opening = route(database_url, org, engine, TUESDAY_0900)
    assert opening.from_queue == 2000 and opening.queue == {}
    day = owned(database_url)
    high, low = spread(day, {"ann", "bob", "lee"})
    assert high / low <= 1.2 and high <= 1000
    assert None not in day and set(day) == {"ann", "bob", "lee"}


def test_off_shift_and_on_leave_owners_hand_their_items_back_to_the_queue(
    database_url: str,
) -> None:
    org = org_with(cap=5)
    engine = RotaEngine(org)
    monday = at(2026, 11, 30, 15)  # Ann, Bob and Lee on shift; Bob is on leave from Tuesday
    backlog(database_url, normal=20, urgent=0, start=monday, hours=0.5)
    route(database_url, org, engine, monday + timedelta(minutes=30))
    first = owned(database_url)
    assert spread(first, {"ann", "bob", "lee"}) == (5, 5) and len(first[None]) == 5
    kept = first["bob"][0].mention_id
    with session_scope(database_url) as session:  # by hand: stays with Bob at the shift's end
        routing.assign_manually(
            session=session,
            org=org,
            engine=engine,
            mention_id=kept,
            handle="bob",
            actor="cli:lee",
            now=monday + timedelta(minutes=31),
        )
    # 17:30 legal closes: every item goes back to the queue (due tomorrow, so it can wait),
    # except the one a person gave to Bob.
    closing = hand_over(database_url, org, engine, at(2026, 11, 30, 17, 31))
    assert (closing.requeued, closing.handed_over) == (14, 0)
    evening = owned(database_url)
    assert set(evening) == {None, "bob"} and len(evening[None]) == 19
    requeued = rows_of(database_url, "requeued")
    assert {a.details["reason"] for a in requeued} == {"shift ended"}
    assert hand_over(database_url, org, engine, at(2026, 11, 30, 17, 40)).requeued == 0
    assert route(database_url, org, engine, at(2026, 11, 30, 17, 41)).from_queue == 0
    # Tuesday 09:00: Bob is on leave. Ann and Lee fill up to the cap; Bob's hand-assigned
    # item cannot go to them (both at the cap), so it goes back to the queue too.
    tuesday = at(2026, 12, 1, 9)
    assert route(database_url, org, engine, tuesday).by_assignee == {"ann": 5, "lee": 5}
    leave = hand_over(database_url, org, engine, tuesday + timedelta(minutes=1))
    assert leave.requeued == 1 and rows_of(database_url, "requeued")[-1].details["reason"] == (
        "on leave"
    )
    morning = owned(database_url)
    assert set(morning) == {None, "ann", "lee"} and len(morning[None]) == 10
    # Nobody waits twice for the same reason: a re-run moves nothing.
    assert route(database_url, org, engine, tuesday + timedelta(minutes=2)).from_queue == 0
    assert hand_over(database_url, org, engine, tuesday + timedelta(minutes=2)).requeued == 0


def rows_of(url: str, action: str) -> list[storage.AuditRow]:
    with session_scope(url) as session:
        a = storage.AuditRow
        found = list(session.execute(select(a).where(a.action == action).order_by(a.id)).scalars())
        session.expunge_all()
        return found


def test_a_queued_item_past_due_escalates_to_the_department_not_to_an_owner(
    database_url: str,
) -> None:
    data = small_org()
    data["departments"]["legal"]["notify_env"] = "TEST_LEGAL_CHANNEL"
    data["rotas"]["departments"]["legal"]["business_hours"] = ["bob"]
    org = org_from(data)
    engine = RotaEngine(org)
    tuesday = at(2026, 12, 1, 10)  # Bob (legal's only day person) is on leave: nobody on shift
    with session_scope(database_url) as session:
        mention = add_classified(session, external_id="x1", department="legal", fetched_at=tuesday)
    route(database_url, org, engine, tuesday)
    run = routing.EscalationRun(at=tuesday)
    late = at(2026, 12, 1, 16, 30)  # due 15:00 (4 business hours, with the lunch break)
    with session_scope(database_url) as session:
        routing.escalate(session=session, org=org, engine=engine, now=late, run=run)
    assert run.steps == [
        f"mention {mention}: queue -> lee (backup)",
        f"mention {mention}: queue -> liz (duty_manager)",
    ]
    assert run.skipped_steps == 1  # the lead step: Lee has already been told
    with session_scope(database_url) as session:
        row = session.execute(
            select(storage.AssignmentRow).where(storage.AssignmentRow.mention_id == mention)
        ).scalar_one()
        assert (row.status, row.assignee, row.escalation_level) == ("queued", None, 3)
        notes = list(session.execute(select(storage.NotificationRow)).scalars())
        recipients = sorted(n.recipient for n in notes)
        bodies = [n.body for n in notes]
        steps = session.execute(
            select(func.count()).select_from(storage.EscalationStepRow)
        ).scalar_one()
    assert recipients == ["department:legal", "department:legal", "lee", "liz"]
    assert all("the Legal queue, where nobody has taken it yet" in b for b in bodies)
    assert steps == 3
