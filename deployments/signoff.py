"""Sign-off deployments: drafting, publishing, and the on-demand review run for the UI."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

from flows.draft_replies import draft_replies
from flows.publish_replies import publish_replies
from flows.review_draft import review_draft

DRAFT_EVERY = timedelta(minutes=1)
PUBLISH_EVERY = timedelta(minutes=1)
# Claims in the database already keep two publishers apart; this only avoids piling up runs.
_ONE = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)


def signoff_deployments() -> list[Any]:
    """draft-replies and publish-replies every minute; review-draft on demand (one run per
    draft, started from the UI or `prefect deployment run review-draft/review --param
    draft_id=N`)."""
    return [
        draft_replies.to_deployment(
            name="scheduled",
            interval=DRAFT_EVERY,
            concurrency_limit=_ONE,
            description="Draft replies for open assignments and ask their eligible approvers.",
            tags=["socialops", "signoff"],
        ),
        publish_replies.to_deployment(
            name="scheduled",
            interval=PUBLISH_EVERY,
            concurrency_limit=_ONE,
            description="Publish approved replies and due planned posts, each exactly once.",
            tags=["socialops", "signoff", "publish"],
        ),
        review_draft.to_deployment(
            name="review",
            description="Approve, reject or edit one draft from the UI (set draft_id).",
            tags=["socialops", "signoff", "review"],
        ),
    ]
