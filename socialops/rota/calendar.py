"""Business hours in a time zone, with holidays: is it open, and when is something due.

Everything takes the instant it is asked about; instants are aware datetimes, returned in UTC.
Local times are converted with zoneinfo, so DST changes move business hours with the clocks.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

Weekly = Mapping[int, tuple[tuple[int, int], ...]]
"""``{weekday: ((start_minute, end_minute), ...)}`` in local time; Monday is 0."""


@dataclass(frozen=True, order=True)
class Interval:
    """``[start, end)`` in UTC."""

    start: datetime
    end: datetime

    def __contains__(self, at: object) -> bool:
        return isinstance(at, datetime) and self.start <= at < self.end

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end


def local_instant(tz: ZoneInfo, day: date, minute: int) -> datetime:
    """Local ``day`` at ``minute`` past midnight (1440 is the next midnight), in UTC."""
    day = day + timedelta(days=minute // 1440)
    minute %= 1440
    return datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=tz).astimezone(
        UTC
    )


def subtract(window: Interval, holes: list[Interval]) -> list[Interval]:
    """``window`` minus the (sorted, non-overlapping) ``holes``."""
    out: list[Interval] = []
    cursor = window.start
    for hole in holes:
        if hole.end <= cursor or hole.start >= window.end:
            continue
        if hole.start > cursor:
            out.append(Interval(cursor, hole.start))
        cursor = max(cursor, hole.end)
    if cursor < window.end:
        out.append(Interval(cursor, window.end))
    return out


@dataclass(frozen=True)
class WorkCalendar:
    """Opening hours of a department (or a person's working hours) in its time zone."""

    tz: ZoneInfo
    weekly: Weekly
    holidays: Mapping[date, str] = field(default_factory=dict)

    @property
    def has_hours(self) -> bool:
        return any(self.weekly.get(day) for day in range(7))

    def local_date(self, at: datetime) -> date:
        return at.astimezone(self.tz).date()

    def holiday(self, day: date) -> str | None:
        return self.holidays.get(day)

    def periods_on(self, day: date) -> list[Interval]:
        """The open periods of a local date (none on a holiday), in UTC."""
        if day in self.holidays:
            return []
        return [
            Interval(local_instant(self.tz, day, start), local_instant(self.tz, day, end))
            for start, end in self.weekly.get(day.weekday(), ())
        ]

    def is_open(self, at: datetime) -> bool:
        return any(at in period for period in self.periods_on(self.local_date(at)))

    def period_at(self, at: datetime) -> Interval | None:
        return next((p for p in self.periods_on(self.local_date(at)) if at in p), None)

    def open_periods(self, start: datetime, end: datetime) -> Iterator[Interval]:
        """Open periods overlapping ``[start, end)``, clipped to it, in order."""
        day = self.local_date(start) - timedelta(days=1)
        last = self.local_date(end)
        while day <= last:
            for period in self.periods_on(day):
                if period.end > start and period.start < end:
                    yield Interval(max(period.start, start), min(period.end, end))
            day += timedelta(days=1)

    def add_open_time(
        self, start: datetime, duration: timedelta, *, horizon_days: int = 800
    ) -> datetime:
        """``start`` plus ``duration`` of open time: 4 business hours from Saturday noon is
        Monday at opening time plus 4 hours. Without any opening hours it is plain time."""
        if duration <= timedelta(0) or not self.has_hours:
            return start + duration
        remaining = duration
        day = self.local_date(start)
        for _ in range(horizon_days):
            for period in self.periods_on(day):
                begin = max(period.start, start)
                if begin >= period.end:
                    continue
                available = period.end - begin
                if available >= remaining:
                    return begin + remaining
                remaining -= available
            day += timedelta(days=1)
        raise ValueError(f"no opening hours within {horizon_days} days of {start.isoformat()}")

    def next_open(self, at: datetime, *, horizon_days: int = 400) -> datetime | None:
        """``at`` if open, else when it next opens (None if never within the horizon)."""
        day = self.local_date(at)
        for _ in range(horizon_days):
            for period in self.periods_on(day):
                if period.end > at:
                    return max(period.start, at)
            day += timedelta(days=1)
        return None
