"""The rota engine with a fixed clock: business hours, holidays, DST, follow-the-sun, leave,
limits, due times. The organisation is tests/routing_fixtures.small_org (London + New York)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from socialops.rota import checks
from socialops.rota.schedule import RotaEngine
from tests.routing_fixtures import org_from, small_org


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.fixture(scope="module")
def engine() -> RotaEngine:
    return RotaEngine(org_from(small_org()))


def spans(shift: Any) -> list[tuple[str, str]]:
    return [(i.start.isoformat()[5:16], i.end.isoformat()[5:16]) for i in shift.intervals]


def test_business_hours_with_a_lunch_break(engine: RotaEngine) -> None:
    # Monday 30 November 2026 (GMT: London time is UTC).
    morning = engine.on_duty("legal", at(2026, 11, 30, 10))
    assert morning.shift == "business-hours"
    assert set(morning.on_shift) == {"ann", "bob", "lee"}
    assert morning.primary == morning.on_shift[0] and morning.backup == morning.on_shift[1]
    lunch = engine.on_duty("legal", at(2026, 11, 30, 12, 45))
    assert lunch.shift == "out-of-hours"
    assert lunch.primary == "ann" and lunch.backup == "cat"  # London's part of the night
    assert lunch.ends_at == at(2026, 11, 30, 13, 30)
    assert engine.on_duty("legal", at(2026, 11, 30, 13, 30)).shift == "business-hours"
    assert engine.on_duty("legal", at(2026, 11, 30, 17, 30)).shift == "out-of-hours"


def test_weekend_holiday_and_leave(engine: RotaEngine) -> None:
    saturday = engine.on_duty("legal", at(2026, 11, 28, 15))
    assert saturday.shift == "out-of-hours"
    assert saturday.primary in {"cat", "dan"}  # 10:00 in New York is nearer noon than 15:00
    christmas = engine.on_duty("legal", at(2026, 12, 25, 10))  # a Friday
    assert christmas.shift == "holiday"
    assert christmas.primary in {"ann", "bob"} and christmas.backup is not None
    assert christmas.primary != christmas.backup
    # Bob is on leave 1-3 December: never on shift, never on call.
    for hour in range(0, 24 * 3):
        duty = engine.on_duty("legal", at(2026, 12, 1) + timedelta(hours=hour))
        assert "bob" not in duty.on_shift and duty.primary != "bob" and duty.backup != "bob"
    assert "bob" in engine.on_duty("legal", at(2026, 12, 4, 10)).on_shift


def test_follow_the_sun_splits_each_night_where_it_is_nearest_noon(engine: RotaEngine) -> None:
    nights = engine.shifts("legal", at(2026, 11, 30, 12), at(2026, 12, 1, 8))
    by_zone = {s.zone: s for s in nights if s.day == date(2026, 11, 30)}
    # London (UTC+0) and New York (UTC-5): London takes lunch and 02:30-09:00.
    assert spans(by_zone["Europe/London"]) == [
        ("11-30T12:30", "11-30T13:30"),
        ("12-01T02:30", "12-01T09:00"),
    ]
    assert spans(by_zone["America/New_York"]) == [("11-30T17:30", "12-01T02:30")]
    assert by_zone["Europe/London"].primary in {"ann", "bob"}
    assert by_zone["America/New_York"].primary in {"cat", "dan"}
    for shift in nights:
        assert shift.backup is not None and shift.backup != shift.primary


def test_dst_moves_business_hours_and_the_follow_the_sun_boundary(engine: RotaEngine) -> None:
    # 09:00 in London is 09:00 UTC on Friday 27 March 2026 and 08:00 UTC after the change.
    assert engine.on_duty("legal", at(2026, 3, 27, 8, 30)).shift == "out-of-hours"
    assert engine.on_duty("legal", at(2026, 3, 30, 8, 30)).shift == "business-hours"
    # New York changed on 8 March, London on 29 March: four hours apart in between.
    mismatch = {s.zone: s for s in engine.shifts("legal", at(2026, 3, 16, 12), at(2026, 3, 17, 8))}
    assert spans(mismatch["America/New_York"]) == [("03-16T17:30", "03-17T02:00")]
    after = {s.zone: s for s in engine.shifts("legal", at(2026, 3, 30, 12), at(2026, 3, 31, 7))}
    assert spans(after["America/New_York"]) == [("03-30T16:30", "03-31T01:30")]
    assert spans(after["Europe/London"]) == [
        ("03-30T11:30", "03-30T12:30"),
        ("03-31T01:30", "03-31T08:00"),
    ]


@pytest.mark.parametrize(
    ("urgent", "received", "due"),
    [
        # Saturday: a normal mention is due Monday within business hours (3.5 h + 0.5 h).
        (False, at(2026, 11, 28, 11), at(2026, 11, 30, 14)),
        (True, at(2026, 11, 28, 11), at(2026, 11, 28, 11, 30)),  # urgent: 30 minutes, any day
        (False, at(2026, 11, 30, 11, 30), at(2026, 11, 30, 16, 30)),  # skips the lunch break
        (False, at(2026, 12, 24, 16), at(2026, 12, 28, 11, 30)),  # over Christmas Day
        (False, at(2026, 3, 27, 16, 30), at(2026, 3, 30, 11)),  # over the clocks going forward
        (True, at(2026, 3, 29, 0, 50), at(2026, 3, 29, 1, 20)),  # urgent across the DST gap
    ],
)
def test_due_times_follow_the_sla(
    engine: RotaEngine, urgent: bool, received: datetime, due: datetime
) -> None:
    assert engine.due_at("legal", urgent=urgent, start=received) == due


def test_every_instant_of_a_quarter_is_covered_with_distinct_primary_and_backup(
    engine: RotaEngine,
) -> None:
    result = checks.check(engine, at(2026, 10, 5), weeks=13)
    assert result.gaps == []
    for rota in ("legal", "customer_relations"):
        for shift in engine.shifts(rota, at(2026, 10, 5), at(2027, 1, 4)):
            assert shift.primary is not None and shift.backup not in (None, shift.primary)
    managers = [
        s.primary for s in engine.shifts("duty_manager", at(2026, 11, 30, 9), at(2026, 12, 7, 9))
    ]
    assert sorted(set(managers)) == ["lee", "liz"] and len(managers) == 7


def test_nobody_is_on_call_more_than_three_nights_running_when_others_can_take_it(
    engine: RotaEngine,
) -> None:
    first, last = engine.index_of(date(2026, 3, 2)), engine.index_of(date(2027, 3, 1))
    assert checks.limit_breaches(engine, first, last) == []
    longest = checks.fairness(engine, first, last).max_consecutive_nights
    assert 1 <= longest <= 3


def test_the_schedule_is_deterministic() -> None:
    one, two = RotaEngine(org_from(small_org())), RotaEngine(org_from(small_org()))
    window = (at(2026, 12, 1), at(2026, 12, 15))
    assert one.shifts("legal", *window) == two.shifts("legal", *window)
    assert one.shifts("customer_relations", *window) == two.shifts("customer_relations", *window)


def test_weekly_hand_over_keeps_one_person_for_the_week() -> None:
    data = small_org()
    data["rotas"]["departments"]["legal"]["on_call"] = {
        "people": ["ann", "cat"],
        "handover": "weekly",
        "handover_day": "mon",
        "follow_the_sun": False,
    }
    engine = RotaEngine(org_from(data))
    nights = [at(2026, 11, 30, 22)] + [at(2026, 12, d, 22) for d in range(1, 7)]
    week = [engine.on_duty("legal", night).primary for night in nights]
    assert len(set(week)) == 1
    next_week = [engine.on_duty("legal", at(2026, 12, d, 22)).primary for d in range(7, 14)]
    assert len(set(next_week)) == 1 and next_week[0] != week[0]
    # A week on call is seven nights running: the check reports it.
    result = checks.check(engine, at(2026, 11, 30), weeks=2)
    assert any(
        b.kind == "consecutive-nights" and b.value >= 7 and b.limit == 3 for b in result.breaches
    )
    assert not result.ok


def test_a_gap_in_business_hours_and_a_person_over_their_limits_are_reported() -> None:
    data = small_org()
    people = {p["handle"]: p for p in data["people"]}
    people["eve"]["leave"] = [{"start": "2026-12-07", "end": "2026-12-07"}]
    data["rotas"]["departments"]["legal"]["on_call"] = {
        "people": ["ann", "bob"],
        "follow_the_sun": False,
    }
    engine = RotaEngine(org_from(data))
    result = checks.check(engine, at(2026, 11, 30), weeks=2)
    # Eve away on Monday 7 December: nobody on shift at the care desk until Fay starts at noon.
    gaps = {(g.department, g.start, g.end, g.shift) for g in result.gaps}
    assert gaps == {
        ("customer_relations", at(2026, 12, 7, 8), at(2026, 12, 7, 12), "business-hours"),
        ("triage", at(2026, 12, 7, 8), at(2026, 12, 7, 12), "business-hours"),
    }
    assert sum(g.hours for g in result.gaps) == 8
    # Bob is away 1-3 December, so Ann covers legal's nights alone: over her limit.
    ann = [b for b in result.breaches if b.person == "ann" and b.kind == "consecutive-nights"]
    assert ann and ann[0].value >= 4 and ann[0].start <= date(2026, 11, 30)
    assert "nights in a row" in ann[0].describe()
    assert not result.ok


def test_a_normal_item_with_no_business_hours_is_due_in_plain_time() -> None:
    data = small_org()
    data["departments"]["legal"]["business_hours"] = {}
    engine = RotaEngine(org_from(data))
    assert engine.due_at("legal", urgent=False, start=at(2026, 11, 28, 11)) == at(2026, 11, 28, 15)
    assert engine.on_duty("legal", at(2026, 11, 30, 10)).shift == "out-of-hours"


# --------------------------------------------------------------------------------------------
# Organisation-wide fairness: hours as carried, per person across every rotation
# --------------------------------------------------------------------------------------------


def _hours_by_hand(engine: RotaEngine, rotas: list[str], first: int) -> dict[str, float]:
    """Primary hours per person over duty days [first, first + 27], summed over ``rotas``
    from the raw shifts; everyone on those rotations, at 0 if idle."""
    start = at(2020, 1, 1)
    hours = {h: 0.0 for rota in rotas for h in engine.members_of_rotation(rota)}
    for rota in rotas:
        for shift in engine.shifts(rota, start, at(2030, 1, 1)):
            k = engine.index_of(shift.day)
            if first <= k <= first + 27 and shift.primary is not None:
                hours[shift.primary] += shift.hours
    return hours


def test_org_wide_fairness_by_hand_on_a_small_organisation() -> None:
    # Gus is on both rotations: counted once, with his hours on each.
    data = small_org()
    data["rotas"]["departments"]["legal"]["on_call"]["people"].append("gus")
    next(p for p in data["people"] if p["handle"] == "gus")["departments"].append("legal")
    engine = RotaEngine(org_from(data))
    first = engine.index_of(date(2026, 11, 16))  # Bob's leave (1-3 December) inside
    last = first + 3 * 7 + 27  # 22 windows of 28 days, one starting each day
    result = checks.fairness(engine, first, last)
    rotas = ["legal", "customer_relations"]
    worst_org, worst_start = 0.0, -1
    worst_rota = dict.fromkeys(rotas, 0.0)
    for s in range(first, last - 27 + 1):
        carried = _hours_by_hand(engine, rotas, s)
        assert carried["gus"] == sum(_hours_by_hand(engine, [rota], s)["gus"] for rota in rotas)
        ratio = max(carried.values()) / min(carried.values())
        if ratio > worst_org:
            worst_org, worst_start = ratio, s
        for rota in rotas:
            own = [carried[h] for h in engine.members_of_rotation(rota)]
            worst_rota[rota] = max(worst_rota[rota], max(own) / min(own))
    assert result.windows == last - 27 - first + 1 == 22
    assert result.org_ratio == pytest.approx(worst_org)
    assert result.org_window == engine.day_of(worst_start)
    by_hand = _hours_by_hand(engine, rotas, worst_start)
    assert result.org_hours == {h: round(v / 4, 1) for h, v in by_hand.items()}
    assert result.per_rota == pytest.approx(worst_rota)
    # Within one rotation the spread can only be narrower than across the organisation.
    assert all(value <= worst_org for value in worst_rota.values())


def _closed_all_week(people: list[str], leave: dict[str, Any] | None = None) -> RotaEngine:
    """One department that never opens, one London rotation: 24 hours of duty a day."""
    data = small_org()
    data["departments"] = {
        "legal": {
            "name": "Legal",
            "timezone": "Europe/London",
            "business_hours": {},
            "escalation": [{"to": "backup", "after": "0m"}],
        }
    }
    data["holidays"] = {}
    data["people"] = [
        {
            "handle": h,
            "name": h.title(),
            "email": f"{h}@test.example",
            "timezone": "Europe/London",
            "departments": ["legal"],
            "roles": ["lead"] if h == people[0] else [],
            "limits": {"out_of_hours_shifts_per_week": 7, "consecutive_nights": 14},
            **({"leave": [leave[h]]} if leave and h in leave else {}),
        }
        for h in people
    ]
    data["rotas"] = {
        "epoch": "2027-01-04",
        "departments": {"legal": {"on_call": {"people": people, "follow_the_sun": False}}},
    }
    return RotaEngine(org_from(data))


def test_org_wide_fairness_counts_whole_days_of_duty() -> None:
    # Two people taking turns, a day each, in January (no clock change): 14 days of 24 hours.
    engine = _closed_all_week(["ann", "bob"])
    result = checks.fairness(engine, 0, 27)
    assert result.windows == 1
    assert result.org_hours == {"ann": 84.0, "bob": 84.0}  # 14 x 24 hours over four weeks
    assert result.org_ratio == 1.0 and result.per_rota == {"legal": 1.0}


def test_org_wide_fairness_does_not_pro_rate_leave() -> None:
    # Bob away a week: Ann carries those seven days. The hours as carried show it; per
    # available day, Bob's three weeks are scaled up to four.
    leave = {"bob": {"start": "2027-01-18", "end": "2027-01-24"}}
    engine = _closed_all_week(["ann", "bob"], leave)
    result = checks.fairness(engine, 0, 27)
    ann, bob = engine.primary_hours("ann", 0, 27), engine.primary_hours("bob", 0, 27)
    assert ann + bob == 28 * 24 and ann > bob
    assert result.org_ratio == pytest.approx(ann / bob)
    assert result.org_hours == {"ann": round(ann / 4, 1), "bob": round(bob / 4, 1)}
    assert result.worst_ratio == pytest.approx(max(ann, bob * 28 / 21) / min(ann, bob * 28 / 21))
