"""The drafting flow: reply drafts for open assignments, approvers told, planned posts expired."""

from __future__ import annotations

from datetime import datetime

from prefect import flow

from socialops.signoff.drafts import DraftRun
from tasks.drafts import expire_drafts, publish_drafts_summary, write_drafts
from tasks.notify import send_notifications
from tasks.review import start_review_runs


@flow(name="draft-replies")
def draft_replies(now: datetime | None = None, limit: int = 500) -> DraftRun:
    """Draft replies for open assignments from templates and ask their eligible approvers."""
    expired = expire_drafts(now)
    run = write_drafts(now, limit)
    run.expired = expired
    # Every pending draft (new ones, edited ones, planned posts) gets its review run in the UI;
    # runs of drafts decided elsewhere are cancelled. Harmless with no deployment to start.
    reviews = start_review_runs()
    run.review_runs = "" if reviews.skipped else reviews.summary()
    run.review_runs_changed = len(reviews.started) + len(reviews.cancelled)
    send_notifications(now)
    publish_drafts_summary(run)
    return run
