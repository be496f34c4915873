"""The rota engine: who is on duty for a department at an instant.

Business hours (the department's, in its time zone, minus its holidays): everyone in the
department's pool who is working and not on leave is *on shift*; routing picks among them by
least open load. The day's first two in a rotating order are shown as primary and backup.

Out of hours (nights, weekends, holidays): an on-call rotation, whose shifts the planner
(:mod:`socialops.rota.planner`) gives out day by day, fairly and within each person's limits.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from socialops.rota.calendar import Interval, WorkCalendar, local_instant
from socialops.rota.models import DAYS, Person, clock_minutes, parse_duration, weekly_minutes
from socialops.rota.planner import Planner, RotationSpec, Shift, available_during

if TYPE_CHECKING:
    from socialops.config import Department, OrgConfig

ShiftKind = Literal["business-hours", "out-of-hours", "holiday"]
DUTY_MANAGER = "duty_manager"


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
        self._specs: list[RotationSpec] = []
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
                    RotationSpec(
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
                    RotationSpec(
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
        self._planner = Planner(
            people=self.people, zones=self._tz, epoch=self.epoch, specs=self._specs
        )

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
        return available_during(self.people[handle], self._tz[handle], intervals)

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
        out = [
            shift
            for k in range(max(first, 0), last + 1)
            for shift in self._planner.shifts_on(rota, k)
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
        for shift in self._planner.shifts_on(rota, k):
            for interval in shift.intervals:
                if at in interval:
                    return shift, interval
        return None, None

    # ----------------------------------------------------------------------------------------
    # Figures for checks and reports
    # ----------------------------------------------------------------------------------------

    def primary_hours(self, handle: str, first: int, last: int) -> float:
        """Department on-call hours as primary over duty days ``[first, last]``."""
        return self._planner.primary_hours(handle, first, last)

    def duty_manager_hours(self, handle: str, first: int, last: int) -> float:
        return self._planner.duty_manager_hours(handle, first, last)

    def nights(self, handle: str, first: int, last: int) -> list[int]:
        """Duty days ``[first, last]`` on which the person is primary on call (any rota)."""
        return self._planner.nights(handle, first, last)

    def shift_count(self, handle: str, year: int, week: int) -> int:
        return self._planner.shift_count(handle, year, week)

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
