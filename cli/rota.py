"""``socialops rota who|check|export`` and ``socialops assign``."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from cli.app import CommandFailed, app, console, guarded, load_org, prepare

rota_app = typer.Typer(
    no_args_is_help=True,
    help="Who is on duty, coverage and fairness checks, calendar export.",
)
app.add_typer(rota_app, name="rota")


def _org() -> Any:
    _settings, org = load_org()
    return org


def _engine(org: Any) -> Any:
    from socialops.rota.schedule import engine_for

    if org.rotas is None:
        raise CommandFailed(f"no rotas configured in {_config_path()} (add a `rotas:` section)")
    return engine_for(org)


def _config_path() -> Path:
    from socialops.settings import get_settings

    return get_settings().config


def parse_instant(text: str, default_tz: str) -> datetime:
    """ISO 8601; without an offset, the organisation's time zone."""
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CommandFailed(
            f"--at {text!r} is not an ISO 8601 instant (e.g. 2026-11-28T03:00:00Z)"
        ) from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo(default_tz))
    return at.astimezone(UTC)


def _start(text: str | None, default_tz: str) -> datetime:
    if text is None:
        today = datetime.now(ZoneInfo(default_tz)).date()
    else:
        try:
            today = date.fromisoformat(text)
        except ValueError:
            raise CommandFailed(f"--from {text!r} is not a date (YYYY-MM-DD)") from None
    return datetime.combine(today, time(), ZoneInfo(default_tz)).astimezone(UTC)


def _department(org: Any, department: str | None) -> list[str]:
    if department is None:
        return list(org.departments)
    if department not in org.departments:
        known = ", ".join(org.departments)
        raise CommandFailed(f"unknown department {department!r} (configured: {known})")
    return [department]


def _who(engine: Any, handle: str | None) -> dict[str, str] | None:
    if handle is None:
        return None
    person = engine.people[handle]
    return {"name": person.name, "handle": person.handle, "timezone": person.timezone}


def who_rows(
    org: Any,
    engine: Any,
    departments: list[str],
    at: datetime,
    queue: dict[str, int] | None = None,
) -> list[dict[str, Any]]:
    """The JSON shape of ``rota who``: one object per department (with ``queued``, the items
    waiting in its queue now, when ``queue`` is given)."""
    rows = []
    for department in departments:
        duty = engine.on_duty(department, at)
        row: dict[str, Any] = {
            "department": department,
            "at": at.isoformat().replace("+00:00", "Z"),
            "shift": duty.shift,
            "primary": _who(engine, duty.primary),
            "backup": _who(engine, duty.backup),
        }
        if queue is not None:
            row["queued"] = queue.get(department, 0)
        rows.append(row)
    return rows


def _queue_lengths() -> dict[str, int]:
    """Items waiting in each department's queue now (from the database)."""
    from socialops import routing
    from socialops.db import session_scope

    settings, _org = prepare()
    with session_scope(settings.resolved_database_url()) as session:
        return routing.queue_lengths(session=session)


@rota_app.command("who")
@guarded
def who(
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="ISO 8601 instant (default: now); without an offset, the organisation's zone.",
        ),
    ] = None,
    department: Annotated[str | None, typer.Option(help="Only this department.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON list, for scripts.")] = False,
) -> None:
    """Who is on duty at an instant, for each department (or one)."""
    org = _org()
    engine = _engine(org)
    tz = org.organisation.timezone
    instant = parse_instant(at, tz) if at else datetime.now(UTC)
    rows = who_rows(org, engine, _department(org, department), instant, _queue_lengths())
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
        return
    local = instant.astimezone(ZoneInfo(tz)).strftime("%a %d %b %Y %H:%M %Z")
    table = Table(
        title=f"On duty at {local}", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False
    )
    for column in ("department", "shift", "primary", "backup"):
        table.add_column(column, no_wrap=True)
    table.add_column("queued now", justify="right")
    for row in rows:
        names = [
            escape(person["name"]) if person else "[red]nobody[/]"
            for person in (row["primary"], row["backup"])
        ]
        table.add_row(escape(row["department"]), row["shift"], *names, str(row["queued"]))
    console.print(table)


