"""The weekly report's figures: queries folded into one serialisable ``WeeklyReport``.

Everything counted is counted by the database (:mod:`socialops.report.queries`); here the
small aggregated results become the report's sections, percentiles are resolved exactly, and
on-call hours come from the rota engine.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from socialops.report import queries as qs
from socialops.report import responses as rs
from socialops.report import signoff
from socialops.report.corrections import corrections
from socialops.report.durations import bucket_of_rank, merge_histograms
from socialops.report.queue_time import queue_time
from socialops.report.themes import themes
from socialops.report.week import IsoWeek
from socialops.rota.calendar import Interval
from socialops.rota.schedule import DUTY_MANAGER, RotaEngine

PERCENTILES = (("median", 1, 2), ("p90", 9, 10))  # nearest rank: ceil(n * num / den)
NOT_RECORDED = "not recorded"


class Percentiles(BaseModel):
    """Response times in whole seconds: nearest-rank median and 90th percentile."""

    count: int = 0
    median_seconds: int | None = None
    p90_seconds: int | None = None


class ResponseTimes(BaseModel):
    all: Percentiles = Percentiles()
    business_hours: Percentiles = Percentiles()
    out_of_hours: Percentiles = Percentiles()


class SlaFigures(BaseModel):
    """First-response SLA outcomes of the items whose mention arrived in the week."""

    items: int = 0
    met: int = 0
    breached: int = 0
    pending: int = 0  # open, not due yet when the report was made
    withdrawn: int = 0  # reclassified as needing nobody
    compliance: float | None = None  # met / (met + breached)


class PersonLoad(BaseModel):
    handle: str
    name: str
    business_hours: float  # hours on shift in business hours
    on_call_primary: float  # out-of-hours hours as primary on a department rotation
    on_call_backup: float
    duty_manager: float
    hours_on_duty: float  # business hours + primary on call + duty manager
    out_of_hours_share: float | None
    items: int  # assigned to them (mentions that arrived in the week)
    acted: int


class OnCallLoad(BaseModel):
    people: list[PersonLoad] = Field(default_factory=list)
    fairness_ratio: float | None = None  # max / min primary on-call hours on the rotations
    fairness_note: str = ""


class NotableMention(BaseModel):
    mention_id: int
    channel: str
    author: str
    followers: int
    created_at: datetime
    department: str | None
    urgent: bool
    text: str
    url: str | None


class WeeklyReport(BaseModel):
    """Everything the weekly report shows; ``model_dump(mode="json")`` is its JSON form."""

    week: str
    organisation: str
    timezone: str
    start: datetime
    end: datetime
    hours: float
    generated_at: datetime
    total: int
    volume_by_channel: dict[str, int]
    volume_by_department: dict[str, int]
    volume_by_day: dict[str, int]
    heatmap: list[list[int]]  # [day 0-6 from Monday][local hour 0-23]
    urgent: int
    urgent_by_department: dict[str, int]
    triage_share: float | None
    sentiment: dict[str, Any]
    response_time: dict[str, Any]
    sla: dict[str, Any]
    escalations: dict[str, dict[str, int]]
    backlog_at_end: dict[str, int]
    notifications: dict[str, dict[str, int]]
    oncall_load: OnCallLoad
    approvals: dict[str, Any]
    publishing: dict[str, Any]
    quarantine: dict[str, Any]
    notable: dict[str, list[NotableMention]]
    queue_time: dict[str, Any] = Field(default_factory=dict)  # report/queue_time.py
    themes: dict[str, Any] = Field(default_factory=dict)  # report/themes.py
    corrections: dict[str, Any] = Field(default_factory=dict)  # report/corrections.py


# --------------------------------------------------------------------------------------------
# Exact percentiles from bounded histograms
# --------------------------------------------------------------------------------------------


Group = Callable[[rs.ResponseKey], bool]


def _percentiles(
    *,
    session: Session,
    week: IsoWeek,
    periods: Mapping[str, list[Interval]],
    as_of: datetime,
    cube: rs.ResponseCube,
    groups: Mapping[str, Group],
) -> dict[str, Percentiles]:
    plans: dict[str, tuple[list[rs.ResponseKey], int, dict[str, tuple[int, int]]]] = {}
    wanted: set[int] = set()
    for name, member in groups.items():
        keys = [k for k in cube.minutes if member(k)]
        hist = merge_histograms(cube.minutes[k] for k in keys)
        count = sum(hist.values())
        targets: dict[str, tuple[int, int]] = {}
        if count:
            for label, num, den in PERCENTILES:
                rank = -(-count * num // den)
                targets[label] = bucket_of_rank(hist, rank)
                wanted.add(targets[label][0])
        plans[name] = (keys, count, targets)
    exact = rs.exact_seconds(
        session=session, week=week, open_periods=periods, as_of=as_of, minutes=wanted
    )
    # Each key's exact seconds by minute, once (not filtered again for every group).
    by_minute: dict[tuple[rs.ResponseKey, int], dict[int, int]] = defaultdict(dict)
    for key, seconds in exact.items():
        for s, k in seconds.items():
            by_minute[key, s // qs.BUCKET_SECONDS][s] = k
    out: dict[str, Percentiles] = {}
    for name, (keys, count, targets) in plans.items():
        values: dict[str, int | None] = {}
        for label, (minute, rank) in targets.items():
            inside = merge_histograms(by_minute.get((key, minute), {}) for key in keys)
            values[label] = bucket_of_rank(inside, rank)[0]
        out[name] = Percentiles(
            count=count, median_seconds=values.get("median"), p90_seconds=values.get("p90")
        )
    return out


# --------------------------------------------------------------------------------------------
# On-call load from the rota engine
# --------------------------------------------------------------------------------------------


def _clip(intervals: Iterable[Interval], start: datetime, end: datetime) -> list[Interval]:
    return [
        Interval(max(i.start, start), min(i.end, end))
        for i in intervals
        if i.end > start and i.start < end
    ]


def _intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    out = []
    for x in a:
        for y in b:
            lo, hi = max(x.start, y.start), min(x.end, y.end)
            if lo < hi:
                out.append(Interval(lo, hi))
    return out


def _union_hours(intervals: list[Interval]) -> float:
    total, cursor = 0.0, None
    for i in sorted(intervals):
        if cursor is None or i.start >= cursor:
            total += i.hours
            cursor = i.end
        elif i.end > cursor:
            total += (i.end - cursor).total_seconds() / 3600
            cursor = i.end
    return total


def on_call_hours(engine: RotaEngine, week: IsoWeek) -> dict[str, dict[str, float]]:
    """Per person: business-hours, primary on-call, backup and duty-manager hours in the week."""
    start, end = week.start, week.end
    hours: dict[str, dict[str, float]] = defaultdict(
        lambda: {"business_hours": 0.0, "primary": 0.0, "backup": 0.0, "duty_manager": 0.0}
    )
    for rota in engine.rotas:
        for shift in engine.shifts(rota, start, end):
            clipped = sum(i.hours for i in _clip(shift.intervals, start, end))
            if shift.primary:
                hours[shift.primary]["duty_manager" if rota == DUTY_MANAGER else "primary"] += (
                    clipped
                )
            if shift.backup and rota != DUTY_MANAGER:
                hours[shift.backup]["backup"] += clipped
    for handle in engine.people:
        periods: list[Interval] = []
        own = engine.working_periods(handle, start, end)
        for department, calendar in engine.calendars.items():
            if handle not in engine.pool(department):
                continue
            periods += _intersect(list(calendar.open_periods(start, end)), own)
        periods = [p for p in periods if engine.available(handle, p.start)]
        if periods:
            hours[handle]["business_hours"] = _union_hours(periods)
    return {h: dict(v) for h, v in hours.items()}


def _oncall_load(
    engine: RotaEngine, week: IsoWeek, handled: Mapping[str, Mapping[str, int]]
) -> OnCallLoad:
    hours = on_call_hours(engine, week)
    people = []
    for handle, person in engine.people.items():
        h = hours.get(handle, {})
        items = handled.get(handle, {})
        if not h and not items:
            continue
        bh, primary = h.get("business_hours", 0.0), h.get("primary", 0.0)
        dm = h.get("duty_manager", 0.0)
        duty = bh + primary + dm
        people.append(
            PersonLoad(
                handle=handle,
                name=person.name,
                business_hours=round(bh, 2),
                on_call_primary=round(primary, 2),
                on_call_backup=round(h.get("backup", 0.0), 2),
                duty_manager=round(dm, 2),
                hours_on_duty=round(duty, 2),
                out_of_hours_share=round((primary + dm) / duty, 4) if duty else None,
                items=sum(items.values()),
                acted=items.get("acted", 0),
            )
        )
    rotation_members = sorted(
        {
            h
            for rota in engine.rotas
            if rota != DUTY_MANAGER
            for h in engine.members_of_rotation(rota)
        }
    )
    primaries = [hours.get(h, {}).get("primary", 0.0) for h in rotation_members]
    ratio, note = None, ""
    if len(primaries) >= 2 and min(primaries) > 0:
        ratio = round(max(primaries) / min(primaries), 3)
    elif primaries:
        idle = sum(1 for p in primaries if p == 0)
        note = f"{idle} of {len(primaries)} on-call people had no primary duty this week"
    people.sort(key=lambda p: (-p.hours_on_duty, p.handle))
    return OnCallLoad(people=people, fairness_ratio=ratio, fairness_note=note)


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass
class _Volume:
    """The volume cube folded into the report's volume figures."""

    by_channel: dict[str, int]
    by_department: dict[str, int] = field(default_factory=dict)
    by_day: dict[str, int] = field(default_factory=dict)
    heat: list[list[int]] = field(default_factory=lambda: [[0] * 24 for _ in range(7)])
    urgent_by: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    sentiment: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_channel.values())


