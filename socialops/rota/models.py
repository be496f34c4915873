"""The organisation file's people, rotas, holidays, SLAs, escalation and notification settings.

Validated by :class:`socialops.config.OrgConfig` (this module must not import it). Values keep
the shape they have in YAML (``"09:00-17:30"``, ``"4h"``) so a model dumps and validates back
unchanged; the engine parses them once. Cross-references (a rota naming an unknown person)
are checked in :mod:`socialops.rota.references`.
"""

from __future__ import annotations

import itertools
import re
import string
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Role = Literal["agent", "approver", "lead"]
Event = Literal[
    "assigned",
    "urgent",
    "due_soon",
    "escalated",
    "handover",
    "reassigned",
    "released",
    # conversations: the same person raised it on another platform (to the owner)
    "linked",
    # sign-off: a draft waits for the recipient's approval; it was rejected (to its assignee);
    # the platform refused it (to its assignee)
    "review",
    "rejected",
    "publish_failed",
]
EscalationTarget = Literal["backup", "lead", "duty_manager"]

# What a notification template may use: {mention_id}, {due_local}, ...
TEMPLATE_FIELDS: frozenset[str] = frozenset(
    {
        "mention_id",
        "department",
        "department_name",
        "assignee",
        "assignee_name",
        "previous",
        "due_at",
        "due_local",
        "urgency",
        "author",
        "url",
        "text",
        "level",
        "step",
        "count",
        "items",
        "reason",
        # sign-off notices
        "recipient_name",
        "draft_id",
        "what",
        "channel",
        "needs",
        "draft_text",
        "by",
        "error",
    }
)