@rota_app.command("check")
@guarded
def check(
    weeks: Annotated[int, typer.Option(min=1, max=104, help="How many weeks to check.")] = 4,
    start: Annotated[
        str | None, typer.Option("--from", help="First day (YYYY-MM-DD, default today).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object, for scripts.")] = False,
) -> None:
    """List every uncovered hour and everyone over their limits; fail if there are any."""
    from socialops.rota.checks import check as run_check

    org = _org()
    engine = _engine(org)
    tz = org.organisation.timezone
    result = run_check(engine, _start(start, tz), weeks)
    if as_json:
        sys.stdout.write(json.dumps(check_json(result), ensure_ascii=False) + "\n")
    else:
        _show_check(result, tz)
    if not result.ok:
        raise CommandFailed(
            f"{len(result.gaps)} uncovered stretch(es) "
            f"({sum(g.hours for g in result.gaps):g} hours), "
            f"{len(result.breaches)} limit breach(es)"
        )


def check_json(result: Any) -> dict[str, Any]:
    fairness = result.fairness
    return {
        "from": result.start.isoformat(),
        "to": result.end.isoformat(),
        "ok": result.ok,
        "uncovered": [
            {
                "department": g.department,
                "start": g.start.isoformat(),
                "end": g.end.isoformat(),
                "hours": g.hours,
                "shift": g.shift,
            }
            for g in result.gaps
        ],
        "over_limits": [
            {
                "person": b.person,
                "kind": b.kind,
                "from": b.start.isoformat(),
                "value": b.value,
                "limit": b.limit,
            }
            for b in result.breaches
        ],
        "fairness": None
        if fairness is None
        else {
            "window_days": fairness.window_days,
            "worst_ratio": fairness.worst_ratio,
            "worst_window": fairness.worst_window.isoformat() if fairness.worst_window else None,
            "hours_per_week": fairness.hours_per_week,
            "max_consecutive_nights": fairness.max_consecutive_nights,
            "duty_manager_ratio": fairness.duty_manager_ratio,
            "windows": fairness.windows,
            "org_wide": {
                "worst_ratio": fairness.org_ratio,
                "worst_window": fairness.org_window.isoformat() if fairness.org_window else None,
                "hours_per_week": fairness.org_hours,
            },
            "per_rota": fairness.per_rota,
        },
    }


def _show_check(result: Any, tz: str) -> None:
    zone = ZoneInfo(tz)

    def when(at: datetime) -> str:
        return at.astimezone(zone).strftime("%a %d %b %H:%M")

    first = result.start.astimezone(zone).date()
    last = (result.end - timedelta(seconds=1)).astimezone(zone).date()
    console.print(f"[bold]Rota check[/] {first} to {last} ({tz})")
    if result.gaps:
        console.print(f"[red]Uncovered[/] ({sum(g.hours for g in result.gaps):g} hours):")
        for gap in result.gaps:
            console.print(
                f"  {gap.department}: {when(gap.start)} to {when(gap.end)} "
                f"({gap.hours:g} h, {gap.shift}): nobody on duty",
                highlight=False,
                soft_wrap=True,
            )
    else:
        console.print("[green]Every department is covered every hour.[/]")
    if result.breaches:
        console.print("[red]Over their limits:[/]")
        for breach in result.breaches:
            console.print(f"  {breach.describe()}", highlight=False, soft_wrap=True)
    else:
        console.print("[green]Nobody is over their limits.[/]")
    fairness = result.fairness
    if fairness is not None and fairness.worst_ratio is not None:
        _show_fairness(fairness)


def _ratio_text(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio:.2f}"