def _volume(cells: Iterable[qs.VolumeCell], week: IsoWeek, channels: Iterable[str]) -> _Volume:
    days = [d.isoformat() for d in week.days()]
    out = _Volume(by_channel=dict.fromkeys(channels, 0), by_day=dict.fromkeys(days, 0))
    slots: dict[datetime, tuple[int, int]] = {}  # a week has 168 hours, the cube thousands
    for cell in cells:
        dept = cell.department or "unclassified"
        out.by_channel[cell.channel] = out.by_channel.get(cell.channel, 0) + cell.count
        out.by_department[dept] = out.by_department.get(dept, 0) + cell.count
        if cell.urgent:
            out.urgent_by[dept] += cell.count
        if cell.sentiment:
            out.sentiment[cell.sentiment] = out.sentiment.get(cell.sentiment, 0) + cell.count
        slot = slots.get(cell.hour)
        if slot is None:
            slot = slots[cell.hour] = week.local_slot(cell.hour)
        day, hour = slot
        if 0 <= day < 7:
            out.heat[day][hour] += cell.count
            out.by_day[days[day]] += cell.count
    return out


def _groups(departments: Iterable[str], channels: Iterable[str]) -> dict[str, Group]:
    """The response-time groups: all, per department, per channel; each whole, in business
    hours and out of hours."""
    groups: dict[str, Group] = {
        "all": lambda k: True,
        "all|bh": lambda k: k.business_hours,
        "all|ooh": lambda k: not k.business_hours,
    }
    for d in departments:
        groups[f"department:{d}"] = lambda k, d=d: k.department == d  # type: ignore[misc]
        groups[f"department:{d}|bh"] = lambda k, d=d: k.department == d and k.business_hours  # type: ignore[misc]
        groups[f"department:{d}|ooh"] = lambda k, d=d: k.department == d and not k.business_hours  # type: ignore[misc]
    for ch in channels:
        groups[f"channel:{ch}"] = lambda k, ch=ch: k.channel == ch  # type: ignore[misc]
        groups[f"channel:{ch}|bh"] = lambda k, ch=ch: k.channel == ch and k.business_hours  # type: ignore[misc]
        groups[f"channel:{ch}|ooh"] = lambda k, ch=ch: k.channel == ch and not k.business_hours  # type: ignore[misc]
    return groups


