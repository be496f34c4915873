"""Checks over a stretch of the schedule: uncovered hours, people over their limits, fairness.

``socialops rota check`` prints these and fails on any gap or breach. Fairness is a set of
figures, not a failure. Each is max/min over people of their out-of-hours hours as primary on
the department rotations (every department; someone in several rotations counted once, with
all their hours), taken over every four-week window (28 duty days, one window per start day)
in the checked stretch, the worst window reported:

- **organisation-wide**: everyone on any department rotation, hours as carried (no allowance
  for leave: whoever is away, the others carry their share);
- **per rota**: the same hours, compared among the members of one rotation;
- **per available day**: everyone, hours pro-rated to the days each was not on leave.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from socialops.rota.planner import WINDOW_DAYS
from socialops.rota.schedule import DUTY_MANAGER, RotaEngine, ShiftKind

STEP = timedelta(minutes=15)


@dataclass(frozen=True)
class Gap:
    """A stretch in which nobody is on duty for a department."""

    department: str
    start: datetime
    end: datetime
    shift: ShiftKind

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600


@dataclass(frozen=True)
class Breach:
    """A person over one of their limits."""

    person: str
    kind: Literal["shifts-per-week", "consecutive-nights"]
    start: date
    value: int
    limit: int

    def describe(self) -> str:
        if self.kind == "shifts-per-week":
            return (
                f"{self.person}: {self.value} out-of-hours shifts in the week of "
                f"{self.start.isoformat()} (limit {self.limit})"
            )
        return (
            f"{self.person}: on call {self.value} nights in a row from {self.start.isoformat()} "
            f"(limit {self.limit})"
        )


@dataclass(frozen=True)
class Fairness:
    """Out-of-hours duty per person as primary, on the department rotations."""

    window_days: int
    worst_ratio: float | None  # max/min over the worst window (None: fewer than two people)
    worst_window: date | None
    worst_hours: dict[str, float]  # per person, pro-rated, in that window
    hours_per_week: dict[str, float]  # per person over the whole range
    max_consecutive_nights: int
    max_consecutive_person: str | None
    duty_manager_ratio: float | None
    windows: int = 0  # how many four-week windows were compared
    # Organisation-wide, hours as carried (no allowance for leave): the worst window, when it
    # starts, and each person's hours a week in it.
    org_ratio: float | None = None
    org_window: date | None = None
    org_hours: dict[str, float] = field(default_factory=dict)
    # The same hours compared within each department rotation: the worst window's max/min.
    per_rota: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class RotaCheck:
    start: datetime
    end: datetime
    gaps: list[Gap] = field(default_factory=list)
    breaches: list[Breach] = field(default_factory=list)
    fairness: Fairness | None = None

    @property
    def ok(self) -> bool:
        return not self.gaps and not self.breaches


def _align(at: datetime) -> datetime:
    at = at.astimezone(UTC).replace(second=0, microsecond=0)
    return at - timedelta(minutes=at.minute % 15)


def coverage_gaps(
    engine: RotaEngine, start: datetime, end: datetime, *, departments: Iterable[str] | None = None
) -> list[Gap]:
    """Every stretch of ``[start, end)`` with nobody on duty, per department (15-minute steps)."""
    gaps: list[Gap] = []
    for department in departments or engine.calendars:
        t = _align(start)
        open_gap: Gap | None = None
        while t < end:
            duty = engine.on_duty(department, t)
            if not duty.covered:
                if open_gap is not None and open_gap.end == t:
                    open_gap = Gap(department, open_gap.start, t + STEP, open_gap.shift)
                else:
                    if open_gap is not None:
                        gaps.append(open_gap)
                    open_gap = Gap(department, t, t + STEP, duty.shift)
            t += STEP
        if open_gap is not None:
            gaps.append(open_gap)
    return gaps


def _runs(days: list[int]) -> list[tuple[int, int]]:
    """Consecutive runs in a sorted list of day numbers, as (first, length)."""
    runs: list[tuple[int, int]] = []
    for k in days:
        if runs and runs[-1][0] + runs[-1][1] == k:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((k, 1))
    return runs


def rotation_people(engine: RotaEngine) -> list[str]:
    """Everyone on a department on-call rotation (not the duty managers), in config order."""
    out: list[str] = []
    for rota in engine.rotas:
        if rota == DUTY_MANAGER:
            continue
        out += [h for h in engine.members_of_rotation(rota) if h not in out]
    return out


def limit_breaches(engine: RotaEngine, first: int, last: int) -> list[Breach]:
    """People over their weekly shift limit or consecutive-nights limit in days [first, last]."""
    breaches: list[Breach] = []
    people = {h for rota in engine.rotas for h in engine.members_of_rotation(rota)}
    for handle in sorted(people):
        limits = engine.people[handle].limits
        weeks: set[tuple[int, int]] = set()
        for k in range(first, last + 1):
            year, week, _ = engine.day_of(k).isocalendar()
            weeks.add((year, week))
        for year, week in sorted(weeks):
            count = engine.shift_count(handle, year, week)
            if count > limits.out_of_hours_shifts_per_week:
                monday = date.fromisocalendar(year, week, 1)
                breaches.append(
                    Breach(
                        handle,
                        "shifts-per-week",
                        monday,
                        count,
                        limits.out_of_hours_shifts_per_week,
                    )
                )
        nights = engine.nights(handle, max(first - 14, 0), last)
        for run_start, length in _runs(nights):
            if length > limits.consecutive_nights and run_start + length - 1 >= first:
                breaches.append(
                    Breach(
                        handle,
                        "consecutive-nights",
                        engine.day_of(run_start),
                        length,
                        limits.consecutive_nights,
                    )
                )
    return breaches


def _ratio(values: dict[str, float]) -> float | None:
    if len(values) < 2:
        return None
    low, high = min(values.values()), max(values.values())
    return float("inf") if low <= 0 else high / low


def window_starts(first: int, last: int) -> range:
    """The first duty day of every four-week window in days ``[first, last]`` (a shorter range
    is judged on the four weeks from its start)."""
    return range(first, max(first, last - WINDOW_DAYS + 1) + 1)


def org_hours(engine: RotaEngine, first: int, last: int) -> dict[str, float]:
    """Out-of-hours hours as primary per person over duty days ``[first, last]``, across every
    department rotation (someone in several counted once, with all their hours), as carried:
    no allowance for leave. Everyone on a department rotation is in it, at 0 if idle."""
    return {h: engine.primary_hours(h, first, last) for h in rotation_people(engine)}


def fairness(engine: RotaEngine, first: int, last: int) -> Fairness:
    """Out-of-hours hours as primary per person over every window of four weeks in range."""
    people = rotation_people(engine)
    window = WINDOW_DAYS
    worst: tuple[float, int, dict[str, float]] | None = None
    org: tuple[float, int, dict[str, float]] | None = None
    rotas = [r for r in engine.rotas if r != DUTY_MANAGER]
    per_rota: dict[str, float | None] = dict.fromkeys(rotas)
    for s in window_starts(first, last):
        carried = org_hours(engine, s, s + window - 1)
        ratio = _ratio(carried)
        if ratio is not None and (org is None or ratio > org[0]):
            org = (ratio, s, carried)
        for rota in rotas:
            members = engine.members_of_rotation(rota)
            ratio = _ratio({h: carried[h] for h in members})
            known = per_rota[rota]
            if ratio is not None and (known is None or ratio > known):
                per_rota[rota] = ratio
        values: dict[str, float] = {}
        for handle in people:
            available = engine.available_days(handle, s, s + window - 1)
            if available:
                values[handle] = carried[handle] * window / available
        ratio = _ratio(values)
        if ratio is not None and (worst is None or ratio > worst[0]):
            worst = (ratio, s, values)
    weeks = (last - first + 1) / 7
    per_week = {h: engine.primary_hours(h, first, last) / weeks for h in people}
    longest, longest_person = 0, None
    everyone = people + [h for h in engine.members_of_rotation(DUTY_MANAGER) if h not in people]
    for handle in everyone:
        for _run_start, length in _runs(engine.nights(handle, first, last)):
            if length > longest:
                longest, longest_person = length, handle
    dm_ratio = None
    if DUTY_MANAGER in engine.rotas:
        managers = engine.members_of_rotation(DUTY_MANAGER)
        for s in window_starts(first, last):
            values = {}
            for handle in managers:
                available = engine.available_days(handle, s, s + window - 1)
                if available:
                    hours = engine.duty_manager_hours(handle, s, s + window - 1)
                    values[handle] = hours * window / available
            ratio = _ratio(values)
            if ratio is not None and (dm_ratio is None or ratio > dm_ratio):
                dm_ratio = ratio
    return Fairness(
        window_days=window,
        worst_ratio=worst[0] if worst else None,
        worst_window=engine.day_of(worst[1]) if worst else None,
        worst_hours={h: round(v, 1) for h, v in worst[2].items()} if worst else {},
        hours_per_week={h: round(v, 1) for h, v in per_week.items()},
        max_consecutive_nights=longest,
        max_consecutive_person=longest_person,
        duty_manager_ratio=dm_ratio,
        windows=len(window_starts(first, last)),
        org_ratio=org[0] if org else None,
        org_window=engine.day_of(org[1]) if org else None,
        org_hours={h: round(v / (window / 7), 1) for h, v in org[2].items()} if org else {},
        per_rota=per_rota,
    )


def check(engine: RotaEngine, start: datetime, weeks: int) -> RotaCheck:
    """Coverage, limits and fairness for ``weeks`` weeks from ``start``."""
    end = start + timedelta(weeks=weeks)
    gaps = coverage_gaps(engine, start, end)
    if engine.epoch is None or not engine.rotas:
        return RotaCheck(start, end, gaps)
    first = max(engine.day_index(engine.rotas[0], start) or 0, 0)
    last = max(first, first + weeks * 7 - 1)
    return RotaCheck(
        start, end, gaps, limit_breaches(engine, first, last), fairness(engine, first, last)
    )
