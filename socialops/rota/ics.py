"""iCalendar (RFC 5545) export of shifts, so people see their duty in their calendar app.

Times are UTC (``...Z``); each event's UID is derived from what it is (rota, role, person,
start), so exporting again updates events instead of duplicating them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from socialops.rota.calendar import Interval
from socialops.rota.schedule import DUTY_MANAGER, RotaEngine

PRODID = "-//socialops//rota export//EN"


@dataclass(frozen=True)
class Event:
    uid: str
    start: datetime
    end: datetime
    summary: str
    description: str = ""
    categories: str = ""


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def fold(line: str) -> list[str]:
    """Lines of at most 75 octets; continuation lines start with a space (RFC 5545 3.1)."""
    out: list[str] = []
    current, size, limit = "", 0, 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            out.append(current)
            current, size, limit = " ", 1, 75
        current += char
        size += width
    out.append(current)
    return out


def render(events: Iterable[Event], *, name: str, now: datetime) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape(name)}",
    ]
    for event in sorted(events, key=lambda e: (e.start, e.uid)):
        lines += [
            "BEGIN:VEVENT",
            f"UID:{event.uid}",
            f"DTSTAMP:{_stamp(now)}",
            f"DTSTART:{_stamp(event.start)}",
            f"DTEND:{_stamp(event.end)}",
            f"SUMMARY:{escape(event.summary)}",
        ]
        if event.description:
            lines.append(f"DESCRIPTION:{escape(event.description)}")
        if event.categories:
            lines.append(f"CATEGORIES:{escape(event.categories)}")
        lines.append("TRANSP:OPAQUE")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "".join(part + "\r\n" for line in lines for part in fold(line))


def _uid(*parts: str) -> str:
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
    return f"{digest}@socialops"


def _name(engine: RotaEngine, handle: str | None) -> str:
    if handle is None:
        return "nobody"
    return engine.people[handle].name


def _rota_title(engine: RotaEngine, rota: str) -> str:
    if rota == DUTY_MANAGER:
        return "Duty manager"
    names = [engine.departments[d].name for d in engine.covers(rota)]
    return " + ".join(names)


def _on_call_events(
    engine: RotaEngine, start: datetime, end: datetime, *, rota: str, person: str | None
) -> list[Event]:
    events: list[Event] = []
    for shift in engine.shifts(rota, start, end):
        roles = [("primary", shift.primary), ("backup", shift.backup)]
        for role, handle in roles:
            if handle is None or (person is not None and handle != person):
                continue
            if person is None and role == "backup":
                continue  # a department calendar shows one event per stretch, naming both
            for interval in shift.intervals:
                if interval.end <= start or interval.start >= end:
                    continue
                title = _rota_title(engine, rota)
                if person is None:
                    summary = f"On call: {_name(engine, shift.primary)} ({title})"
                else:
                    summary = f"On call ({role}): {title}"
                description = (
                    f"Primary: {_name(engine, shift.primary)}\n"
                    f"Backup: {_name(engine, shift.backup)}\n"
                    f"Duty day {shift.day.isoformat()}, follow-the-sun zone {shift.zone}"
                )
                events.append(
                    Event(
                        uid=_uid("on-call", rota, role, handle, interval.start.isoformat()),
                        start=interval.start,
                        end=interval.end,
                        summary=summary,
                        description=description,
                        categories="duty-manager" if rota == DUTY_MANAGER else "on-call",
                    )
                )
    return events


def _business_events(
    engine: RotaEngine, handle: str, start: datetime, end: datetime
) -> list[Event]:
    events: list[Event] = []
    person = engine.people[handle]
    for department in person.departments:
        if handle not in engine.pool(department):
            continue
        name = engine.departments[department].name
        for period in engine.calendars[department].open_periods(start, end):
            for working in engine.working_periods(handle, period.start, period.end):
                piece = Interval(max(working.start, period.start), min(working.end, period.end))
                if piece.start >= piece.end or not engine.available_during(handle, [piece]):
                    continue
                events.append(
                    Event(
                        uid=_uid("business-hours", department, handle, piece.start.isoformat()),
                        start=piece.start,
                        end=piece.end,
                        summary=f"Business hours: {name}",
                        description=f"On shift in the {name} pool.",
                        categories="business-hours",
                    )
                )
    return events


def person_calendar(
    engine: RotaEngine, handle: str, *, start: datetime, weeks: int, now: datetime
) -> str:
    """A person's shifts: on call (primary or backup), duty manager, business hours."""
    end = start + timedelta(weeks=weeks)
    events: list[Event] = []
    for rota in engine.rotations_of(handle):
        events += _on_call_events(engine, start, end, rota=rota, person=handle)
    events += _business_events(engine, handle, start, end)
    return render(events, name=f"Rota: {engine.people[handle].name}", now=now)


def department_calendar(
    engine: RotaEngine, department: str, *, start: datetime, weeks: int, now: datetime
) -> str:
    """Who is on call for a department, stretch by stretch."""
    end = start + timedelta(weeks=weeks)
    rota = engine.rotation_of.get(department)
    events = _on_call_events(engine, start, end, rota=rota, person=None) if rota else []
    name = engine.departments[department].name
    return render(events, name=f"On call: {name}", now=now)
