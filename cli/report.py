"""``socialops report`` (the weekly report) and ``socialops seed`` (synthetic history)."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from cli.app import CommandFailed, app, console, err, guarded, load_org, prepare

FORMATS = ("html", "md", "json", "csv")


def _week(text: str | None, zone: str) -> object:
    from socialops.report.week import IsoWeek, WeekError

    try:
        if text is None:
            return IsoWeek.last_complete(datetime.now(UTC), zone)
        return IsoWeek.parse(text, zone)
    except WeekError as exc:
        raise CommandFailed(str(exc)) from None


@app.command()
@guarded
def report(
    week: Annotated[
        str | None,
        typer.Option(help="ISO week, e.g. 2026-W47 (default: the last complete week)."),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="html (one self-contained file), md, json or csv.")
    ] = "html",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="File to write ('-': stdout). Default: $SOCIALOPS_HOME/reports/."
        ),
    ] = None,
) -> None:
    """The weekly report: volumes, response times, SLAs, on-call load, sentiment, quality."""
    if fmt not in FORMATS:
        raise CommandFailed(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
    from socialops.report.files import default_path, make_report
    from socialops.report.render import render
    from socialops.report.week import IsoWeek

    settings, org = prepare()
    iso = _week(week, org.organisation.timezone)
    assert isinstance(iso, IsoWeek)
    started = time.perf_counter()
    result = make_report(database_url=settings.resolved_database_url(), org=org, week=iso)
    text = render(result, fmt)  # type: ignore[arg-type]
    if output is not None and str(output) == "-":
        sys.stdout.write(text)
        return
    path = output or default_path(settings.home / "reports", result.week, fmt)  # type: ignore[arg-type]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    err.print(
        f"{result.week}: {result.total} mentions; wrote {path} "
        f"({time.perf_counter() - started:.2f} s)",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
@guarded
def seed(
    mentions: Annotated[int, typer.Option(min=1, help="How many mentions to invent.")] = 10_000,
    week: Annotated[
        str | None, typer.Option(help="ISO week to fill (default: the last complete week).")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="Database to write to (default: the configured one).")
    ] = None,
    random_seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 7,
) -> None:
    """Write realistic synthetic history (mentions, classifications, assignments, escalations,
    notifications, reply drafts and planned posts with approvals, report facts) straight into
    the database, for demos and load tests."""
    from socialops.db import get_engine, migrate
    from socialops.report.seed import seed_week
    from socialops.report.week import IsoWeek
    from socialops.rota.schedule import engine_for

    settings, org = load_org()
    url = database_url or settings.resolved_database_url()
    migrate(url)
    iso = _week(week, org.organisation.timezone)
    assert isinstance(iso, IsoWeek)
    result = seed_week(
        engine=get_engine(url),
        org=org,
        week=iso,
        mentions=mentions,
        rota=engine_for(org) if org.rotas else None,
        seed=random_seed,
    )
    console.print(
        f"seeded {iso.label}: {result.mentions:,} mentions, {result.classifications:,} "
        f"classifications, {result.assignments:,} assignments, {result.escalation_steps:,} "
        f"escalation steps, {result.notifications:,} notifications, {result.drafts:,} drafts, "
        f"{result.approvals:,} approvals, {result.audit:,} audit steps, "
        f"{result.facts:,} report facts: {result.rows:,} rows "
        f"in {result.seconds:.1f} s ({result.rows_per_second:,.0f} rows/s)",
        highlight=False,
    )