def _show_fairness(fairness: Any) -> None:
    """Max/min of out-of-hours hours as primary, each over the worst four-week window."""
    hours = fairness.hours_per_week.values()
    worst = f"worst {fairness.window_days}-day window max/min"
    console.print(
        f"Fairness: out-of-hours hours per person as primary, {min(hours):.1f} to "
        f"{max(hours):.1f} a week; {fairness.windows} four-week window(s) compared:",
        highlight=False,
        soft_wrap=True,
    )
    if fairness.org_ratio is not None:
        org = fairness.org_hours.values()
        console.print(
            f"  organisation-wide (everyone on a department rotation, hours as carried): "
            f"{worst} {fairness.org_ratio:.2f} "
            f"(from {fairness.org_window}: {min(org):.1f} to {max(org):.1f} a week)",
            highlight=False,
            soft_wrap=True,
        )
    if fairness.per_rota:
        rotas = ", ".join(f"{r} {_ratio_text(v)}" for r, v in fairness.per_rota.items())
        console.print(f"  per rota, {worst}: {rotas}", highlight=False, soft_wrap=True)
    console.print(
        f"  per available day (leave pro-rated): {worst} {fairness.worst_ratio:.2f} "
        f"(from {fairness.worst_window})",
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"Longest run on call {fairness.max_consecutive_nights} nights"
        + (
            f"; duty managers max/min {fairness.duty_manager_ratio:.2f}"
            if fairness.duty_manager_ratio
            else ""
        ),
        highlight=False,
        soft_wrap=True,
    )


@rota_app.command("export")
@guarded
def export(
    ics: Annotated[bool, typer.Option("--ics", help="iCalendar (the only format).")] = False,
    person: Annotated[str | None, typer.Option(help="One person's shifts (a handle).")] = None,
    department: Annotated[str | None, typer.Option(help="Who is on call for a department.")] = None,
    weeks: Annotated[int, typer.Option(min=1, max=104)] = 8,
    start: Annotated[
        str | None, typer.Option("--from", help="First day (YYYY-MM-DD, default today).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Shifts as an iCalendar file, so people see their duty in their calendar app."""
    from socialops.rota import ics as ics_export

    if not ics:
        raise CommandFailed("give the format: --ics")
    if (person is None) == (department is None):
        raise CommandFailed("give exactly one of --person HANDLE or --department ID")
    org = _org()
    engine = _engine(org)
    first = _start(start, org.organisation.timezone)
    now = datetime.now(UTC).replace(microsecond=0)
    if person is not None:
        if person not in engine.people:
            raise CommandFailed(f"no person with handle {person!r}")
        text = ics_export.person_calendar(engine, person, start=first, weeks=weeks, now=now)
    else:
        dept = _department(org, department)[0]
        text = ics_export.department_calendar(engine, dept, start=first, weeks=weeks, now=now)
    if output is not None:
        output.write_text(text, encoding="utf-8", newline="")
        console.print(
            f"wrote {output} ({text.count('BEGIN:VEVENT')} events)", soft_wrap=True, highlight=False
        )
        return
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8"))  # bytes: keep iCalendar's CRLF line ends
    sys.stdout.buffer.flush()


@app.command()
@guarded
def assign(
    mention_id: Annotated[int, typer.Argument(help="The mention's id (see `socialops inbox`).")],
    to: Annotated[str, typer.Option("--to", help="The person's handle.")],
    by: Annotated[
        str | None, typer.Option(help="Who is assigning (audited; default: your login).")
    ] = None,
) -> None:
    """Give a mention to a person (audited; they are notified)."""
    from socialops import routing
    from socialops.classification import corrections
    from socialops.db import session_scope
    from socialops.rota.schedule import engine_for

    settings, org = prepare()
    actor = f"cli:{by or getpass.getuser()}"
    try:
        with session_scope(settings.resolved_database_url()) as session:
            view = routing.assign_manually(
                session=session,
                org=org,
                engine=engine_for(org),
                mention_id=mention_id,
                handle=to,
                actor=actor,
                now=datetime.now(UTC),
            )
            # Given to someone of another department: the classifier was wrong (issue 12).
            corrected = corrections.correct_from_assignment(
                session=session,
                mention_id=mention_id,
                person_departments=org.person(to).departments,
                by=actor,
                now=datetime.now(UTC),
            )
    except routing.RoutingError as exc:
        raise CommandFailed(str(exc)) from None
    person = org.person(view.assignee)
    due = view.due_at.astimezone(ZoneInfo(person.timezone)).strftime("%a %d %b %H:%M %Z")
    console.print(
        f"mention {view.mention_id} ({view.department}) is now {person.name}'s, due {due}",
        highlight=False,
    )
    if corrected is not None:
        console.print(
            f"recorded as a classification correction: {corrected.from_department} -> "
            f"{corrected.department}",
            highlight=False,
        )
