"""``socialops inbox`` and ``quarantine``: for people (a table) and scripts (JSON lines).

The database is imported when a command runs, not when the CLI starts.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from cli.app import CommandFailed, app, console, guarded, prepare


def _shown(text: str | None) -> str:
    """Text a stranger wrote, ready for a Rich table: no control characters, no markup."""
    from socialops.text_safety import neutralise

    return escape(neutralise(text or ""))


TABLE_LIMIT = 10_000
"""The most rows a table shows; ``--json`` streams any number."""


@app.command()
@guarded
def inbox(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    department: Annotated[str | None, typer.Option(help="Only this department.")] = None,
    limit: Annotated[
        int,
        typer.Option(
            min=1,
            help=f"How many, newest first. With --json any number (streamed); "
            f"a table shows at most {TABLE_LIMIT:,}.",
        ),
    ] = 20,
    channel: Annotated[str | None, typer.Option(help="Only this channel.")] = None,
    queue: Annotated[
        bool,
        typer.Option(
            "--queue",
            help="Only what waits in the departments' queues (no owner yet), in the order "
            "it will be given out: urgent, then oldest first.",
        ),
    ] = False,
) -> None:
    """The newest mentions first, with who owns them (or ``--queue``: what waits)."""
    settings, org = prepare()
    if department is not None and department not in (*org.departments, "none"):
        known = ", ".join(org.departments)
        raise CommandFailed(f"unknown department {department!r} (configured: {known})")
    if not as_json and limit > TABLE_LIMIT:
        raise CommandFailed(
            f"a table shows at most {TABLE_LIMIT:,} mentions; use --json for more "
            "(one JSON object per line, streamed)"
        )
    url = settings.resolved_database_url()
    rows: Iterable[dict[str, Any]]
    if queue:
        rows = queue_rows(url, limit=limit, department=department)
    else:
        rows = iter_inbox_rows(url, limit=limit, department=department, channel=channel)
    if as_json:
        write_json_lines(rows)
        return
    console.print(inbox_table(list(rows), queue=queue))


def write_json_lines(rows: Iterable[dict[str, Any]]) -> None:
    """One JSON object per line, flushed as it goes; control characters escaped."""
    from socialops.text_safety import json_line

    out = sys.stdout
    for row in rows:
        out.write(json_line(row) + "\n")
    out.flush()


@app.command()
@guarded
def quarantine(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 20,
    summary: Annotated[
        bool,
        typer.Option(
            "--summary",
            help="Only the totals: all, per channel, per stage (with --json: one JSON object).",
        ),
    ] = False,
) -> None:
    """Items set aside by parsing or the quality suite, newest first, with the reason."""
    settings, _org = prepare()
    url = settings.resolved_database_url()
    totals = quarantine_totals(url)
    if summary:
        if as_json:
            write_json_lines([totals])
        else:
            console.print(quarantine_totals_table(totals))
        return
    rows = quarantine_rows(url, limit=limit)
    if as_json:
        write_json_lines(rows)
        return
    console.print(quarantine_table(rows, total=totals["total"]))


def inbox_rows(
    database_url: str, *, limit: int, department: str | None = None, channel: str | None = None
) -> list[dict[str, Any]]:
    """Newest first, with the current classification (null until a mention is classified)."""
    return list(iter_inbox_rows(database_url, limit=limit, department=department, channel=channel))


_CHUNK = 1_000


def iter_inbox_rows(
    database_url: str, *, limit: int, department: str | None = None, channel: str | None = None
) -> Iterator[dict[str, Any]]:
    """``inbox_rows`` as a stream: read from the database a thousand rows at a time, so any
    ``limit`` runs in constant memory (the session holds its rows by weak reference)."""
    from sqlalchemy import select

    from socialops import storage
    from socialops.db import session_scope

    with session_scope(database_url) as session:
        stmt = (
            select(storage.MentionRow, storage.ClassificationRow)
            .outerjoin(
                storage.ClassificationRow,
                (storage.ClassificationRow.mention_id == storage.MentionRow.id)
                & storage.ClassificationRow.is_current.is_(True),
            )
            .order_by(storage.MentionRow.created_at.desc(), storage.MentionRow.id.desc())
            .limit(limit)
            .execution_options(yield_per=_CHUNK)
        )
        if channel:
            stmt = stmt.where(storage.MentionRow.channel == channel)
        if department:
            stmt = stmt.where(storage.ClassificationRow.department == department)
        for pairs in session.execute(stmt).partitions():
            ids = [m.id for m, _ in pairs]
            owners, links = _owners_and_links(session, ids)
            for row, decision in pairs:
                yield _inbox_row(row, decision, owners.get(row.id), links.get(row.id))


def _owners_and_links(session: Any, ids: list[int]) -> tuple[dict[int, Any], dict[int, Any]]:
    """Each mention's owner (a mention linked into a conversation: the conversation's owner)
    and its conversation membership."""
    from socialops import conversations, routing

    links = conversations.links_for(session=session, mention_ids=ids)
    owners = routing.assignments_for(session=session, mention_ids=ids)
    via = {m: link.opener_mention_id for m, link in links.items() if m not in owners}
    if via:
        covering = routing.assignments_for(session=session, mention_ids=list(set(via.values())))
        owners |= {m: covering[o] for m, o in via.items() if o in covering}
    return owners, links


def queue_rows(
    database_url: str, *, limit: int, department: str | None = None
) -> list[dict[str, Any]]:
    """What waits in the departments' queues (the owning department, not the classifier's),
    urgent then oldest first: the order in which it is given out."""
    from sqlalchemy import select

    from socialops import routing, storage
    from socialops.db import session_scope

    with session_scope(database_url) as session:
        waiting = routing.queued_items(session=session, department=department, limit=limit)
        ids = [mention.id for _a, mention in waiting]
        c = storage.ClassificationRow
        decisions = {
            d.mention_id: d
            for d in session.execute(
                select(c).where(c.mention_id.in_(ids), c.is_current.is_(True))
            ).scalars()
        }
        owners, links = _owners_and_links(session, ids)
        return [
            _inbox_row(
                mention, decisions.get(mention.id), owners.get(mention.id), links.get(mention.id)
            )
            for _a, mention in waiting
        ]


def _iso(at: Any) -> str | None:
    return at.isoformat() if at is not None else None


def _inbox_row(row: Any, decision: Any, owner: Any, link: Any = None) -> dict[str, Any]:
    """One mention as the inbox's JSON line (owner fields null until routed; a mention
    linked into a conversation shows the conversation's owner, and ``conversation`` says
    which one and why it was linked)."""
    return {
        "id": row.id,
        "platform": row.platform,
        "external_id": row.external_id,
        "channel": row.channel,
        "url": row.url,
        "author": row.author_handle,
        "author_display_name": row.author_display_name,
        "author_followers": row.author_followers,
        "text": row.text,
        "lang": row.lang,
        "created_at": row.created_at.isoformat(),
        "department": decision.department if decision else None,
        "urgent": decision.urgent if decision else None,
        "sentiment": decision.sentiment if decision else None,
        "confidence": decision.confidence if decision else None,
        "why": decision.explanation.get("summary") if decision else None,
        "model_version": decision.model_version if decision else None,
        "assignee": owner.assignee if owner else None,
        "due_at": owner.due_at.isoformat() if owner else None,
        "status": owner.status if owner else None,
        "escalation_level": owner.escalation_level if owner else None,
        "queue": owner.department if owner and owner.status == "queued" else None,
        "queued_at": _iso(owner.queued_at) if owner else None,
        "first_assigned_at": _iso(owner.first_assigned_at) if owner else None,
        "queued_seconds": owner.seconds_in_queue(datetime.now(UTC)) if owner else None,
        "conversation": link.as_json() if link else None,
    }


def _when(iso: str) -> str:
    return iso[5:16].replace("T", " ")  # MM-DD HH:MM (UTC): the year is rarely news


def _author(row: dict[str, Any]) -> str:
    return f"{_shown(row['author'])}\n[dim]{_shown(row['channel'])}[/]"


def inbox_table(rows: list[dict[str, Any]], *, queue: bool = False) -> Table:
    title = (
        f"Queue: {len(rows)} waiting, urgent then oldest first (UTC)"
        if queue
        else f"Inbox: {len(rows)} newest mentions (UTC)"
    )
    table = Table(title=title, title_justify="left")
    table.add_column("when", no_wrap=True)
    table.add_column("from", max_width=22, overflow="ellipsis")
    table.add_column("mention, and why it went where it did", ratio=1)
    table.add_column("owner", max_width=18)
    for row in rows:
        text = " ".join(row["text"].split())
        text = _shown(text if len(text) <= 280 else text[:279] + "…")
        if row["why"]:
            text += f"\n[dim]{_shown(row['why'])}[/]"
        owner = row["department"] or "[dim]unclassified[/]"
        if row["status"] == "queued":
            waited = (row["queued_seconds"] or 0) // 60
            owner += (
                f"\n[yellow]queued[/] {waited // 60}h{waited % 60:02d}\n"
                f"[dim]due {_when(row['due_at'])}[/]"
            )
        elif row["assignee"] and row["status"] == "withdrawn":
            # Reclassified as spam or chit-chat after it was routed: nobody needs to act.
            owner += f"\n[dim]{_shown(row['assignee'])}: withdrawn[/]"
        elif row["assignee"]:
            owner += f"\n{_shown(row['assignee'])}\n[dim]due {_when(row['due_at'])}[/]"
            if row["escalation_level"]:
                owner += f"\n[yellow]escalated x{row['escalation_level']}[/]"
        owner += _conversation_note(row["conversation"])
        if row["urgent"]:
            owner = f"[bold red]URGENT[/]\n{owner}"
        table.add_row(
            _when(row["created_at"]),
            _author(row),
            text,
            owner,
        )
    return table


def _conversation_note(link: dict[str, Any] | None) -> str:
    """Under the owner: the conversation the mention is part of, and why it was linked."""
    if not link:
        return ""
    if link["status"] == "unlinked":
        return f"\n[dim]unlinked from conversation {link['id']}[/]"
    if link["role"] == "opener":
        return f"\n[cyan]conversation {link['id']}[/] [dim](opened it)[/]"
    return (
        f"\n[cyan]conversation {link['id']}[/] [dim]with mention {link['opener_mention_id']}: "
        f"{_shown(link['why'])}, similarity {link['similarity']}[/]"
    )


def quarantine_rows(database_url: str, *, limit: int) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from socialops import storage
    from socialops.db import session_scope

    with session_scope(database_url) as session:
        stmt = select(storage.QuarantineRow).order_by(storage.QuarantineRow.id.desc()).limit(limit)
        return [
            {
                "id": row.id,
                "channel": row.channel,
                "platform": row.platform,
                "stage": row.stage,
                "reason": row.reason,
                "quarantined_at": row.quarantined_at.isoformat(),
                "raw": row.raw,
            }
            for row in session.execute(stmt).scalars()
        ]


def quarantine_totals(database_url: str) -> dict[str, Any]:
    """``{"total": N, "by_channel": {...}, "by_stage": {...}}``: everything in quarantine."""
    from sqlalchemy import func, select

    from socialops import storage
    from socialops.db import session_scope

    q = storage.QuarantineRow
    with session_scope(database_url) as session:
        by_channel = dict(
            session.execute(select(q.channel, func.count()).group_by(q.channel)).all()
        )
        by_stage = dict(session.execute(select(q.stage, func.count()).group_by(q.stage)).all())
    return {
        "total": sum(by_channel.values()),
        "by_channel": dict(sorted(by_channel.items())),
        "by_stage": dict(sorted(by_stage.items())),
    }


def quarantine_totals_table(totals: dict[str, Any]) -> Table:
    table = Table(title="Quarantine: totals", title_justify="left", show_footer=True)
    table.add_column("channel / stage", footer="total")
    table.add_column("items", justify="right", footer=str(totals["total"]))
    for channel, n in totals["by_channel"].items():
        table.add_row(_shown(channel), str(n))
    table.add_section()
    for stage, n in totals["by_stage"].items():
        table.add_row(f"[dim]stage:[/] {_shown(stage)}", str(n))
    return table


def quarantine_table(rows: list[dict[str, Any]], *, total: int | None = None) -> Table:
    shown = f"the newest {len(rows)} of {total}" if total is not None else f"{len(rows)} newest"
    table = Table(
        title=f"Quarantine: {shown} items (UTC)",
        title_justify="left",
        show_footer=total is not None,
    )
    table.add_column("when", no_wrap=True, footer="[bold]total[/]")
    table.add_column("item", max_width=22, overflow="ellipsis", footer=f"[bold]{total}[/]")
    table.add_column(
        "reason",
        ratio=1,
        footer=f"in quarantine, {len(rows)} shown (--limit N for more, --summary for totals)",
    )
    for row in rows:
        raw: dict[str, Any] = row["raw"] if isinstance(row["raw"], dict) else {}
        status: dict[str, Any] = raw["status"] if isinstance(raw.get("status"), dict) else {}
        item = str(status.get("id") or raw.get("id") or "?")
        table.add_row(
            _when(row["quarantined_at"]),
            f"{_shown(item)}\n[dim]{_shown(row['channel'])}[/]",
            f"[dim]{row['stage']}:[/] {_shown(row['reason'])}",
        )
    return table
