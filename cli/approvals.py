"""``socialops approvals``: what waits for sign-off, and approving or rejecting it.

Every refusal (an unknown or ineligible person, a second approval, an expired or published
item) is a one-line reason and exit 1, and changes nothing.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table

from cli.app import CommandFailed, app, console, guarded, prepare

T = TypeVar("T")

approvals_app = typer.Typer(
    no_args_is_help=True, help="Drafts and planned posts waiting for sign-off: list, approve."
)
app.add_typer(approvals_app, name="approvals")

AtOption = Annotated[
    str | None, typer.Option("--at", hidden=True, help="Act as if it were this ISO time.")
]


def parse_at(at: str | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(at)
    except ValueError:
        raise CommandFailed(f"--at: not an ISO 8601 time: {at!r}") from None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


@contextmanager
def signoff_session() -> Iterator[tuple[Any, Any, Any]]:
    """(session, org, rota engine); a refused action becomes a one-line CommandFailed and
    rolls back (nothing changes)."""
    from socialops.db import session_scope
    from socialops.rota.schedule import engine_for
    from socialops.signoff.approvals import SignOffError

    settings, org = prepare()
    try:
        with session_scope(settings.resolved_database_url()) as session:
            yield session, org, engine_for(org)
    except SignOffError as exc:
        raise CommandFailed(str(exc)) from None


def run_action(action: Callable[..., T], **kwargs: Any) -> T:
    with signoff_session() as (session, org, engine):
        return action(session=session, org=org, engine=engine, **kwargs)


def follow_review_run(draft_id: int) -> None:
    """After an action on a draft: its review run in the Prefect UI follows (cancelled with a
    note when decided here, a fresh one when it still waits); one line, never a traceback."""
    from tasks.review import sync_review_runs

    sync = sync_review_runs([draft_id])
    console.print(f"[dim]{sync.cli_line(draft_id)}[/]", highlight=False, soft_wrap=True)


def show_view(view: Any) -> None:
    lines = [
        f"[bold]{view.kind} {view.id}[/] on {view.channel} · {view.department}"
        + (" · [red]URGENT[/]" if view.urgent else "")
        + f" · [bold]{view.status}[/] · version {view.version} by {view.author}",
    ]
    if view.mention_text is not None:
        lines.append(f"[dim]mention from {view.mention_author} ({view.mention_url}):[/]")
        lines.append(f"  {view.mention_text}")
    if view.scheduled_at is not None:
        lines.append(f"[dim]planned for[/] {view.scheduled_at.isoformat()}")
    lines.append("[dim]text:[/]")
    lines.append(f"  {view.text}")
    lines.append(f"[dim]policy:[/] {view.policy}")
    done = ", ".join(f"{a['step']}. {a['name']} ({a['role']}, {a['when']})" for a in view.approvals)
    lines.append(f"[dim]approvals:[/] {len(view.approvals)}/{view.approvals_required} {done}")
    if view.waiting_for:
        order = "in this order" if view.order == "in_order" else "in any order"
        lines.append(f"[dim]still needed ({order}):[/] {', '.join(view.waiting_for)}")
    if view.status == "pending":
        who = ", ".join(f"{e.name} ({e.handle}, {e.role})" for e in view.eligible_approvers)
        lines.append(f"[dim]may approve now:[/] {who or 'nobody on duty'}")
    if view.review_run_id:
        lines.append(f"[dim]review run in the Prefect UI:[/] {view.review_run_id}")
    if view.reason:
        lines.append(f"[dim]reason:[/] {view.reason}")
    if view.published_url:
        lines.append(f"[dim]published:[/] {view.published_url}")
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True)


def views_table(views: list[Any], title: str, width: int | None = None) -> Table:
    """Drafts as a table: one column per field on a wide terminal; on a narrow one (under 120
    columns) three, so no field is cut to a letter a line."""
    table = Table(title=title, title_justify="left")
    if (width or console.width) >= 120:
        columns = ("id", "kind", "dept", "urgent", "status", "approvals", "may approve", "at")
        for column in columns:
            table.add_column(column, overflow="fold")
        table.add_column("text", overflow="fold", ratio=1)
        for v in views:
            table.add_row(
                str(v.id),
                v.kind,
                v.department,
                "yes" if v.urgent else "",
                v.status,
                f"{len(v.approvals)}/{v.approvals_required}",
                ", ".join(e.handle for e in v.eligible_approvers),
                _at(v),
                _short(v.text),
            )
        return table
    table.add_column("id", no_wrap=True)
    table.add_column("item", overflow="fold")
    table.add_column("text, and who may approve now", overflow="fold", ratio=1)
    for v in views:
        item = f"{v.kind} · {v.department}" + (" · [bold red]URGENT[/]" if v.urgent else "")
        item += f"\n{v.status} {len(v.approvals)}/{v.approvals_required}"
        if v.scheduled_at:
            item += f"\nat {_at(v)}"
        approvers = ", ".join(e.handle for e in v.eligible_approvers) or "nobody on duty"
        table.add_row(str(v.id), item, f"{_short(v.text)}\n[dim]may approve:[/] {approvers}")
    return table


def _at(view: Any) -> str:
    return view.scheduled_at.strftime("%Y-%m-%d %H:%M") if view.scheduled_at else ""


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:79] + "…"


@approvals_app.command("list")
@guarded
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="A JSON list, for scripts.")] = False,
    as_person: Annotated[
        str | None, typer.Option("--as", help="Who is asking (name or handle).")
    ] = None,
    mine: Annotated[bool, typer.Option("--mine", help="Only what --as may approve now.")] = False,
    all_: Annotated[bool, typer.Option("--all", help="Every status, not only pending.")] = False,
    at: AtOption = None,
) -> None:
    """Drafts and planned posts waiting for approval (urgent first)."""
    from socialops.signoff import approvals, drafts

    if mine and as_person is None:
        raise CommandFailed("--mine needs --as PERSON")
    now = parse_at(at)
    with signoff_session() as (session, org, engine):
        handle = approvals.resolve_person(org, as_person).handle if as_person else None
        views = drafts.list_views(
            session=session,
            org=org,
            engine=engine,
            now=now,
            statuses=None if all_ else (approvals.PENDING,),
            mine=handle if mine else None,
        )
    if as_json:
        sys.stdout.write(json.dumps([v.as_json() for v in views], ensure_ascii=False) + "\n")
        return
    console.print(views_table(views, f"{len(views)} waiting for sign-off"))


@approvals_app.command("show")
@guarded
def show(draft_id: Annotated[int, typer.Argument()], at: AtOption = None) -> None:
    """One draft or planned post: the mention, the text, the policy, who may approve now."""
    from socialops.signoff import approvals, drafts

    now = parse_at(at)
    with signoff_session() as (session, org, engine):
        view = drafts.view(session, org, engine, approvals.get_draft(session, draft_id), now)
    show_view(view)


@approvals_app.command("approve")
@guarded
def approve(
    draft_id: Annotated[int, typer.Argument()],
    as_person: Annotated[str, typer.Option("--as", help="Who approves (name or handle).")],
    text: Annotated[
        str | None,
        typer.Option(help="Replace the text instead (approvals start again; yours cannot count)."),
    ] = None,
    at: AtOption = None,
) -> None:
    """Approve the current text of a draft or planned post."""
    from socialops.signoff import approvals

    now = parse_at(at)
    if text is not None:
        draft = run_action(approvals.edit, draft_id=draft_id, who=as_person, text=text, now=now)
        console.print(
            f"draft {draft.id}: text replaced (version {draft.version}); approvals start "
            "again, and nobody approves their own text: it now needs others' approvals",
            highlight=False,
        )
        follow_review_run(draft.id)
        return
    draft = run_action(approvals.approve, draft_id=draft_id, who=as_person, now=now)
    state = "approved: it will be published" if draft.status == "approved" else "pending"
    console.print(f"draft {draft.id}: approval recorded; {state}", highlight=False)
    follow_review_run(draft.id)


@approvals_app.command("reject")
@guarded
def reject(
    draft_id: Annotated[int, typer.Argument()],
    as_person: Annotated[str, typer.Option("--as", help="Who rejects (name or handle).")],
    reason: Annotated[str, typer.Option(help="Why (sent to the assignee).")] = "",
    at: AtOption = None,
) -> None:
    """Send a draft back to its assignee, with a reason."""
    from socialops.signoff import approvals

    now = parse_at(at)
    draft = run_action(approvals.reject, draft_id=draft_id, who=as_person, reason=reason, now=now)
    console.print(f"draft {draft.id}: rejected; back to {draft.assignee}", highlight=False)
    follow_review_run(draft.id)
