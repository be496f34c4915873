"""``socialops posts``: planned posts (a content calendar) through the same sign-off."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.app import app, console, guarded
from cli.approvals import follow_review_run, parse_at, run_action, signoff_session, views_table

NowOption = Annotated[
    str | None, typer.Option("--now", hidden=True, help="Act as if it were this ISO time.")
]
posts_app = typer.Typer(no_args_is_help=True, help="Planned posts: add one, list them.")
app.add_typer(posts_app, name="posts")


@posts_app.command("add")
@guarded
def add(
    channel: Annotated[str, typer.Option(help="The channel to post on.")],
    at: Annotated[str, typer.Option("--at", help="When to publish (ISO 8601).")],
    text: Annotated[str, typer.Option(help="The post.")],
    as_person: Annotated[str, typer.Option("--as", help="Who writes it (name or handle).")],
    department: Annotated[str, typer.Option(help="Whose policy signs it off.")] = "marketing",
    now: NowOption = None,
) -> None:
    """Plan a post: approved by the department's policy, published at its time, not before."""
    from socialops.signoff import drafts

    draft = run_action(
        drafts.add_post,
        channel=channel,
        at=parse_at(at),
        text=text,
        who=as_person,
        department=department,
        now=parse_at(now),
    )
    console.print(
        f"planned post {draft.id} on {draft.channel} for {draft.scheduled_at}: "
        f"waits for {draft.approvals_required} approval(s)",
        highlight=False,
    )
    if draft.status == "pending":
        follow_review_run(draft.id)


@posts_app.command("list")
@guarded
def list_(now: NowOption = None) -> None:
    """Planned posts, every status."""
    from socialops.signoff import drafts

    with signoff_session() as (session, org, engine):
        views = drafts.list_views(
            session=session,
            org=org,
            engine=engine,
            now=parse_at(now),
            statuses=None,
            kind="post",
        )
    console.print(views_table(views, f"{len(views)} planned posts"))
