"""``socialops publish``, and the sign-off stages as ``run`` and ``demo`` run them."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from cli.app import CommandFailed, app, console, guarded, prepare


def run_drafts(limit: int = 500) -> Any:
    """The draft-replies flow once: its DraftRun."""
    from flows.draft_replies import draft_replies

    state = draft_replies(limit=limit, return_state=True)
    outcome = state.result(raise_on_failure=False)
    if isinstance(outcome, BaseException):
        raise CommandFailed(f"the draft flow ended {state.type.value}: {state.message}")
    return outcome


def show_drafts(run: Any, out: Console = console) -> None:
    depts = ", ".join(f"{k} {v}" for k, v in sorted(run.by_department.items())) or "none"
    out.print(
        f"drafts: {run.drafted} written ({depts}); {run.no_reply} answered elsewhere; "
        f"{run.notified} approver notices queued; {run.expired} planned posts expired",
        highlight=False,
    )


def run_publish() -> Any:
    """The publish-replies flow once: its PublishRun."""
    from flows.publish_replies import publish_replies

    state = publish_replies(return_state=True)
    outcome = state.result(raise_on_failure=False)
    if isinstance(outcome, BaseException):
        raise CommandFailed(f"the publish flow ended {state.type.value}: {state.message}")
    return outcome


def waiting_to_publish(database_url: str) -> int:
    """Approved replies and due planned posts not published yet (a retry after a transient
    error, a rate limit): what the next run takes."""
    from datetime import UTC, datetime

    from sqlalchemy import func, or_, select

    from socialops import storage
    from socialops.db import session_scope

    d = storage.DraftRow
    with session_scope(database_url) as session:
        return int(
            session.execute(
                select(func.count()).where(
                    d.status.in_(("approved", "publishing")),
                    or_(d.scheduled_at.is_(None), d.scheduled_at <= datetime.now(UTC)),
                )
            ).scalar_one()
        )


def show_publish(run: Any, out: Console = console) -> None:
    # `retried_later` counts retries, most of them taken again within the same run: what is
    # left for the next run is read from the database.
    settings, _org = prepare()
    waiting = waiting_to_publish(settings.resolved_database_url())
    out.print(
        f"published: {run.published} ({run.reconciled} found on the platform after an "
        f"unknown outcome, not posted again); {run.failed} refused by the platform; "
        f"{run.retried_later} transient errors retried; {waiting} still to publish on the "
        "next run",
        highlight=False,
    )
    for error in run.errors[:5]:
        out.print(f"  - {error}", highlight=False, soft_wrap=True)


@app.command()
@guarded
def publish() -> None:
    """Publish approved replies and due planned posts once (the publish-replies flow)."""
    prepare()
    show_publish(run_publish())


DEMO_DRAFTS = 40  # enough to show every policy at work; the scheduled flow drafts the rest


def demo_signoff(out: Console) -> dict[str, int]:
    """The demo's sign-off: drafts, the demo approvers approving as policies and rotas allow
    (the first eligible person each time), then publishing to the sandbox. Returns counts."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from socialops import storage
    from socialops.db import session_scope
    from socialops.rota.schedule import engine_for
    from socialops.signoff import approvals

    settings, org = prepare()
    drafted = run_drafts(limit=DEMO_DRAFTS)
    show_drafts(drafted, out)
    now = datetime.now(UTC)
    approved: dict[str, int] = {}
    by: dict[str, int] = {}
    with session_scope(settings.resolved_database_url()) as session:
        d = storage.DraftRow
        pending = session.execute(
            select(d.id, d.department).where(d.status == approvals.PENDING).order_by(d.id)
        ).all()
        for draft_id, department in pending:
            who = approvals.approve_as_eligible(
                session=session, org=org, engine=engine_for(org), draft_id=draft_id, now=now
            )
            draft = approvals.get_draft(session, draft_id)
            if draft.status == approvals.APPROVED:
                approved[department] = approved.get(department, 0) + 1
            for handle in who:
                by[handle] = by.get(handle, 0) + 1
    table = Table(title="sign-off by the demo's approvers", title_justify="left")
    table.add_column("department")
    table.add_column("drafts", justify="right")
    table.add_column("approved", justify="right")
    for department, count in sorted(drafted.by_department.items()):
        table.add_row(department, str(count), str(approved.get(department, 0)))
    out.print(table)
    top = ", ".join(f"{h} {n}" for h, n in sorted(by.items(), key=lambda x: -x[1])[:8])
    out.print(f"approvals given by: {top or 'nobody'}", highlight=False)
    published = run_publish()
    show_publish(published, out)
    return {
        "drafted": drafted.drafted,
        "approved": sum(approved.values()),
        "published": published.published,
    }
