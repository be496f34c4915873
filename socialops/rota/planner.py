"""The on-call planner: who takes each rotation's out-of-hours shifts, day by day.

Each duty day runs from the hand-over time to the next day's; its out-of-hours part is split
between the time zones the rotation's people sit in (follow-the-sun: each instant goes to the
zone whose local time is closest to noon), and each part gets a primary and a backup.

Who takes a part is decided day by day from the rota's ``epoch``, deterministically: the
eligible person with the fewest out-of-hours hours per credited day over the trailing four
weeks, across every rotation (so duty is spread over all of them), never on leave, never two
overlapping duties, and within their limits (consecutive nights, shifts per week) whenever
anyone else can take it. Weekly hand-over keeps one person for the week where possible.

Leave is partly made up, so that the hours each person actually carries in any four weeks stay
close (the organisation-wide figure of ``rota check``): a day of leave in the trailing four
weeks is credited as a third of a day (``LEAVE_PAST_CREDIT``), and each day of leave in the
coming two weeks (``LEAVE_AHEAD_DAYS``) as a whole extra day, so a person takes somewhat more
before and after time away. Without leave the choice is the same as hours per day.

:class:`~socialops.rota.schedule.RotaEngine` owns one planner and answers questions with it.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from socialops.rota.calendar import Interval, WorkCalendar, local_instant, subtract
from socialops.rota.models import Person

WINDOW_DAYS = 28
# How leave weighs in the choice (see the module docstring): a past day of leave counts as
# this much of a day available for duty, and leave within the next LEAVE_AHEAD_DAYS adds a day
# each, so the person is preferred before it. Tuned against the org-wide figure over a year of
# windows, with the leave of the default organisation moved about (see the README).
LEAVE_PAST_CREDIT = 1 / 3
LEAVE_AHEAD_DAYS = 14
_STEP = timedelta(minutes=15)
_MIDDAY = 12 * 60


@dataclass(frozen=True)
class Shift:
    """One stretch of rota duty: a rotation's duty day, in one follow-the-sun zone."""

    rota: str  # a department id, or "duty_manager"
    day: date  # the duty day: the local date at its hand-over
    zone: str  # the time zone of the people it was given to
    intervals: tuple[Interval, ...]
    primary: str | None
    backup: str | None

    @property
    def hours(self) -> float:
        return sum(interval.hours for interval in self.intervals)

    @property
    def start(self) -> datetime:
        return self.intervals[0].start

    @property
    def end(self) -> datetime:
        return self.intervals[-1].end


@dataclass(frozen=True)
class RotationSpec:
    """One on-call rotation as the planner needs it (a department's, or the duty managers')."""

    name: str
    tz: ZoneInfo
    handover_minute: int
    weekly: bool
    handover_weekday: int
    people: tuple[str, ...]
    zones: tuple[tuple[str, tuple[str, ...]], ...]  # follow-the-sun groups, in order
    calendars: tuple[WorkCalendar, ...]  # of the departments it covers; none: around the clock
    departments: tuple[str, ...]

    @property
    def duty_manager(self) -> bool:
        return not self.calendars


def _circular(a: int, b: int) -> int:
    d = abs(a - b) % 1440
    return min(d, 1440 - d)


def _local_minute(at: datetime, tz: ZoneInfo) -> int:
    local = at.astimezone(tz)
    return local.hour * 60 + local.minute


def available_during(person: Person, tz: ZoneInfo, intervals: Iterable[Interval]) -> bool:
    """No day of leave (in the person's own time zone) touches any of the intervals."""
    if not person.leave:
        return True
    for interval in intervals:
        day = interval.start.astimezone(tz).date()
        last = (interval.end - timedelta(microseconds=1)).astimezone(tz).date()
        while day <= last:
            if person.on_leave(day):
                return False
            day += timedelta(days=1)
    return True