def _response_time(
    *,
    session: Session,
    week: IsoWeek,
    periods: Mapping[str, list[Interval]],
    as_of: datetime,
    cube: rs.ResponseCube,
    departments: list[str],
) -> dict[str, Any]:
    channel_names = sorted({k.channel for k in cube.minutes})
    pct = _percentiles(
        session=session,
        week=week,
        periods=periods,
        as_of=as_of,
        cube=cube,
        groups=_groups(departments, channel_names),
    )

    def times(prefix: str) -> dict[str, Any]:
        return ResponseTimes(
            all=pct[prefix], business_hours=pct[f"{prefix}|bh"], out_of_hours=pct[f"{prefix}|ooh"]
        ).model_dump()

    return {
        "definition": "from the mention's creation to the first action on it; whole seconds, "
        "nearest-rank percentiles; business hours = the mention arrived while its department "
        "was open",
        "overall": times("all"),
        "by_department": {d: times(f"department:{d}") for d in departments},
        "by_channel": {ch: times(f"channel:{ch}") for ch in channel_names},
    }


def _sla(cube: rs.ResponseCube, as_of: datetime) -> dict[str, Any]:
    sla_by: dict[str, SlaFigures] = {}
    for (key, outcome), count in cube.outcomes.items():
        fig = sla_by.setdefault(key.department, SlaFigures())
        setattr(fig, outcome, getattr(fig, outcome) + count)
        fig.items += count
    for fig in sla_by.values():
        fig.compliance = _share(fig.met, fig.met + fig.breached)
    met = sum(f.met for f in sla_by.values())
    breached = sum(f.breached for f in sla_by.values())
    worst = sorted(
        (d for d, f in sla_by.items() if f.breached),
        key=lambda d: (sla_by[d].compliance if sla_by[d].compliance is not None else 1.0, d),
    )
    return {
        "as_of": as_of.isoformat(),
        "met": met,
        "breached": breached,
        "compliance": _share(met, met + breached),
        "by_department": {d: sla_by[d].model_dump() for d in sorted(sla_by)},
        "worst": worst,
    }


