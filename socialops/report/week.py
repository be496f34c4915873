"""An ISO week in a time zone: its label, its instants, and the local hour of an instant.

A week runs from Monday 00:00 to the next Monday 00:00 *local* time, so a week across a
daylight-saving change is 167 or 169 hours long; both ends are converted to UTC separately.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

_LABEL = re.compile(r"^(\d{4})-?W(\d{1,2})$")


class WeekError(ValueError):
    """A week label that is not an ISO week (``2026-W47``)."""


@dataclass(frozen=True)
class IsoWeek:
    """ISO ``year``-W``week`` in ``timezone``; ``start``/``end`` are UTC instants, end excluded."""

    year: int
    week: int
    timezone: str

    @classmethod
    def parse(cls, label: str, timezone: str) -> IsoWeek:
        match = _LABEL.match(label.strip().upper())
        if not match:
            raise WeekError(f"{label!r} is not an ISO week: write it like 2026-W47")
        year, week = int(match[1]), int(match[2])
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError:
            raise WeekError(f"{label!r}: {year} has no ISO week {week}") from None
        return cls(year, week, timezone)

    @classmethod
    def containing(cls, at: datetime, timezone: str) -> IsoWeek:
        local = at.astimezone(ZoneInfo(timezone)).date()
        iso = local.isocalendar()
        return cls(iso.year, iso.week, timezone)

    @classmethod
    def last_complete(cls, now: datetime, timezone: str) -> IsoWeek:
        """The most recent week that has ended at ``now``."""
        return cls.containing(now, timezone).previous()

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    def days(self) -> list[date]:
        return [self.monday + timedelta(days=i) for i in range(7)]

    def local_midnight(self, day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=self.tz).astimezone(UTC)

    @property
    def start(self) -> datetime:
        return self.local_midnight(self.monday)

    @property
    def end(self) -> datetime:
        return self.local_midnight(self.monday + timedelta(days=7))

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    def previous(self) -> IsoWeek:
        iso = (self.monday - timedelta(days=7)).isocalendar()
        return IsoWeek(iso.year, iso.week, self.timezone)

    def next(self) -> IsoWeek:
        iso = (self.monday + timedelta(days=7)).isocalendar()
        return IsoWeek(iso.year, iso.week, self.timezone)

    def local_slot(self, at: datetime) -> tuple[int, int]:
        """(day 0-6 from Monday, local hour 0-23) of an instant inside the week."""
        local = at.astimezone(self.tz)
        return (local.date() - self.monday).days, local.hour

    def whole_hour_offsets(self) -> bool:
        """Every UTC offset in force during the week is a whole number of hours (so a UTC
        hour falls in exactly one local hour)."""
        at, step = self.start, timedelta(hours=1)
        while at <= self.end:
            offset = at.astimezone(self.tz).utcoffset() or timedelta(0)
            if offset % timedelta(hours=1):
                return False
            at += step
        return True
