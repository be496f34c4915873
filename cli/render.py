"""Rich tables for the terminal."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from socialops.ingest import ChannelResult


def ingest_table(results: Sequence[ChannelResult], failures: dict[str, str]) -> Table:
    table = Table(title="Mentions ingested", title_justify="left")
    table.add_column("channel", no_wrap=True)
    for column in ("fetched", "skipped", "quarantined", "stored", "already had"):
        table.add_column(column, justify="right")
    table.add_column("status", overflow="fold")
    totals = [0, 0, 0, 0, 0]
    for r in results:
        row = [r.fetched, sum(r.skipped.values()), r.quarantined, r.stored, r.duplicates]
        totals = [a + b for a, b in zip(totals, row, strict=True)]
        status = "[green]ok[/]" if r.backfill_complete else "[yellow]backfill continues[/]"
        table.add_row(r.channel, *map(str, row), status)
    for name, reason in sorted(failures.items()):
        table.add_row(name, "", "", "", "", "", f"[red]failed[/]: {reason}")
    if len(results) > 1:
        table.add_section()
        table.add_row("[bold]total[/]", *(f"[bold]{n}[/]" for n in totals), "")
    return table
