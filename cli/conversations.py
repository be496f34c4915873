"""``socialops conversations`` (list, show, unlink) and ``socialops people`` (the person
directory: link, unlink, list). Tables for people, ``--json`` for scripts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from cli.app import CommandFailed, app, console, guarded, prepare
from cli.approvals import AtOption, parse_at
from cli.inbox import write_json_lines

conversations_app = typer.Typer(
    no_args_is_help=True,
    help="Conversations: one person's mentions of one issue across platforms, one assignment.",
)
app.add_typer(conversations_app, name="conversations")
people_app = typer.Typer(
    no_args_is_help=True,
    help="The person directory: which accounts on which platforms are one person.",
)
app.add_typer(people_app, name="people")

AsOption = Annotated[str, typer.Option("--as", help="Who does it (recorded in the audit log).")]
JsonOption = Annotated[bool, typer.Option("--json", help="One JSON object per line.")]


@contextmanager
def _session() -> Iterator[tuple[Any, Any]]:
    """(session, org); a refused request is a one-line error and changes nothing."""
    from socialops.conversations import ConversationError
    from socialops.db import session_scope

    settings, org = prepare()
    try:
        with session_scope(settings.resolved_database_url()) as session:
            yield session, org
    except ConversationError as exc:
        raise CommandFailed(str(exc)) from None


def _shown(text: str | None) -> str:
    from socialops.text_safety import neutralise

    return escape(neutralise(text or ""))


@conversations_app.command("list")
@guarded
def list_(
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 20, as_json: JsonOption = False
) -> None:
    """The newest conversations: platforms, owner, state."""
    from socialops import conversations

    with _session() as (session, _org):
        views = conversations.conversation_views(session=session, limit=limit)
        rows = [v.as_json() for v in views]
    if as_json:
        write_json_lines(rows)
        return
    table = Table(title=f"Conversations: {len(rows)} newest (UTC)", title_justify="left")
    for column in ("id", "opened", "platforms", "mentions", "department", "owner", "state"):
        table.add_column(column)
    for row in rows:
        live = [m for m in row["mentions"] if m["status"] == "linked"]
        table.add_row(
            str(row["id"]),
            row["created_at"][5:16].replace("T", " "),
            ", ".join(row["platforms"]),
            str(len(live)),
            row["department"] or "",
            _shown(row["assignee"]) or "[dim]queued[/]",
            ("[bold red]URGENT[/] " if row["urgent"] else "") + (row["status"] or ""),
        )
    console.print(table)


@conversations_app.command("show")
@guarded
def show(conversation_id: Annotated[int, typer.Argument()], as_json: JsonOption = False) -> None:
    """One conversation: its assignment, and each mention with why it was linked."""
    from socialops import conversations

    with _session() as (session, _org):
        views = conversations.conversation_views(session=session, ids=[conversation_id])
        if not views:
            raise CommandFailed(f"no conversation {conversation_id}")
        row = views[0].as_json()
    if as_json:
        write_json_lines([row])
        return
    urgent = "[bold red]URGENT[/] " if row["urgent"] else ""
    console.print(
        f"conversation {row['id']}: {urgent}{row['department']}, "
        f"{_shown(row['assignee']) or 'queued'}, {row['status']}, due {row['due_at']}",
        highlight=False,
    )
    table = Table(show_header=True)
    for column in ("mention", "platform", "author", "when", "text", "why linked"):
        table.add_column(column)
    for m in row["mentions"]:
        if m["role"] == "opener":
            why = "[dim]opened it (holds the assignment)[/]"
        else:
            why = f"{_shown(m['why'])}; similarity {m['similarity']}"
            if m["status"] == "unlinked":
                why = f"[yellow]unlinked by {_shown(m['unlinked_by'])}[/] (was: {why})"
        table.add_row(
            str(m["mention_id"]),
            m["platform"],
            _shown(m["author"]),
            m["created_at"][5:16].replace("T", " "),
            _shown(" ".join(m["text"].split())[:200]),
            why,
        )
    console.print(table)


@conversations_app.command("unlink")
@guarded
def unlink(
    mention_id: Annotated[int, typer.Argument(help="The linked mention to put on its own.")],
    as_person: AsOption,
    at: AtOption = None,
) -> None:
    """Take a mention out of its conversation: it is routed on its own now (audited) and is
    never linked again automatically."""
    from socialops import conversations, routing
    from socialops.rota.schedule import engine_for

    now = parse_at(at)
    with _session() as (session, org):
        conversation_id = conversations.unlink(
            session=session, mention_id=mention_id, actor=as_person, now=now
        )
        session.flush()
        run = routing.route_classified(session=session, org=org, engine=engine_for(org), now=now)
        owner = routing.assignments_for(session=session, mention_ids=[mention_id]).get(mention_id)
    where = (
        f"now {owner.assignee}'s" if owner and owner.assignee else
        f"waiting in the {owner.department} queue" if owner else
        "left for the next routing pass (nobody on duty)"
    )  # fmt: skip
    console.print(
        f"mention {mention_id} left conversation {conversation_id}: {where} "
        f"(routing pass: {run.routed} routed)",
        highlight=False,
    )


@people_app.command("link")
@guarded
def people_link(
    accounts: Annotated[
        list[str],
        typer.Argument(
            help="Two or more platform:handle, e.g. mastodon:@jane@mastodon.social "
            "bluesky:jane.bsky.social x:@jane reddit:u/jane"
        ),
    ],
    as_person: AsOption,
    name: Annotated[str | None, typer.Option(help="A label for the person.")] = None,
    at: AtOption = None,
) -> None:
    """Record that these accounts are one person (strongest evidence for linking)."""
    from socialops import conversations

    with _session() as (session, _org):
        person = conversations.link_people(
            session=session, accounts=accounts, actor=as_person, label=name, now=parse_at(at)
        )
    console.print(f"person {person}: {', '.join(accounts)}", highlight=False)


@people_app.command("unlink")
@guarded
def people_unlink(
    account: Annotated[str, typer.Argument(help="platform:handle")], as_person: AsOption
) -> None:
    """Take one account out of the person directory."""
    from socialops import conversations

    with _session() as (session, _org):
        person = conversations.unlink_person_account(
            session=session, account=account, actor=as_person
        )
    console.print(f"{account} no longer belongs to person {person}", highlight=False)


@people_app.command("list")
@guarded
def people_list(as_json: JsonOption = False) -> None:
    """Everyone in the person directory, with their accounts."""
    from socialops import conversations

    with _session() as (session, _org):
        rows = [p.as_json() for p in conversations.people(session=session)]
    if as_json:
        write_json_lines(rows)
        return
    table = Table(title=f"Person directory: {len(rows)}", title_justify="left")
    for column in ("id", "label", "accounts"):
        table.add_column(column)
    for row in rows:
        table.add_row(str(row["id"]), _shown(row["label"]), _shown("\n".join(row["accounts"])))
    console.print(table)
