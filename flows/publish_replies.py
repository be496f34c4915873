"""The publishing flow: approved replies and due planned posts, each published exactly once."""

from __future__ import annotations

from datetime import datetime

from prefect import flow

from tasks.drafts import expire_drafts
from tasks.notify import send_notifications
from tasks.publish import PublishRun, publish_approved, publish_publishing_summary


@flow(name="publish-replies")
def publish_replies(now: datetime | None = None, limit: int = 100) -> PublishRun:
    """Publish approved replies and due planned posts once each; tell assignees of refusals."""
    expire_drafts(now)
    run = publish_approved(now, limit)
    send_notifications(now)
    publish_publishing_summary(run)
    return run