class Planner:
    """Generates the rotations' shifts day by day and keeps the figures they add up to."""

    def __init__(
        self,
        *,
        people: dict[str, Person],
        zones: dict[str, ZoneInfo],
        epoch: date | None,
        specs: Sequence[RotationSpec],
    ) -> None:
        self.people = people
        self._tz = zones
        self.epoch = epoch
        self._specs = list(specs)
        # Days [0, _done) are scheduled for every rotation.
        self._lock = threading.RLock()
        self._done = 0
        self._shifts: dict[str, dict[int, list[Shift]]] = defaultdict(dict)
        self._hours: dict[str, dict[int, float]] = defaultdict(dict)  # department on-call
        self._backup_hours: dict[str, dict[int, float]] = defaultdict(dict)
        self._dm_hours: dict[str, dict[int, float]] = defaultdict(dict)
        self._nights: dict[str, set[int]] = defaultdict(set)
        self._week_shifts: dict[tuple[str, int, int], int] = defaultdict(int)
        self._busy: dict[str, list[Interval]] = defaultdict(list)
        self._weekly_choice: dict[tuple[str, int, str, str], str] = {}
        self._window: dict[str, list[float]] = {}  # handle -> [hours, backup, dm, available]
        self._leave_ahead: dict[str, int] = {}  # handle -> days of leave in the coming days

    def shifts_on(self, rota: str, k: int) -> list[Shift]:
        """A rotation's shifts of duty day ``k``, in order (generated as needed)."""
        self.generate(k)
        return self._shifts[rota].get(k, [])

    def _window_for(self, spec: RotationSpec, k: int) -> Interval:
        assert self.epoch is not None
        day = self.epoch + timedelta(days=k)
        return Interval(
            local_instant(spec.tz, day, spec.handover_minute),
            local_instant(spec.tz, day + timedelta(days=1), spec.handover_minute),
        )

    def generate(self, last: int) -> None:
        """Schedule every rotation up to and including duty day ``last``."""
        if self.epoch is None or self._done > last:
            return
        with self._lock:  # tasks may share one engine across threads
            while self._done <= last:
                k = self._done
                self._roll_window(k)
                self._schedule_day(k)
                self._done += 1

    def _roll_window(self, k: int) -> None:
        assert self.epoch is not None
        today = self.epoch + timedelta(days=k)
        gone = k - WINDOW_DAYS
        old = self.epoch + timedelta(days=gone)
        for handle, person in self.people.items():
            window = self._window.setdefault(handle, [0.0, 0.0, 0.0, 0.0])
            if gone >= 0:
                window[0] -= self._hours[handle].get(gone, 0.0)
                window[1] -= self._backup_hours[handle].get(gone, 0.0)
                window[2] -= self._dm_hours[handle].get(gone, 0.0)
                window[3] -= 0.0 if person.on_leave(old) else 1.0
            window[3] += 0.0 if person.on_leave(today) else 1.0
            self._leave_ahead[handle] = (
                sum(
                    1
                    for j in range(1, LEAVE_AHEAD_DAYS + 1)
                    if person.on_leave(today + timedelta(days=j))
                )
                if person.leave
                else 0
            )
            busy = self._busy[handle]
            if busy:
                horizon = datetime.combine(today - timedelta(days=3), time(), UTC)
                self._busy[handle] = [b for b in busy if b.end > horizon]

    def _out_of_hours(self, spec: RotationSpec, window: Interval) -> list[Interval]:
        """The window's hours in which any department the rotation covers is closed."""
        if spec.duty_manager:
            return [window]
        closed = sorted(
            interval
            for calendar in spec.calendars
            for interval in subtract(window, list(calendar.open_periods(window.start, window.end)))
        )
        merged: list[Interval] = []
        for interval in closed:
            if merged and interval.start <= merged[-1].end:
                merged[-1] = Interval(merged[-1].start, max(merged[-1].end, interval.end))
            else:
                merged.append(interval)
        return merged

    def _split(self, spec: RotationSpec, intervals: list[Interval]) -> dict[str, list[Interval]]:
        zones = [zone for zone, _members in spec.zones]
        if len(zones) == 1:
            return {zones[0]: intervals} if intervals else {}
        tzs = [ZoneInfo(zone) for zone in zones]
        parts: dict[str, list[Interval]] = {}
        for interval in intervals:
            t = interval.start
            while t < interval.end:
                nxt = min(t + _STEP, interval.end)
                middle = t + (nxt - t) / 2
                best = min(
                    range(len(zones)),
                    key=lambda i: (_circular(_local_minute(middle, tzs[i]), _MIDDAY), i),
                )
                runs = parts.setdefault(zones[best], [])
                if runs and runs[-1].end == t:
                    runs[-1] = Interval(runs[-1].start, nxt)
                else:
                    runs.append(Interval(t, nxt))
                t = nxt
        return {zone: parts[zone] for zone in zones if zone in parts}

    def _schedule_day(self, k: int) -> None:
        """Every rotation's shifts for duty day ``k``: the longest are given out first (the
        least-loaded person takes the biggest share), then the shorter ones."""
        assert self.epoch is not None
        day = self.epoch + timedelta(days=k)
        pending: list[tuple[float, int, RotationSpec, str, list[Interval]]] = []
        for order, spec in enumerate(self._specs):
            self._shifts[spec.name][k] = []
            parts = self._split(spec, self._out_of_hours(spec, self._window_for(spec, k)))
            for zone, intervals in parts.items():
                hours = sum(interval.hours for interval in intervals)
                pending.append((-hours, order, spec, zone, intervals))
        pending.sort(key=lambda item: (item[0], item[1]))
        for _hours, _order, spec, zone, intervals in pending:
            members = dict(spec.zones)[zone]
            primary = self._choose_primary(spec, k, zone, members, intervals)
            backup = self._choose_backup(spec, k, zone, members, intervals, primary)
            shift = Shift(spec.name, day, zone, tuple(intervals), primary, backup)
            self._shifts[spec.name][k].append(shift)
            self._record(spec, k, shift)
        for spec in self._specs:
            self._shifts[spec.name][k].sort(key=lambda shift: shift.start)

    def _record(self, spec: RotationSpec, k: int, shift: Shift) -> None:
        assert self.epoch is not None
        hours = shift.hours
        if shift.primary is not None:
            handle = shift.primary
            table = self._dm_hours if spec.duty_manager else self._hours
            table[handle][k] = table[handle].get(k, 0.0) + hours
            self._window[handle][2 if spec.duty_manager else 0] += hours
            self._nights[handle].add(k)
            year, week, _ = (self.epoch + timedelta(days=k)).isocalendar()
            self._week_shifts[(handle, year, week)] += 1
            if not spec.duty_manager:
                self._busy[handle].extend(shift.intervals)
        if shift.backup is not None:
            handle = shift.backup
            self._backup_hours[handle][k] = self._backup_hours[handle].get(k, 0.0) + hours
            self._window[handle][1] += hours

    def _free(self, handle: str, intervals: Sequence[Interval], *, busy_ok: bool = False) -> bool:
        if not available_during(self.people[handle], self._tz[handle], intervals):
            return False
        if busy_ok:
            return True
        return not any(b.overlaps(i) for b in self._busy[handle] for i in intervals)

    def _within_limits(self, handle: str, k: int) -> bool:
        assert self.epoch is not None
        limits = self.people[handle].limits
        nights = self._nights[handle]
        if k not in nights:
            run, j = 1, k - 1
            while j in nights:
                run, j = run + 1, j - 1
            if run > limits.consecutive_nights:
                return False
        year, week, _ = (self.epoch + timedelta(days=k)).isocalendar()
        return self._week_shifts[(handle, year, week)] < limits.out_of_hours_shifts_per_week

    def _load(self, handle: str, slot: int) -> float:
        """Hours per credited day over the trailing window: days available count whole, past
        leave a fraction, leave coming soon adds days (so the person is chosen before it)."""
        window = self._window[handle]
        days = min(self._done + 1, WINDOW_DAYS)  # the window's length so far
        leave = days - window[3]
        credited = window[3] + LEAVE_PAST_CREDIT * leave + self._leave_ahead.get(handle, 0)
        return window[slot] / max(credited, 1.0)

    def _rank(self, spec: RotationSpec, k: int, slot: int) -> dict[str, tuple[float, int, int]]:
        n = len(spec.people)
        return {
            handle: (
                round(self._load(handle, slot), 6),
                1 if (k - 1) in self._nights[handle] else 0,
                (i - k) % n,
            )
            for i, handle in enumerate(spec.people)
        }

    def _choose_primary(
        self,
        spec: RotationSpec,
        k: int,
        zone: str,
        group: Sequence[str],
        intervals: Sequence[Interval],
    ) -> str | None:
        slot_key: tuple[str, int, str, str] | None = None
        if spec.weekly:
            slot = (k - self._first_weekday_offset(spec)) // 7
            slot_key = (spec.name, slot, zone, "primary")
            kept = self._weekly_choice.get(slot_key)
            if kept is not None and self._free(kept, intervals):
                return kept
        rank = self._rank(spec, k, 2 if spec.duty_manager else 0)
        everyone = spec.people
        choice: str | None = None
        for pool, strict, busy_ok in (
            (group, True, False),
            (everyone, True, False),
            (group, False, False),
            (everyone, False, False),
            (everyone, False, True),
        ):
            candidates = [
                h
                for h in pool
                if self._free(h, intervals, busy_ok=busy_ok)
                and (not strict or self._within_limits(h, k))
            ]
            if candidates:
                choice = min(candidates, key=rank.__getitem__)
                break
        if slot_key is not None and choice is not None and slot_key not in self._weekly_choice:
            self._weekly_choice[slot_key] = choice
        return choice

    def _choose_backup(
        self,
        spec: RotationSpec,
        k: int,
        zone: str,
        group: Sequence[str],
        intervals: Sequence[Interval],
        primary: str | None,
    ) -> str | None:
        rank = self._rank(spec, k, 1)
        everyone = spec.people
        for pool, busy_ok in ((group, False), (everyone, False), (everyone, True)):
            candidates = [
                h for h in pool if h != primary and self._free(h, intervals, busy_ok=busy_ok)
            ]
            if candidates:
                return min(candidates, key=rank.__getitem__)
        return None

    def _first_weekday_offset(self, spec: RotationSpec) -> int:
        assert self.epoch is not None
        return (spec.handover_weekday - self.epoch.weekday()) % 7

    # ----------------------------------------------------------------------------------------
    # Figures for checks and reports
    # ----------------------------------------------------------------------------------------

    def primary_hours(self, handle: str, first: int, last: int) -> float:
        """Department on-call hours as primary over duty days ``[first, last]``."""
        self.generate(last)
        table = self._hours[handle]
        return sum(table.get(k, 0.0) for k in range(first, last + 1))

    def duty_manager_hours(self, handle: str, first: int, last: int) -> float:
        self.generate(last)
        table = self._dm_hours[handle]
        return sum(table.get(k, 0.0) for k in range(first, last + 1))

    def nights(self, handle: str, first: int, last: int) -> list[int]:
        """Duty days ``[first, last]`` on which the person is primary on call (any rota)."""
        self.generate(last)
        return sorted(k for k in self._nights[handle] if first <= k <= last)

    def shift_count(self, handle: str, year: int, week: int) -> int:
        return self._week_shifts.get((handle, year, week), 0)
