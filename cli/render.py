"""Rich tables for the terminal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich import box
from rich.markup import escape
from rich.table import Table

from socialops.ingest import ChannelResult
from socialops.reports import resume_note
from socialops.text_safety import neutralise

INGEST_COLUMNS = (
    ("fetched", "fetched"),
    ("skipped", "skipped"),
    ("quarantined", "quarantined"),
    ("stored", "stored"),
    ("already_stored", "already stored"),
    ("outside_window", "outside window"),
)


def ingest_table(results: Sequence[ChannelResult], failures: dict[str, str]) -> Table:
    """One row per channel, where fetched = skipped + quarantined + stored + already stored +
    outside window; a failed channel shows what it committed before failing."""
    table = Table(title="Mentions ingested", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("channel", no_wrap=True)
    for _key, column in INGEST_COLUMNS:
        table.add_column(column, justify="right", min_width=len(column.split()[0]))
    table.add_column("status", no_wrap=True)
    totals = [0] * len(INGEST_COLUMNS)
    shown = set()
    for r in results:
        shown.add(r.channel)
        figures = r.accounted()
        row = [figures[key] for key, _column in INGEST_COLUMNS]
        totals = [a + b for a, b in zip(totals, row, strict=True)]
        if r.error is not None or r.channel in failures:
            status = "[red]failed[/]"
            if r.resume_at is not None:
                status += f" [yellow]resumes {r.resume_at.strftime('%H:%M:%S')} UTC[/]"
        elif r.backfill_complete:
            status = "[green]ok[/]"
        else:
            status = "[yellow]backfill continues[/]"
        if r.late:
            status += f" [dim]({r.late} found late by the re-read)[/]"
        table.add_row(r.channel, *map(str, row), status)
    for name in sorted(set(failures) - shown):
        table.add_row(name, *([""] * len(INGEST_COLUMNS)), "[red]failed[/]")
    if len(results) > 1:
        table.add_section()
        table.add_row("[bold]total[/]", *(f"[bold]{n}[/]" for n in totals), "")
    return table


def failure_lines(failures: dict[str, str], results: Sequence[ChannelResult] = ()) -> list[str]:
    """One line per failed channel: the cause, what it stored first, when it resumes."""
    by_name = {r.channel: r for r in results}
    lines = []
    for name, reason in sorted(failures.items()):
        line = " ".join(neutralise(reason).split())
        result = by_name.get(name)
        if result is not None and result.stored:
            line += f"; {result.stored} stored before it"
        if result is not None and result.resume_at is not None:
            line += f"; {resume_note(result)}"
        lines.append(f"[red]{name} failed:[/] {escape(line)}")
    return lines


def classify_table(batches: Sequence[Any]) -> Table:
    departments: dict[str, int] = {}
    for batch in batches:
        for department, n in batch.departments.items():
            departments[department] = departments.get(department, 0) + n
    urgent = sum(len(b.urgent) for b in batches)
    table = Table(title="Mentions classified", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("department", no_wrap=True)
    table.add_column("mentions", justify="right")
    for department, n in sorted(departments.items(), key=lambda x: -x[1]):
        table.add_row(department, str(n))
    table.add_section()
    table.add_row("[bold]total[/]", f"[bold]{sum(departments.values())}[/]")
    table.add_row("[red]urgent[/]", f"[red]{urgent}[/]")
    return table


def route_table(cycle: Any) -> Table:
    """Who got what (per department and per person), what waits in the departments' queues
    for the morning (or for someone to have room), and what was sent."""
    routed = cycle.route
    table = Table(title="Mentions routed", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("department / owner", no_wrap=True)
    table.add_column("owned", justify="right")
    table.add_column("queued", justify="right")
    if routed is None or not (routed.routed or routed.changes or routed.queue):
        table.add_row("[dim]nothing new to route[/]", "", "")
        return table
    departments = set(routed.by_department) | set(routed.queue)
    for department in sorted(departments, key=lambda d: -routed.queue.get(d, 0)):
        table.add_row(
            department,
            str(routed.by_department.get(department, 0)),
            str(routed.queue.get(department, 0)),
        )
    table.add_section()
    for person, n in sorted(routed.by_assignee.items(), key=lambda x: -x[1])[:8]:
        table.add_row(f"[dim]{person}[/]", f"[dim]{n}[/]", "")
    table.add_section()
    table.add_row(
        "[bold]owned[/] (given to a person now)", f"[bold]{sum(routed.by_assignee.values())}[/]", ""
    )
    table.add_row(
        "[bold]queued for the morning[/] (or until someone has room)",
        "",
        f"[bold]{sum(routed.queue.values())}[/]",
    )
    table.add_row("[red]urgent[/] (given to the person on call)", f"[red]{routed.urgent}[/]", "")
    moved = routed.rerouted + routed.withdrawn + routed.reopened + routed.raised
    if moved:
        table.add_row("followed a reclassification", str(moved), "")
    escalation = cycle.escalation
    if escalation is not None and (escalation.escalated or escalation.handed_over):
        table.add_row(
            "escalated, handed over",
            f"{escalation.escalated}, {escalation.handed_over}",
            "",
        )
    if routed.linked:  # the same person on the same issue elsewhere: no new assignment
        table.add_row("joined a conversation (owner told)", str(routed.linked), "")
    delivery = cycle.delivery
    table.add_row(
        "notifications",
        f"{delivery.sent} sent ({delivery.urgent_sent} urgent)"
        + (f", {delivery.failed} failed (retried later)" if delivery.failed else "")
        + (f", {delivery.no_target} no URL set" if delivery.no_target else "")
        + (f", {routed.deferred} held for business hours" if routed.deferred else ""),
        "",
    )
    return table


def morning_table(
    at: Any, people: dict[str, tuple[int, int]], queue: dict[str, int], cap: int
) -> Table:
    """The simulated opening: per person, the items taken from the queues and their other
    open items (urgent ones, escalations), and what still waits."""
    table = Table(
        title=f"The morning (simulated {at:%a %d %b %H:%M} UTC): the queues given out, at most "
        f"{cap} open items each",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("person / department", no_wrap=True)
    table.add_column("from the queue", justify="right")
    table.add_column("urgent, escalated", justify="right")
    table.add_column("still queued", justify="right")
    for person, (taken, other) in sorted(people.items(), key=lambda x: (-x[1][0], x[0])):
        table.add_row(person, str(taken), str(other) if other else "", "")
    table.add_section()
    for department, n in sorted(queue.items(), key=lambda x: -x[1]):
        table.add_row(department, "", "", str(n))
    takers = [taken for taken, _other in people.values() if taken]
    if takers:
        table.add_section()
        table.add_row(
            f"[bold]{len(takers)} people took {sum(takers)}[/] (max/min {max(takers)}/"
            f"{min(takers)}); the rest is pulled as they close items",
            "",
            "",
            f"[bold]{sum(queue.values())}[/]",
        )
    return table
