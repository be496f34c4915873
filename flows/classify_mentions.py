"""The classification flow: newly stored mentions (or a date range again), in batches."""

from __future__ import annotations

from datetime import datetime

from prefect import flow

from socialops.classification.store import BatchResult
from tasks.classify import classify_batch, pending_mentions, publish_classification_summary


@flow(name="classify-mentions")
def classify_mentions(
    since: datetime | None = None, until: datetime | None = None, batch_size: int = 2000
) -> list[BatchResult]:
    """Give each new mention an owning department, urgency and sentiment, with the reason."""
    ids = pending_mentions(since, until)
    results = [
        classify_batch(ids[start : start + batch_size]) for start in range(0, len(ids), batch_size)
    ]
    publish_classification_summary(results)
    return results
