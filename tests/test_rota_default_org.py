"""The shipped organisation (config/northwind.yaml): every department covered every hour,
out-of-hours duty spread fairly, nobody on call more than three nights running."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from socialops.config import load_config
from socialops.rota import checks
from socialops.rota.schedule import DUTY_MANAGER, RotaEngine
from tests.conftest import REPO

FROM = date(2026, 11, 30)  # eight weeks over Christmas and New Year, with leave in them
WEEKS = 8


@pytest.fixture(scope="module")
def engine() -> RotaEngine:
    return RotaEngine(load_config(REPO / "config" / "northwind.yaml"))


def test_the_organisation_is_realistic(engine: RotaEngine) -> None:
    people = engine.org.people
    assert 18 <= len(people) <= 24
    assert {p.timezone for p in people} == {"Europe/London", "America/New_York"}
    assert set(engine.org.departments) == {
        "customer_relations",
        "marketing",
        "public_relations",
        "hr",
        "legal",
        "triage",
    }
    assert all(engine.lead(d, datetime(2026, 12, 1, tzinfo=UTC)) for d in engine.org.departments)
    assert engine.org.holidays["england-and-wales"][0].name == "New Year's Day"
    assert any(p.leave for p in people)


def test_every_department_is_covered_every_hour_for_a_year(engine: RotaEngine) -> None:
    # 2026 and 2027: bank holidays, leave (Amelia's February half term left the 08:00 care desk
    # empty until Chloe started at 08:00 too), and the weeks when London and New York change
    # their clocks on different dates (the New York evening shifts still reach 22:00 in London).
    result = checks.check(engine, datetime(2026, 1, 5, tzinfo=UTC), 104)
    assert result.gaps == []
    assert result.breaches == []
    assert result.ok
    # Spot checks: Christmas Day is a holiday for legal, the care desk stays open until 22:00.
    christmas = engine.on_duty("legal", datetime(2026, 12, 25, 11, tzinfo=UTC))
    assert christmas.shift == "holiday" and christmas.primary and christmas.backup
    evening = engine.on_duty("customer_relations", datetime(2026, 12, 1, 21, tzinfo=UTC))
    assert evening.shift == "business-hours"
    assert {engine.people[h].timezone for h in evening.on_shift} == {"America/New_York"}


def test_out_of_hours_duty_is_fair_over_every_four_weeks(engine: RotaEngine) -> None:
    # Sixteen weeks of four-week windows: Christmas leave, bank holidays, DST in March.
    first = engine.index_of(FROM)
    last = first + 16 * 7 - 1
    fairness = checks.fairness(engine, first, last)
    assert fairness.worst_ratio is not None and fairness.worst_ratio <= 1.5
    assert fairness.max_consecutive_nights <= 3
    assert fairness.duty_manager_ratio is not None and fairness.duty_manager_ratio <= 1.5
    people = checks.rotation_people(engine)
    assert len(people) >= 14
    assert min(fairness.hours_per_week.values()) > 10  # everyone really takes part
    # The bound holds window by window, recomputed here from the raw schedule.
    for s in range(first, last - 27 + 1):
        hours = {
            h: engine.primary_hours(h, s, s + 27) * 28 / engine.available_days(h, s, s + 27)
            for h in people
            if engine.available_days(h, s, s + 27)
        }
        assert max(hours.values()) / min(hours.values()) <= 1.5, engine.day_of(s)


def test_out_of_hours_duty_is_fair_across_the_organisation(engine: RotaEngine) -> None:
    # Four-week windows starting every day for twelve weeks from 7 December 2026 (so every
    # window starting on a Monday among them): Isla's eleven days of Christmas leave, Amelia's
    # half term, bank holidays. Hours as carried, no allowance for leave; nobody left out.
    first = engine.index_of(date(2026, 12, 7))
    last = first + 11 * 7 + 27
    fairness = checks.fairness(engine, first, last)
    assert fairness.windows == 11 * 7 + 1
    assert fairness.org_ratio is not None and fairness.org_ratio <= 1.5
    assert set(fairness.org_hours) == set(checks.rotation_people(engine))
    assert min(fairness.org_hours.values()) > 10
    assert set(fairness.per_rota) == {"customer_relations", "public_relations", "hr"}
    assert all(r is not None and r <= 1.5 for r in fairness.per_rota.values())
    assert fairness.worst_ratio is not None and fairness.worst_ratio <= 1.5
    # Recomputed from the raw schedule at each Monday: the window among them.
    people = checks.rotation_people(engine)
    for s in range(first, first + 12 * 7, 7):
        hours = [engine.primary_hours(h, s, s + 27) for h in people]
        assert max(hours) / min(hours) <= 1.5, engine.day_of(s)


def test_nobody_is_on_call_more_than_three_nights_in_a_row(engine: RotaEngine) -> None:
    first = engine.index_of(FROM)
    last = first + WEEKS * 7 - 1
    for handle in {*checks.rotation_people(engine), *engine.members_of_rotation(DUTY_MANAGER)}:
        nights = engine.nights(handle, first, last)
        run = longest = 0
        previous = None
        for k in nights:
            run = run + 1 if previous is not None and k == previous + 1 else 1
            longest = max(longest, run)
            previous = k
        assert longest <= 3, handle


def test_follow_the_sun_gives_new_york_the_london_evening(engine: RotaEngine) -> None:
    evening = engine.on_duty("hr", datetime(2026, 12, 1, 22, tzinfo=UTC))  # 17:00 in New York
    early = engine.on_duty("hr", datetime(2026, 12, 2, 5, tzinfo=UTC))  # 05:00 in London
    assert engine.people[evening.primary or ""].timezone == "America/New_York"
    assert engine.people[early.primary or ""].timezone == "Europe/London"
