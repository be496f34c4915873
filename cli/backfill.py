"""``socialops backfill``: fetch a time window again, day by day, with a progress bar."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from cli.app import CommandFailed, app, console, guarded, prepare
from cli.pipeline import check_channels


def _parse(value: str, option: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise CommandFailed(
            f"{option} {value!r} is not an ISO 8601 date or time (e.g. 2026-11-01 or "
            "2026-11-01T06:00+00:00)"
        ) from None


@app.command()
@guarded
def backfill(
    since: Annotated[str, typer.Option(help="Start (ISO 8601; no offset: organisation zone).")],
    until: Annotated[str, typer.Option(help="End, exclusive (ISO 8601).")],
    channel: Annotated[
        list[str] | None, typer.Option("--channel", "-c", help="Only this channel (repeatable).")
    ] = None,
    reclassify: Annotated[
        bool, typer.Option(help="Classify the window again and re-route open items.")
    ] = False,
    force: Annotated[bool, typer.Option(help="Fetch days an earlier run finished, too.")] = False,
) -> None:
    """Fetch a time window again, one day per task; a rerun skips the finished days.

    The same as ``prefect deployment run backfill-mentions/backfill --param since=...
    --param until=...`` on a worker.
    """
    start, end = _parse(since, "--since"), _parse(until, "--until")
    settings, org = prepare()
    from socialops.backfill import window_days

    try:
        days = window_days(start, end, org.organisation.timezone)
    except ValueError as exc:
        raise CommandFailed(str(exc)) from None
    check_channels(org, channel)
    names = channel or [c.name for c in org.channels if c.enabled]
    results = _run_with_progress(
        settings.resolved_database_url(),
        names,
        days,
        {
            "since": start,
            "until": end,
            "channels": channel or None,
            "reclassify": reclassify,
            "force": force,
        },
    )
    console.print(_table(results))


def _run_with_progress(url: str, names: list[str], days: list[Any], params: dict[str, Any]) -> Any:
    """The flow in a thread; the bar follows the finished days recorded in the database."""
    import threading

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
    from sqlalchemy import func, select

    from flows.backfill_mentions import backfill_mentions
    from socialops.backfill import BackfillDayRow
    from socialops.db import session_scope

    wanted = [d.day for d in days]
    total = len(names) * len(days)
    outcome: dict[str, Any] = {}

    def finished() -> int:
        with session_scope(url) as session:
            return int(
                session.scalar(
                    select(func.count()).where(
                        BackfillDayRow.channel.in_(names), BackfillDayRow.day.in_(wanted)
                    )
                )
                or 0
            )

    def run() -> None:
        outcome["state"] = backfill_mentions(**params, return_state=True)

    thread = threading.Thread(target=run, name="backfill-flow")
    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task("channel-days", total=total, completed=finished())
        thread.start()
        while thread.is_alive():
            thread.join(timeout=0.5)
            progress.update(bar, completed=finished())
        progress.update(bar, completed=total)
    state = outcome["state"]
    results = state.result(raise_on_failure=False)
    if isinstance(results, BaseException) or not state.is_completed():
        raise CommandFailed(f"the backfill flow ended {state.type.value}: {state.message}")
    return results


def _table(results: list[Any]) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(title="Backfill", title_justify="left", box=box.SIMPLE_HEAD)
    # Channel names and days are never cut short (two "mastodon-…" cannot be told apart); in a
    # narrow terminal the figures' headers wrap instead.
    widest = max((len(r.channel) for r in results), default=7)
    table.add_column("channel", no_wrap=True, min_width=max(widest, 7))
    table.add_column("day", no_wrap=True, min_width=10)
    for column in ("fetched", "stored", "already stored", "quarantined"):
        table.add_column(column, justify="right", overflow="fold")
    table.add_column("status")
    for r in results:
        status = "done earlier" if r.skipped_as_done else ("done" if r.finished else "partial")
        table.add_row(
            r.channel,
            r.day.isoformat(),
            *(str(n) for n in (r.fetched, r.stored, r.duplicates, r.quarantined)),
            status,
        )
    return table
