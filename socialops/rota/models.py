"""The organisation file's people, rotas, holidays, SLAs, escalation and notification settings.

Validated by :class:`socialops.config.OrgConfig` (this module must not import it). Values keep
the shape they have in YAML (``"09:00-17:30"``, ``"4h"``) so a model dumps and validates back
unchanged; the engine parses them once. Cross-references (a rota naming an unknown person)
are checked by :func:`reference_problems` and raised with their key path by
:func:`raise_problems`, so an error points at the line to fix.
"""

from __future__ import annotations

import itertools
import re
import string
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Annotated, Literal, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

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


# --------------------------------------------------------------------------------------------
# Cross-references
# --------------------------------------------------------------------------------------------


class _DepartmentLike(Protocol):
    @property
    def holidays(self) -> str | None: ...
    @property
    def escalation(self) -> list[EscalationStep]: ...


Problem = tuple[tuple[str | int, ...], str, object]
"""(key path, what is wrong, the value found there: a dict or list is not repeated)."""


def reference_problems(
    *,
    departments: Mapping[str, _DepartmentLike],
    people: Sequence[Person],
    holidays: Mapping[str, Sequence[Holiday]],
    rotas: Rotas | None,
) -> list[Problem]:
    """Everything that names something that does not exist, each with its key path."""
    problems: list[Problem] = []
    by_handle = _people_problems(departments, people, problems)
    for dept_id, dept in departments.items():
        _department_problems(dept_id, dept, people, holidays, rotas, problems)
    if rotas is not None:
        _RotaCheck(departments, by_handle, problems).check(rotas)
    return problems


def _people_problems(
    departments: Mapping[str, _DepartmentLike], people: Sequence[Person], problems: list[Problem]
) -> dict[str, Person]:
    """Handles used twice and unknown departments; returns the people by handle."""
    by_handle: dict[str, Person] = {}
    for i, person in enumerate(people):
        if person.handle in by_handle:
            problems.append((("people", i, "handle"), "handle is used twice", person.handle))
        by_handle[person.handle] = person
        for j, name in enumerate(person.departments):
            if name not in departments:
                known = ", ".join(departments)
                problems.append(
                    (("people", i, "departments", j), f"unknown department ({known})", name)
                )
    return by_handle


def _department_problems(
    dept_id: str,
    dept: _DepartmentLike,
    people: Sequence[Person],
    holidays: Mapping[str, Sequence[Holiday]],
    rotas: Rotas | None,
    problems: list[Problem],
) -> None:
    """An unknown holiday calendar, and escalation steps to a role nobody holds."""
    if dept.holidays is not None and dept.holidays not in holidays:
        known = ", ".join(holidays) or "none configured"
        problems.append(
            (
                ("departments", dept_id, "holidays"),
                f"unknown holiday calendar (calendars: {known})",
                dept.holidays,
            )
        )
    if not people:
        return
    for k, step in enumerate(dept.escalation):
        loc = ("departments", dept_id, "escalation", k, "to")
        if step.to == "lead" and not any(
            dept_id in p.departments and "lead" in p.roles for p in people
        ):
            problems.append((loc, f"nobody in department {dept_id} has the role lead", step.to))
        if step.to == "duty_manager" and (rotas is None or rotas.duty_manager is None):
            problems.append((loc, "no duty managers: set rotas.duty_manager", step.to))


class _RotaCheck:
    """The rotas' references: people, departments, shared rotations, duty managers."""

    def __init__(
        self,
        departments: Mapping[str, _DepartmentLike],
        by_handle: Mapping[str, Person],
        problems: list[Problem],
    ) -> None:
        self.departments = departments
        self.by_handle = by_handle
        self.problems = problems

    def person_ref(self, loc: tuple[str | int, ...], handle: str, dept_id: str | None) -> None:
        person = self.by_handle.get(handle)
        if person is None:
            self.problems.append((loc, "unknown person: not in people", handle))
        elif dept_id is not None and dept_id not in person.departments:
            self.problems.append(
                (loc, f"not in department {dept_id} (add it to their departments)", handle)
            )

    def check(self, rotas: Rotas) -> None:
        covers: dict[str, list[str]] = {}  # a rotation's owner -> the departments it covers
        for dept_id, rota in rotas.departments.items():
            owner = rota.on_call.shared_with or dept_id
            covers.setdefault(owner, []).append(dept_id)
        for dept_id in rotas.departments:
            self.department_rota(rotas, dept_id, covers)
        missing = [d for d in self.departments if d not in rotas.departments]
        if missing:
            self.problems.append(
                (
                    ("rotas", "departments"),
                    f"no rota for {', '.join(missing)}: every department must be covered",
                    {},
                )
            )
        if rotas.duty_manager is not None:
            for i, handle in enumerate(rotas.duty_manager.people):
                loc = ("rotas", "duty_manager", "people", i)
                self.person_ref(loc, handle, None)
                if handle in self.by_handle and "lead" not in self.by_handle[handle].roles:
                    self.problems.append((loc, "a duty manager needs the role lead", handle))
        if rotas.operations is not None:
            for i, handle in enumerate(rotas.operations.people):
                self.person_ref(("rotas", "operations", "people", i), handle, None)

    def department_rota(self, rotas: Rotas, dept_id: str, covers: dict[str, list[str]]) -> None:
        rota = rotas.departments[dept_id]
        base: tuple[str | int, ...] = ("rotas", "departments", dept_id)
        if dept_id not in self.departments:
            self.problems.append((base, f"unknown department {dept_id}", {}))
            return
        for i, handle in enumerate(rota.business_hours):
            self.person_ref((*base, "business_hours", i), handle, dept_id)
        shared = rota.on_call.shared_with
        if shared is not None:
            other = rotas.departments.get(shared)
            if other is None or other.on_call.shared_with is not None:
                self.problems.append(
                    (
                        (*base, "on_call", "shared_with"),
                        "must name a department whose rota lists its own on-call people",
                        shared,
                    )
                )
            return
        for i, handle in enumerate(rota.on_call.people):
            loc = (*base, "on_call", "people", i)
            member = self.by_handle.get(handle)
            if member is None:
                self.person_ref(loc, handle, None)
            elif not set(member.departments) & set(covers[dept_id]):
                covered = ", ".join(covers[dept_id])
                self.problems.append(
                    (loc, f"in none of the departments this rotation covers ({covered})", handle)
                )


def raise_problems(title: str, problems: Sequence[Problem]) -> None:
    """Raise the problems as one pydantic ValidationError, each at its own key path."""
    if not problems:
        return
    errors = [
        InitErrorDetails(type=PydanticCustomError("reference", message), loc=loc, input=value)
        for loc, message, value in problems
    ]
    raise ValidationError.from_exception_data(title, errors)
