"""Drafting tasks: reply drafts for open assignments, expiring planned posts past their time."""

from __future__ import annotations

from datetime import datetime

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from socialops.config import load_config
from socialops.db import session_scope
from socialops.notify import utc
from socialops.rota.schedule import engine_for
from socialops.settings import get_settings
from socialops.signoff import approvals, drafts
from socialops.signoff.summary import drafts_markdown
from socialops.signoff.templates import ReplyTemplates, templates_folder


@task(name="write-drafts", cache_policy=NO_CACHE)
def write_drafts(now: datetime | None = None, limit: int = 500) -> drafts.DraftRun:
    """Draft a reply for each open assignment that needs one; tell its eligible approvers."""
    settings = get_settings()
    org = load_config(settings.config, channels_path=settings.channels)
    templates = ReplyTemplates(templates_folder(settings.config))
    at = utc(now)
    with session_scope(settings.resolved_database_url()) as session:
        run = drafts.draft_replies(
            session=session,
            org=org,
            engine=engine_for(org),
            templates=templates,
            now=at,
            limit=limit,
        )
    get_run_logger().info(
        "drafted %d replies %s (%d open items whose department answers elsewhere), "
        "%d approver notices queued",
        run.drafted,
        dict(run.by_department),
        run.no_reply,
        run.notified,
    )
    return run


@task(name="expire-drafts", cache_policy=NO_CACHE)
def expire_drafts(now: datetime | None = None) -> int:
    """Planned posts whose time passed before they were approved (or published) expire."""
    settings = get_settings()
    with session_scope(settings.resolved_database_url()) as session:
        return approvals.expire_due(session=session, now=utc(now))


@task(name="publish-drafts-summary", cache_policy=NO_CACHE)
def publish_drafts_summary(run: drafts.DraftRun) -> str | None:
    """The run's markdown artifact (``draft-replies-summary``); none when the run wrote,
    expired and notified nothing, so a quiet minute does not hide the last busy one."""
    if not run.did_something:
        get_run_logger().info("no drafts written, expired or announced: no artifact")
        return None
    markdown = drafts_markdown(run)
    create_markdown_artifact(
        markdown=markdown,
        key="draft-replies-summary",
        description="Drafts per department, channel and language; skipped; approvers told",
    )
    return markdown