_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_DURATION = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?$")
_CLOCK = re.compile(r"^(?P<h>[01]\d|2[0-4]):(?P<m>[0-5]\d)$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------------------------
# Scalar types
# --------------------------------------------------------------------------------------------


def parse_duration(value: object) -> timedelta:
    """``"30m"``, ``"4h"``, ``"1h30m"``, ``"2d"`` or ``0`` (and timedeltas, for round trips)."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value == 0:
        return timedelta(0)
    text = str(value).strip().replace(" ", "")
    match = _DURATION.match(text)
    if not text or match is None:
        raise ValueError("a duration like 30m, 4h, 1h30m or 2d")
    parts = {k: int(v) for k, v in match.groupdict(default="0").items()}
    return timedelta(days=parts["d"], hours=parts["h"], minutes=parts["m"])


def format_duration(value: timedelta) -> str:
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    out = (f"{days}d" if days else "") + (f"{hours}h" if hours else "")
    return out + (f"{minutes}m" if minutes or not out else "")


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            "unknown time zone: use an IANA name such as Europe/London or America/New_York"
        ) from None
    return name


def clock_minutes(text: str) -> int:
    """``"09:30"`` -> 570; ``"24:00"`` -> 1440."""
    match = _CLOCK.match(text)
    if match is None:
        raise ValueError("a time of day like 09:00 (24-hour clock)")
    minutes = int(match["h"]) * 60 + int(match["m"])
    if minutes > 1440:
        raise ValueError("a time of day like 09:00 (24-hour clock)")
    return minutes


def _clock(text: str) -> str:
    if clock_minutes(text) == 1440:
        raise ValueError("a time of day from 00:00 to 23:59")
    return text


def period_minutes(text: str) -> tuple[int, int]:
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError("a period like 09:00-17:30")
    first, last = clock_minutes(start.strip()), clock_minutes(end.strip())
    if last <= first:
        raise ValueError("a period must end after it starts (09:00-17:30; 24:00 is midnight)")
    return first, last


def _period(text: str) -> str:
    period_minutes(text)
    return text


def _periods(periods: list[str]) -> list[str]:
    spans = sorted(period_minutes(p) for p in periods)
    for (_s1, e1), (s2, _e2) in itertools.pairwise(spans):
        if s2 < e1:
            raise ValueError("periods overlap: list each stretch of time once")
    return periods


def day_numbers(key: str) -> list[int]:
    """``"mon"`` -> [0]; ``"mon-fri"`` -> [0..4]; ``"sat-sun"`` -> [5, 6]."""
    first, sep, last = key.partition("-")
    if first not in DAYS or (sep and last not in DAYS):
        raise ValueError("a day (mon..sun) or a range of days like mon-fri")
    a = DAYS.index(first)
    b = DAYS.index(last) if sep else a
    return [(a + i) % 7 for i in range((b - a) % 7 + 1)]


def _day_key(key: str) -> str:
    day_numbers(key)
    return key


def _weekly(value: dict[str, list[str]]) -> dict[str, list[str]]:
    seen: dict[int, str] = {}
    for key in value:
        for day in day_numbers(key):
            if day in seen:
                raise ValueError(f"{DAYS[day]} is given twice ({seen[day]!r} and {key!r})")
            seen[day] = key
    return value


def _env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        raise ValueError(
            "must be the NAME of an environment variable that holds the Apprise URL "
            "(URLs carry secrets: they never sit in files)"
        )
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
TimeZoneName = Annotated[str, AfterValidator(_zone)]
ClockTime = Annotated[str, AfterValidator(_clock)]
Period = Annotated[str, AfterValidator(_period)]
DayKey = Annotated[str, AfterValidator(_day_key)]
WeeklyHours = Annotated[
    dict[DayKey, Annotated[list[Period], AfterValidator(_periods)]], AfterValidator(_weekly)
]
EnvName = Annotated[str, AfterValidator(_env_name)]
Handle = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=64)]


def weekly_minutes(spec: Mapping[str, Sequence[str]]) -> dict[int, tuple[tuple[int, int], ...]]:
    """Validated weekly hours as ``{weekday: ((start_minute, end_minute), ...)}``."""
    out: dict[int, list[tuple[int, int]]] = {day: [] for day in range(7)}
    for key, periods in spec.items():
        for day in day_numbers(key):
            out[day].extend(period_minutes(p) for p in periods)
    return {day: tuple(sorted(spans)) for day, spans in out.items()}


# --------------------------------------------------------------------------------------------
# Department policy: SLAs, escalation, sign-off
# --------------------------------------------------------------------------------------------


def _roles(*roles: Role) -> list[Role]:
    return list(roles)


class SlaTarget(_Strict):
    """How long the first response may take, and whether nights and weekends count."""

    first_response: Duration
    clock: Literal["around-the-clock", "business-hours"]


class Sla(_Strict):
    """SLA targets by urgency."""

    urgent: SlaTarget = SlaTarget(first_response=timedelta(minutes=30), clock="around-the-clock")
    normal: SlaTarget = SlaTarget(first_response=timedelta(hours=4), clock="business-hours")


class EscalationStep(_Strict):
    """Past due and not acted on: hand the item to ``to`` this long after the due time."""

    to: EscalationTarget
    after: Duration = timedelta(0)


def _chain(steps: list[EscalationStep]) -> list[EscalationStep]:
    targets = [step.to for step in steps]
    if len(set(targets)) != len(targets):
        raise ValueError("each escalation target may appear once")
    afters = [step.after for step in steps]
    if afters != sorted(afters):
        raise ValueError("escalation steps must be in order of their `after` delay")
    return steps


DEFAULT_ESCALATION = [
    EscalationStep(to="backup", after=timedelta(0)),
    EscalationStep(to="lead", after=timedelta(minutes=30)),
    EscalationStep(to="duty_manager", after=timedelta(minutes=60)),
]
EscalationChain = Annotated[list[EscalationStep], AfterValidator(_chain)]


class SignOff(_Strict):
    """Who must approve a reply before it is published (used by the approvals stage)."""

    approvals_required: int = Field(default=1, ge=0, le=5)
    urgent_approvals_required: int | None = Field(default=None, ge=0, le=5)
    approver_roles: list[Role] = Field(default_factory=lambda: _roles("approver", "lead"))
    allow_self_approval: bool = False


# --------------------------------------------------------------------------------------------
# People and holidays
# --------------------------------------------------------------------------------------------


class Leave(_Strict):
    """Dates away (inclusive, in the person's own time zone)."""

    start: date
    end: date
    note: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> Leave:
        if self.end < self.start:
            raise ValueError("leave must end on or after its start date")
        return self


class Limits(_Strict):
    """How much out-of-hours duty a person may carry."""

    out_of_hours_shifts_per_week: int = Field(default=4, ge=0, le=7)
    consecutive_nights: int = Field(default=3, ge=1, le=14)


class Person(_Strict):
    """Someone who can be assigned mentions, approve replies or lead a department."""

    handle: Handle
    name: str
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    chat_id: str = ""
    timezone: TimeZoneName
    departments: list[str] = Field(min_length=1)
    roles: list[Role] = Field(default_factory=lambda: _roles("agent"))
    working_hours: WeeklyHours | None = Field(
        default=None,
        description="When this person works, in their own time zone (default: whenever "
        "their department is open).",
    )
    limits: Limits = Limits()
    leave: list[Leave] = Field(default_factory=list)
    notify_env: EnvName | None = None
    urgent_notify_env: EnvName | None = None

    def on_leave(self, day: date) -> bool:
        return any(item.start <= day <= item.end for item in self.leave)


class Holiday(_Strict):
    date: date
    name: str


# --------------------------------------------------------------------------------------------
# Rotas
# --------------------------------------------------------------------------------------------


def _unique(people: list[str]) -> list[str]:
    seen: set[str] = set()
    for handle in people:
        if handle in seen:
            raise ValueError(f"{handle!r} is listed twice")
        seen.add(handle)
    return people


PeopleList = Annotated[list[Handle], AfterValidator(_unique)]


class OnCall(_Strict):
    """The out-of-hours rotation of one department, or ``shared_with`` another's.

    A shared rotation covers every department that shares it whenever any of them is closed:
    small teams (HR and legal, say) share one on-call person rather than each wake someone.
    """

    people: PeopleList = Field(default_factory=list)
    shared_with: str | None = None
    handover: Literal["daily", "weekly"] = "daily"
    handover_time: ClockTime = "09:00"
    handover_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    follow_the_sun: bool = Field(
        default=True,
        description="Split each night between the time zones the people sit in, each taking "
        "the hours closest to its own daytime.",
    )

    @model_validator(mode="after")
    def _people_or_shared(self) -> OnCall:
        if self.shared_with is None and len(self.people) < 2:
            raise ValueError("needs at least two people (or shared_with: another department)")
        if self.shared_with is not None and self.people:
            raise ValueError("give either people or shared_with, not both")
        return self


class DepartmentRota(_Strict):
    """Business hours: a pool (least open load). Out of hours: an on-call rotation."""

    business_hours: PeopleList = Field(default_factory=list)
    on_call: OnCall


class DutyManagerRota(_Strict):
    """The last escalation step, around the clock."""

    people: PeopleList = Field(min_length=1)
    timezone: TimeZoneName = "UTC"
    handover: Literal["daily", "weekly"] = "daily"
    handover_time: ClockTime = "09:00"
    handover_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"


class Rotas(_Strict):
    """Every department's rota, and the duty managers'."""

    epoch: date = Field(description="Schedules are generated from this date on.")
    duty_manager: DutyManagerRota | None = None
    departments: dict[str, DepartmentRota] = Field(default_factory=dict)
    operations: DutyManagerRota | None = Field(
        default=None,
        description="Who looks after the pipeline itself (failing or late flow runs), around "
        "the clock: the duty managers' format, a separate rotation.",
    )


# --------------------------------------------------------------------------------------------
# Notifications
# --------------------------------------------------------------------------------------------


def _template(text: str) -> str:
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise ValueError(
            f"not a valid template ({exc}); write {{ and }} as {{{{ and }}}}"
        ) from None
    unknown = sorted(f for f in fields if f.split(".")[0].split("[")[0] not in TEMPLATE_FIELDS)
    if unknown:
        known = ", ".join(sorted(TEMPLATE_FIELDS))
        raise ValueError(f"unknown placeholder {{{unknown[0]}}} (known: {known})")
    return text


TemplateText = Annotated[str, AfterValidator(_template)]


class Template(_Strict):
    title: TemplateText
    body: TemplateText


class Notifications(_Strict):
    """Where notifications go (Apprise URLs, named by environment variable) and what they say."""

    default_url_env: EnvName | None = Field(
        default="SOCIALOPS_NOTIFY_URL",
        description="Variable with the Apprise URL(s) used when a person names none; "
        "`{handle}` in a URL becomes the recipient's handle.",
    )
    due_soon_before: Duration = timedelta(minutes=30)
    max_attempts: int = Field(default=8, ge=1, le=50)
    templates: dict[Event, Template] = Field(default_factory=dict)


Problem = tuple[tuple[str | int, ...], str, object]
"""(key path, what is wrong, the value found there: a dict or list is not repeated)."""
