"""Classification tasks: which mentions, classify a batch, the run's artifact."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from socialops.classification import store
from socialops.classification.service import default_classifier
from socialops.classification.store import BatchResult, UrgentItem
from socialops.config import load_config
from socialops.db import session_scope
from socialops.reports import classification_summary_markdown
from socialops.settings import get_settings


@task(name="pending-mentions", cache_policy=NO_CACHE)
def pending_mentions(since: datetime | None, until: datetime | None) -> list[int]:
    """Ids of mentions never classified, or of every mention in the range when one is given."""
    with session_scope(get_settings().resolved_database_url()) as session:
        return store.pending_mention_ids(session=session, since=since, until=until)


@task(name="classify-batch", cache_policy=NO_CACHE)
def classify_batch(mention_ids: list[int]) -> BatchResult:
    """Classify these mentions and store the decisions (idempotent, history kept)."""
    settings = get_settings()
    org = load_config(settings.config, channels_path=settings.channels)
    classifier = default_classifier(org.classification)
    with session_scope(settings.resolved_database_url()) as session:
        mentions = store.mention_texts(session=session, ids=mention_ids)
        decisions = classifier.classify([m.text for m in mentions])
        saved = store.save_classifications(
            session=session,
            decisions=[(m.id, d) for m, d in zip(mentions, decisions, strict=True)],
        )
    return BatchResult(
        classified=len(decisions),
        new=saved.new,
        changed=saved.changed,
        unchanged=saved.unchanged,
        departments=dict(Counter(d.department for d in decisions)),
        urgent=[
            UrgentItem(mention_id=m.id, department=d.department, text=m.text[:200], why=d.summary)
            for m, d in zip(mentions, decisions, strict=True)
            if d.urgent
        ],
        model_version=classifier.version,
    )


@task(name="publish-classification-summary", cache_policy=NO_CACHE)
def publish_classification_summary(results: list[BatchResult]) -> str:
    markdown = classification_summary_markdown(results)
    if not any(batch.classified for batch in results):
        # The classify run nested in every route-mentions run usually finds nothing new: its
        # "0 classified" must not become the latest version of the summary in the UI.
        get_run_logger().info("nothing to classify: no artifact")
        return markdown
    create_markdown_artifact(
        markdown=markdown,
        key="classification-summary",
        description="Mentions classified per department, urgent ones with the reason",
    )
    return markdown
