"""The drafting flow: reply drafts for open assignments, approvers told, planned posts expired."""

from __future__ import annotations

from datetime import datetime

from prefect import flow

from socialops.signoff.drafts import DraftRun
from tasks.drafts import expire_drafts, write_drafts
from tasks.notify import send_notifications


@flow(name="draft-replies")
def draft_replies(now: datetime | None = None, limit: int = 500) -> DraftRun:
    """Draft replies for open assignments from templates and ask their eligible approvers."""
    expired = expire_drafts(now)
    run = write_drafts(now, limit)
    run.expired = expired
    send_notifications(now)
    return run