def _pairs(counts: Mapping[tuple[str, str], int]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for (outer, inner), count in counts.items():
        out[outer][inner] = count
    return dict(out)


def _quarantine(session: Session, week: IsoWeek) -> dict[str, Any]:
    rows = qs.quarantined(session=session, week=week)
    by_channel: dict[str, int] = defaultdict(int)
    by_stage: dict[str, int] = defaultdict(int)
    for (ch, stage), count in rows.items():
        by_channel[ch] += count
        by_stage[stage] += count
    return {"total": sum(rows.values()), "by_channel": dict(by_channel), "by_stage": dict(by_stage)}


def build_report(
    *,
    session: Session,
    engine: RotaEngine,
    week: IsoWeek,
    organisation: str,
    channels: Iterable[str] = (),
    now: datetime | None = None,
    notable_limit: int = 10,
) -> WeeklyReport:
    """Compute every figure of the week's report (read-only)."""
    now = as_of = (now or datetime.now(UTC)).astimezone(UTC)
    cells = qs.volume_cube(session=session, week=week)
    vol = _volume(cells, week, channels)
    total = vol.total
    periods = {
        d: list(cal.open_periods(week.start, week.end)) for d, cal in engine.calendars.items()
    }
    cube = rs.response_cube(session=session, week=week, open_periods=periods, as_of=as_of)
    departments = sorted(
        {k.department for k in cube.minutes} | {k.department for k, _ in cube.outcomes}
    )
    urgent_list, followed = qs.notable_mentions(session=session, week=week, limit=notable_limit)
    return WeeklyReport(
        week=week.label,
        organisation=organisation,
        timezone=week.timezone,
        start=week.start,
        end=week.end,
        hours=week.hours,
        generated_at=now,
        total=total,
        volume_by_channel=vol.by_channel,
        volume_by_department=dict(sorted(vol.by_department.items(), key=lambda x: (-x[1], x[0]))),
        volume_by_day=vol.by_day,
        heatmap=vol.heat,
        urgent=sum(vol.urgent_by.values()),
        urgent_by_department=dict(vol.urgent_by),
        triage_share=_share(vol.by_department.get("triage", 0), total),
        sentiment=_sentiment(
            vol.sentiment, qs.sentiment_counts(session=session, week=week.previous())
        ),
        response_time=_response_time(
            session=session,
            week=week,
            periods=periods,
            as_of=as_of,
            cube=cube,
            departments=departments,
        ),
        sla=_sla(cube, as_of),
        escalations=_pairs(qs.escalations(session=session, week=week)),
        backlog_at_end=qs.backlog_at(session=session, at=min(week.end, now)),
        notifications=_pairs(qs.notifications(session=session, week=week)),
        oncall_load=_oncall_load(engine, week, qs.handled_by_person(session=session, week=week)),
        approvals=signoff.approvals(session=session, week=week),
        publishing=signoff.publishing(session=session, week=week),
        quarantine=_quarantine(session, week),
        notable={
            "urgent": [_notable(x) for x in urgent_list],
            "most_followed": [_notable(x) for x in followed],
        },
        queue_time=queue_time(session=session, week=week, as_of=as_of),
        themes=themes(
            session=session, week=week, cells=cells, total=total, organisation=organisation
        ),
        corrections=corrections(session=session, week=week, by_department=vol.by_department),
    )


def _sentiment(current: Mapping[str, int], previous: Mapping[str, int]) -> dict[str, Any]:
    labels = ("negative", "neutral", "positive")
    now_total, before_total = sum(current.values()), sum(previous.values())
    share_now = {s: _share(current.get(s, 0), now_total) for s in labels}
    share_before = {s: _share(previous.get(s, 0), before_total) for s in labels}
    change = {
        s: (
            round((share_now[s] or 0.0) - (share_before[s] or 0.0), 4)
            if now_total and before_total
            else None
        )
        for s in labels
    }
    return {
        "counts": {s: current.get(s, 0) for s in labels},
        "share": share_now,
        "previous_counts": {s: previous.get(s, 0) for s in labels},
        "previous_share": share_before,
        "change_in_share": change,  # percentage points / 100
    }


def _notable(x: qs.Notable) -> NotableMention:
    return NotableMention(
        mention_id=x.mention_id,
        channel=x.channel,
        author=x.author,
        followers=x.followers,
        created_at=x.created_at,
        department=x.department,
        urgent=x.urgent,
        text=x.text,
        url=x.url,
    )


def local_day_label(day: str) -> str:
    return date.fromisoformat(day).strftime("%a %d %b")
