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
    result = BatchResult(
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
    get_run_logger().info("%s", classified_line([result]))
    return result


def classified_line(results: list[BatchResult]) -> str:
    """``classified 120 (118 new, 2 changed, 0 unchanged): customer_relations 50, ...; 4
    urgent; 6 sent to triage; model tfidf-svm-...``."""
    departments: Counter[str] = Counter()
    for batch in results:
        departments.update(batch.departments)
    per = ", ".join(f"{d} {n}" for d, n in sorted(departments.items(), key=lambda x: (-x[1], x[0])))
    versions = sorted({b.model_version for b in results if b.model_version})
    return (
        f"classified {sum(b.classified for b in results)} ({sum(b.new for b in results)} new, "
        f"{sum(b.changed for b in results)} changed, {sum(b.unchanged for b in results)} "
        f"unchanged): {per or 'none'}; {sum(len(b.urgent) for b in results)} urgent; "
        f"{departments.get('triage', 0)} sent to triage; model {', '.join(versions) or '-'}"
    )


@task(name="publish-classification-summary", cache_policy=NO_CACHE)
def publish_classification_summary(results: list[BatchResult]) -> str:
    markdown = classification_summary_markdown(results)
    get_run_logger().info("run total: %s", classified_line(results))
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
