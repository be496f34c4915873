"""Reading the inbox and the quarantine for people (table) and scripts (JSON lines)."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table
from sqlalchemy import select

from socialops import storage
from socialops.db import session_scope


def inbox_rows(
    database_url: str, *, limit: int, department: str | None = None, channel: str | None = None
) -> list[dict[str, Any]]:
    """Newest first. ``department`` and ``urgent`` stay null until a mention is classified."""
    with session_scope(database_url) as session:
        if department is not None:
            # Nothing is classified before the classification stage exists: no mention has a
            # department yet, so a department filter matches none.
            return []
        rows = storage.recent_mentions(session=session, limit=limit, channel=channel)
        return [
            {
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
                "department": None,
                "urgent": None,
            }
            for row in rows
        ]


def inbox_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title=f"Inbox: {len(rows)} newest mentions", title_justify="left")
    table.add_column("when (UTC)", no_wrap=True)
    table.add_column("channel")
    table.add_column("author")
    table.add_column("mention", ratio=1)
    table.add_column("department")
    for row in rows:
        text = row["text"].replace("\n", " ")
        table.add_row(
            row["created_at"][:16].replace("T", " "),
            row["channel"],
            escape(row["author"]),
            escape(text if len(text) <= 140 else text[:139] + "…"),
            row["department"] or "[dim]unclassified[/]",
        )
    return table


def quarantine_rows(database_url: str, *, limit: int) -> list[dict[str, Any]]:
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


def quarantine_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title=f"Quarantine: {len(rows)} newest items", title_justify="left")
    for column in ("when (UTC)", "channel", "stage", "reason"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["quarantined_at"][:16].replace("T", " "),
            row["channel"],
            row["stage"],
            escape(row["reason"]),
        )
    return table
