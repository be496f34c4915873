"""The rota engine: who is on duty for a department at an instant.

Business hours (the department's, in its time zone, minus its holidays): everyone in the
department's pool who is working and not on leave is *on shift*; routing picks among them by
least open load. The day's first two in a rotating order are shown as primary and backup.

Out of hours (nights, weekends, holidays): an on-call rotation. Each duty day runs from the
hand-over time to the next day's; its out-of-hours part is split between the time zones the
rotation's people sit in (follow-the-sun: each instant goes to the zone whose local time is
closest to noon), and each part gets a primary and a backup.

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
"""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from socialops.rota.calendar import Interval, WorkCalendar, local_instant, subtract
from socialops.rota.models import DAYS, Person, clock_minutes, parse_duration, weekly_minutes

if TYPE_CHECKING:
    from socialops.config import Department, OrgConfig

ShiftKind = Literal["business-hours", "out-of-hours", "holiday"]
DUTY_MANAGER = "duty_manager"
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
class Duty:
    """Who is on duty for a department at an instant."""

    department: str
    at: datetime
    shift: ShiftKind
    primary: str | None
    backup: str | None
    on_shift: tuple[str, ...]  # business hours: everyone on shift; otherwise the primary
    ends_at: datetime | None  # when this stretch ends (the next hand-over)

    @property
    def covered(self) -> bool:
        return self.primary is not None


@dataclass(frozen=True)
class _Spec:
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


