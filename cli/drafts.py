"""``socialops drafts``: write reply drafts now, and replace a draft's text."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.app import app, console, guarded
from cli.approvals import AtOption, follow_review_run, parse_at, run_action

drafts_app = typer.Typer(no_args_is_help=True, help="Reply drafts: write them, edit one.")
app.add_typer(drafts_app, name="drafts")


@drafts_app.command("write")
@guarded
def write() -> None:
    """Run the draft-replies flow once (drafts for open assignments, approvers told)."""
    from cli.publish import run_drafts, show_drafts

    show_drafts(run_drafts())


@drafts_app.command("edit")
@guarded
def edit(
    draft_id: Annotated[int, typer.Argument()],
    as_person: Annotated[str, typer.Option("--as", help="Who edits (name or handle).")],
    text: Annotated[str, typer.Option(help="The new text.")],
    at: AtOption = None,
) -> None:
    """Replace a draft's text: a new version, and its approvals start again."""
    from socialops.signoff import approvals

    draft = run_action(
        approvals.edit, draft_id=draft_id, who=as_person, text=text, now=parse_at(at)
    )
    console.print(
        f"draft {draft.id}: version {draft.version}, pending; approvers were told",
        highlight=False,
    )
    follow_review_run(draft.id)
