"""Backfilling a time window, one day at a time: idempotent, resumable, gap-free.

A day of a channel is fetched by walking the feed **backwards** (``max_id``) from a starting
cursor: items newer than the day are passed over, items of the day are validated and stored,
and the walk stops at the first page that reaches before the day. The live position
(``channel_state``) is never touched, so live ingestion goes on as before; rows are inserted
with ``ON CONFLICT DO NOTHING``, so a mention both runs see is stored once.

A finished day is recorded (``backfill_days``) in the transaction that stores its last rows,
with the cursor where the next, older day starts; a rerun skips finished days and starts the
first unfinished one from the nearest finished newer day's cursor. A day that has not ended yet
is never recorded as finished.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy import Date, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from socialops import storage
from socialops.config import Channel
from socialops.db import session_scope
from socialops.ingest import MentionSource
from socialops.mentions import InvalidItem, Mention
from socialops.quality import QualityRules, validate_mentions
from socialops.storage import Base, UTCDateTime


class BackfillDayRow(Base):
    """One finished day of one channel's backfill."""

    __tablename__ = "backfill_days"

    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    fetched: Mapped[int] = mapped_column(Integer)
    stored: Mapped[int] = mapped_column(Integer)
    duplicates: Mapped[int] = mapped_column(Integer)
    quarantined: Mapped[int] = mapped_column(Integer)
    resume_cursor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class Day:
    """One day of the window, in the organisation's zone, as a UTC interval [start, end)."""

    day: date
    start: datetime
    end: datetime


def as_zone(value: datetime, zone: str) -> datetime:
    """An aware instant: a naive one is read in the organisation's zone."""
    return value.replace(tzinfo=ZoneInfo(zone)) if value.tzinfo is None else value


def window_days(since: datetime, until: datetime, zone: str) -> list[Day]:
    """The days from ``since`` up to ``until`` (exclusive), newest first, clipped to the window."""
    tz = ZoneInfo(zone)
    start, end = as_zone(since, zone).astimezone(UTC), as_zone(until, zone).astimezone(UTC)
    if end <= start:
        raise ValueError(f"until ({until.isoformat()}) must be after since ({since.isoformat()})")
    days: list[Day] = []
    day = start.astimezone(tz).date()
    while True:
        day_start = datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)
        day_end = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz).astimezone(UTC)
        if day_start >= end:
            break
        days.append(Day(day, max(day_start, start), min(day_end, end)))
        day += timedelta(days=1)
    return days[::-1]


class DayResult(BaseModel):
    """What one day of one channel's backfill did."""

    channel: str
    day: date
    skipped_as_done: bool = False
    pages: int = 0
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    finished: bool = False
    resume_cursor: str | None = None
    skip_reasons: dict[str, int] = Field(default_factory=dict)


def finished_days(*, session: Session, channel: str) -> dict[date, str | None]:
    """Finished days of a channel, with the cursor where the next older day starts."""
    rows = session.execute(
        select(BackfillDayRow.day, BackfillDayRow.resume_cursor).where(
            BackfillDayRow.channel == channel
        )
    )
    return {row.day: row.resume_cursor for row in rows}


def start_cursor(done: dict[date, str | None], day: date) -> str | None:
    """Where to start walking into ``day``: the nearest finished newer day's cursor, else
    the top of the feed."""
    newer = sorted(d for d in done if d > day)
    return done[newer[0]] if newer else None


def forget_days(*, session: Session, channel: str, days: list[date]) -> int:
    """Make days unfinished again (a forced re-fetch)."""
    from sqlalchemy import delete

    result = session.execute(
        delete(BackfillDayRow).where(
            BackfillDayRow.channel == channel, BackfillDayRow.day.in_(days)
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


class DayBackfill:
    """Fetch one day of one channel and store it; see the module docstring."""

    def __init__(
        self,
        *,
        channel: Channel,
        source: MentionSource,
        database_url: str,
        rules: QualityRules,
        batch_size: int = 5000,
        now: datetime | None = None,
    ) -> None:
        self.channel, self.source, self.database_url = channel, source, database_url
        self.rules, self.batch_size = rules, batch_size
        self.now = now or datetime.now(UTC)

    def run(self, day: Day, *, cursor: str | None) -> DayResult:
        result = DayResult(channel=self.channel.name, day=day.day)
        skipped: Counter[str] = Counter()
        mentions: list[Mention] = []
        invalid: list[InvalidItem] = []
        resume = cursor
        while True:
            page = self.source.fetch_mentions_page(max_id=cursor, limit=self.channel.page_size)
            if page.is_empty or page.oldest_cursor is None:
                break
            result.pages += 1
            result.fetched += page.item_count
            for item in page.skipped:
                skipped[item.reason] += 1
            invalid.extend(page.invalid)
            mentions.extend(
                m
                for m in page.mentions
                if m.created_at is None or day.start <= m.created_at < day.end
            )
            if page.oldest_created_at is not None and page.oldest_created_at < day.start:
                break  # this page reaches into the older day: start it from here next time
            resume = cursor = page.oldest_cursor
            if len(mentions) + len(invalid) >= self.batch_size:
                self._store(result, mentions, invalid)
                mentions, invalid = [], []
        result.resume_cursor = resume
        result.finished = day.end <= self.now
        result.skip_reasons = dict(skipped)
        self._store(result, mentions, invalid, finish=result.finished)
        return result

    def _store(
        self,
        result: DayResult,
        mentions: list[Mention],
        invalid: list[InvalidItem],
        *,
        finish: bool = False,
    ) -> None:
        report = validate_mentions(mentions, now=self.now, rules=self.rules)
        with session_scope(self.database_url) as session:
            for stage, items in (("parse", invalid), ("quality", report.invalid)):
                storage.quarantine_items(
                    session=session,
                    channel=self.channel.name,
                    platform=self.channel.platform,
                    stage=stage,
                    items=items,
                )
            stored = storage.store_mentions(session=session, mentions=report.valid)
            result.stored += stored
            result.duplicates += len(report.valid) - stored
            result.quarantined += len(invalid) + len(report.invalid)
            if finish:
                session.merge(
                    BackfillDayRow(
                        channel=self.channel.name,
                        day=result.day,
                        fetched=result.fetched,
                        stored=result.stored,
                        duplicates=result.duplicates,
                        quarantined=result.quarantined,
                        resume_cursor=result.resume_cursor,
                        finished_at=storage.utcnow(),
                    )
                )


def summary_markdown(results: list[DayResult], failures: dict[str, str]) -> str:
    """One row per channel and day, newest first; days finished by an earlier run marked so."""
    lines = [
        "# Backfill",
        "",
        "| channel | day | pages | fetched | stored | already stored | quarantined | status |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        if r.skipped_as_done:
            status = "done earlier (skipped)"
        else:
            status = "done" if r.finished else "fetched (day not over: fetched again next time)"
        lines.append(
            f"| {r.channel} | {r.day.isoformat()} | {r.pages} | {r.fetched} | {r.stored} "
            f"| {r.duplicates} | {r.quarantined} | {status} |"
        )
    for key, reason in sorted(failures.items()):
        lines.append(f"| {key} | | | | | | | **failed**: {reason.replace('|', '/')} |")
    totals = [r for r in results if not r.skipped_as_done]
    lines += [
        "",
        f"Stored {sum(r.stored for r in totals)} new mentions "
        f"({sum(r.duplicates for r in totals)} already stored) over {len(totals)} channel-days; "
        f"{sum(r.skipped_as_done for r in results)} channel-days were done already.",
    ]
    return "\n".join(lines) + "\n"