class RotaEngine:
    """Answers who is on duty, and produces the schedules, for one organisation config."""

    def __init__(self, org: OrgConfig) -> None:
        self.org = org
        self.people: dict[str, Person] = {p.handle: p for p in org.people}
        self._tz = {p.handle: ZoneInfo(p.timezone) for p in org.people}
        self._working = {
            p.handle: WorkCalendar(self._tz[p.handle], weekly_minutes(p.working_hours))
            for p in org.people
            if p.working_hours is not None
        }
        default_tz = org.organisation.timezone
        self.departments: dict[str, Department] = {str(k): v for k, v in org.departments.items()}
        self.calendars: dict[str, WorkCalendar] = {}
        for dept_id, dept in self.departments.items():
            holidays = {h.date: h.name for h in org.holidays.get(dept.holidays or "", [])}
            self.calendars[dept_id] = WorkCalendar(
                ZoneInfo(dept.timezone or default_tz), weekly_minutes(dept.business_hours), holidays
            )
        self.epoch: date | None = org.rotas.epoch if org.rotas else None
        self._specs: list[_Spec] = []
        self._pools: dict[str, tuple[str, ...]] = {}
        self.rotation_of: dict[str, str] = {}  # department -> the rotation covering it
        if org.rotas is not None:
            departments = org.rotas.departments
            for rota_id, rota in departments.items():
                self._pools[rota_id] = tuple(rota.business_hours)
                self.rotation_of[rota_id] = rota.on_call.shared_with or rota_id
            for rota_id, rota in departments.items():
                on_call = rota.on_call
                if on_call.shared_with is not None:
                    continue
                covered = tuple(d for d, owner in self.rotation_of.items() if owner == rota_id)
                self._specs.append(
                    _Spec(
                        name=rota_id,
                        tz=self.calendars[rota_id].tz,
                        handover_minute=clock_minutes(on_call.handover_time),
                        weekly=on_call.handover == "weekly",
                        handover_weekday=DAYS.index(on_call.handover_day),
                        people=tuple(on_call.people),
                        zones=self._zones(on_call.people, on_call.follow_the_sun),
                        calendars=tuple(self.calendars[d] for d in covered),
                        departments=covered,
                    )
                )
            dm = org.rotas.duty_manager
            if dm is not None:
                self._specs.append(
                    _Spec(
                        name=DUTY_MANAGER,
                        tz=ZoneInfo(dm.timezone),
                        handover_minute=clock_minutes(dm.handover_time),
                        weekly=dm.handover == "weekly",
                        handover_weekday=DAYS.index(dm.handover_day),
                        people=tuple(dm.people),
                        zones=((dm.timezone, tuple(dm.people)),),
                        calendars=(),
                        departments=(),
                    )
                )
        self._spec_by_name = {spec.name: spec for spec in self._specs}
        # Generation state: days [0, _done) are scheduled for every rotation.
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

    # ----------------------------------------------------------------------------------------
    # People
    # ----------------------------------------------------------------------------------------

    def _zones(
        self, people: Sequence[str], follow_the_sun: bool
    ) -> tuple[tuple[str, tuple[str, ...]], ...]:
        if not follow_the_sun:
            zone = self.people[people[0]].timezone
            return ((zone, tuple(people)),)
        groups: dict[str, list[str]] = {}
        for handle in people:
            groups.setdefault(self.people[handle].timezone, []).append(handle)
        return tuple((zone, tuple(members)) for zone, members in groups.items())

    def person_tz(self, handle: str) -> ZoneInfo:
        return self._tz[handle]

    def available(self, handle: str, at: datetime) -> bool:
        """Not on leave at this instant (leave dates are in the person's own time zone)."""
        return not self.people[handle].on_leave(at.astimezone(self._tz[handle]).date())

    def available_during(self, handle: str, intervals: Iterable[Interval]) -> bool:
        person, tz = self.people[handle], self._tz[handle]
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

    def working(self, handle: str, at: datetime) -> bool:
        """Within the person's own working hours (always, if they have none configured)."""
        calendar = self._working.get(handle)
        return calendar is None or calendar.is_open(at)

    def working_periods(self, handle: str, start: datetime, end: datetime) -> list[Interval]:
        calendar = self._working.get(handle)
        if calendar is None:
            return [Interval(start, end)]
        return list(calendar.open_periods(start, end))

    def lead(self, department: str, at: datetime) -> str | None:
        """The department's first lead who is not on leave."""
        for person in self.org.people:
            if (
                "lead" in person.roles
                and department in person.departments
                and self.available(person.handle, at)
            ):
                return person.handle
        return None

    def members(self, department: str) -> list[str]:
        """Everyone in the department's pool or on-call rotation, in config order."""
        spec = self._spec_by_name.get(self.rotation_of.get(department, department))
        out = list(self._pools.get(department, ()))
        out += [h for h in (spec.people if spec else ()) if h not in out]
        return out

    def rotations_of(self, handle: str) -> list[str]:
        """The on-call rotations (department ids, or duty_manager) a person is in."""
        return [spec.name for spec in self._specs if handle in spec.people]

    # ----------------------------------------------------------------------------------------
    # Who is on duty
    # ----------------------------------------------------------------------------------------

    def on_duty(self, department: str, at: datetime) -> Duty:
        """Who is on duty for ``department`` at the instant ``at``."""
        if department not in self.calendars:
            raise KeyError(department)
        at = at.astimezone(UTC)
        calendar = self.calendars[department]
        period = calendar.period_at(at)
        if period is not None and department in self._pools:
            on_shift = self.on_shift(department, at)
            primary = on_shift[0] if on_shift else None
            backup = on_shift[1] if len(on_shift) > 1 else None
            if backup is None:
                lead = self.lead(department, at)
                backup = lead if lead != primary else None
            return Duty(department, at, "business-hours", primary, backup, on_shift, period.end)
        kind: ShiftKind = (
            "holiday" if calendar.holiday(calendar.local_date(at)) is not None else "out-of-hours"
        )
        if period is not None:
            kind = "business-hours"  # open, but no pool configured: the rotation covers it
        rotation = self.rotation_of.get(department)
        shift, interval = self._shift_at(rotation, at) if rotation else (None, None)
        if shift is None:
            return Duty(department, at, kind, None, None, (), None)
        on = (shift.primary,) if shift.primary else ()
        return Duty(
            department,
            at,
            kind,
            shift.primary,
            shift.backup,
            on,
            interval.end if interval else None,
        )

    def on_shift(self, department: str, at: datetime) -> tuple[str, ...]:
        """Business hours: the pool members working now, in the day's rotating order."""
        pool = self._pools.get(department, ())
        if not pool:
            return ()
        day = self.calendars[department].local_date(at).toordinal()
        order = [pool[(day + i) % len(pool)] for i in range(len(pool))]
        return tuple(h for h in order if self.available(h, at) and self.working(h, at))

    def duty_manager(self, at: datetime) -> Duty | None:
        if DUTY_MANAGER not in self._spec_by_name:
            return None
        shift, interval = self._shift_at(DUTY_MANAGER, at.astimezone(UTC))
        if shift is None:
            return Duty(DUTY_MANAGER, at, "out-of-hours", None, None, (), None)
        on = (shift.primary,) if shift.primary else ()
        return Duty(
            DUTY_MANAGER,
            at,
            "out-of-hours",
            shift.primary,
            shift.backup,
            on,
            interval.end if interval else None,
        )

    def due_at(self, department: str, *, urgent: bool, start: datetime) -> datetime:
        """When a first response is due, from the department's SLA (business-hours aware)."""
        sla = self.departments[department].sla
        target = sla.urgent if urgent else sla.normal
        duration = parse_duration(target.first_response)
        if target.clock == "around-the-clock":
            return start.astimezone(UTC) + duration
        return self.calendars[department].add_open_time(start.astimezone(UTC), duration)

    # ----------------------------------------------------------------------------------------
    # Schedules
    # ----------------------------------------------------------------------------------------

    def day_index(self, rota: str, at: datetime) -> int | None:
        """The duty day (days since the epoch) of a rotation that contains ``at``."""
        spec = self._spec_by_name.get(rota)
        if spec is None or self.epoch is None:
            return None
        local = at.astimezone(spec.tz)
        day = local.date()
        if local.hour * 60 + local.minute < spec.handover_minute:
            day -= timedelta(days=1)
        return (day - self.epoch).days

    def shifts(self, rota: str, start: datetime, end: datetime) -> list[Shift]:
        """A rotation's shifts that overlap ``[start, end)``, in order."""
        first, last = self.day_index(rota, start), self.day_index(rota, end)
        if first is None or last is None or last < 0:
            return []
        self._generate(last)
        days = self._shifts[rota]
        out = [
            shift
            for k in range(max(first, 0), last + 1)
            for shift in days.get(k, [])
            if shift.start < end and shift.end > start
        ]
        return sorted(out, key=lambda s: (s.start, s.zone))

    @property
    def rotas(self) -> list[str]:
        return [spec.name for spec in self._specs]

    def _shift_at(self, rota: str, at: datetime) -> tuple[Shift | None, Interval | None]:
        k = self.day_index(rota, at)
        if k is None or k < 0:
            return None, None
        self._generate(k)
        for shift in self._shifts[rota].get(k, []):
            for interval in shift.intervals:
                if at in interval:
                    return shift, interval
        return None, None

    def _window_for(self, spec: _Spec, k: int) -> Interval:
        assert self.epoch is not None
        day = self.epoch + timedelta(days=k)
        return Interval(
            local_instant(spec.tz, day, spec.handover_minute),
            local_instant(spec.tz, day + timedelta(days=1), spec.handover_minute),
        )

    def _generate(self, last: int) -> None:
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

    def _out_of_hours(self, spec: _Spec, window: Interval) -> list[Interval]:
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

    def _split(self, spec: _Spec, intervals: list[Interval]) -> dict[str, list[Interval]]:
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
        pending: list[tuple[float, int, _Spec, str, list[Interval]]] = []
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

    def _record(self, spec: _Spec, k: int, shift: Shift) -> None:
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
        if not self.available_during(handle, intervals):
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

    def _rank(self, spec: _Spec, k: int, slot: int) -> dict[str, tuple[float, int, int]]:
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
        spec: _Spec,
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
        spec: _Spec,
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

    def _first_weekday_offset(self, spec: _Spec) -> int:
        assert self.epoch is not None
        return (spec.handover_weekday - self.epoch.weekday()) % 7

    # ----------------------------------------------------------------------------------------
    # Figures for checks and reports
    # ----------------------------------------------------------------------------------------

    def primary_hours(self, handle: str, first: int, last: int) -> float:
        """Department on-call hours as primary over duty days ``[first, last]``."""
        self._generate(last)
        table = self._hours[handle]
        return sum(table.get(k, 0.0) for k in range(first, last + 1))

    def duty_manager_hours(self, handle: str, first: int, last: int) -> float:
        self._generate(last)
        table = self._dm_hours[handle]
        return sum(table.get(k, 0.0) for k in range(first, last + 1))

    def nights(self, handle: str, first: int, last: int) -> list[int]:
        """Duty days ``[first, last]`` on which the person is primary on call (any rota)."""
        self._generate(last)
        return sorted(k for k in self._nights[handle] if first <= k <= last)

    def shift_count(self, handle: str, year: int, week: int) -> int:
        return self._week_shifts.get((handle, year, week), 0)

    def available_days(self, handle: str, first: int, last: int) -> int:
        assert self.epoch is not None
        person = self.people[handle]
        return sum(
            0 if person.on_leave(self.epoch + timedelta(days=k)) else 1
            for k in range(first, last + 1)
        )

    def operations(self, at: datetime) -> Duty | None:
        """Who looks after the pipeline at ``at`` (``rotas.operations``), None without one.

        A plain rotation through the people in order, one duty day (or week) each from the
        hand-over time, passing over anyone on leave that day; the backup is the next one
        available. Kept apart from the department and duty-manager schedules: it never
        changes who they choose.
        """
        rota = self.org.rotas.operations if self.org.rotas else None
        if rota is None or self.epoch is None:
            return None
        tz = ZoneInfo(rota.timezone)
        local = at.astimezone(tz)
        day = local.date()
        handover = clock_minutes(rota.handover_time)
        if local.hour * 60 + local.minute < handover:
            day -= timedelta(days=1)
        if rota.handover == "weekly":
            weekday = DAYS.index(rota.handover_day)
            day -= timedelta(days=(day.weekday() - weekday) % 7)
            turn = (day - self.epoch).days // 7
            ends = day + timedelta(days=7)
        else:
            turn = (day - self.epoch).days
            ends = day + timedelta(days=1)
        people = list(rota.people)
        order = [people[(turn + i) % len(people)] for i in range(len(people))]
        free = [h for h in order if not self.people[h].on_leave(local.date())]
        primary = free[0] if free else None
        backup = free[1] if len(free) > 1 else None
        return Duty(
            "operations",
            at,
            "out-of-hours",
            primary,
            backup,
            (primary,) if primary else (),
            local_instant(tz, ends, handover),
        )

    def index_of(self, day: date) -> int:
        assert self.epoch is not None
        return (day - self.epoch).days

    def day_of(self, k: int) -> date:
        assert self.epoch is not None
        return self.epoch + timedelta(days=k)

    def members_of_rotation(self, rota: str) -> list[str]:
        spec = self._spec_by_name.get(rota)
        return list(spec.people) if spec else []

    def covers(self, rota: str) -> tuple[str, ...]:
        """The departments a rotation covers (none for the duty managers)."""
        return self._spec_by_name[rota].departments

    def pool(self, department: str) -> tuple[str, ...]:
        return self._pools.get(department, ())


_ENGINES: dict[str, RotaEngine] = {}
_ENGINES_LOCK = threading.Lock()


def engine_for(org: OrgConfig) -> RotaEngine:
    """One engine per distinct configuration per process: schedules are generated once."""
    key = hashlib.sha256(org.model_dump_json().encode()).hexdigest()
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            if len(_ENGINES) >= 4:
                _ENGINES.pop(next(iter(_ENGINES)))
            engine = _ENGINES[key] = RotaEngine(org)
        return engine
