"""The draft-replies flow end to end on the Prefect engine: drafts, their markdown artifact
(none for a run that did nothing), and no review runs, said in one line, when the Prefect
server has no review-draft deployment."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from socialops.db import session_scope
from socialops.settings import get_settings
from tests.signoff.fixtures import add_assigned

pytestmark = pytest.mark.usefixtures("prefect_api")


def _artifacts_of(run_id: object) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        )
    return [str(a.data) for a in found if a.key == "draft-replies-summary"]


def test_counts_in_the_artifact_and_none_for_a_quiet_run(
    socialops_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tasks.review
    from flows.draft_replies import draft_replies

    now = datetime.now(UTC)
    with session_scope(get_settings().resolved_database_url()) as session:
        add_assigned(
            session,
            external_id="701",
            department="customer_relations",
            assignee="amelia.hart",
            at=now,
        )
        add_assigned(
            session,
            external_id="702",
            department="marketing",
            assignee="amelia.hart",
            at=now,
            lang="fr",
        )
        add_assigned(session, external_id="703", department="none", assignee="amelia.hart", at=now)
    # This server has no review-draft deployment (whatever other tests registered).
    monkeypatch.setattr(tasks.review, "REVIEW_DEPLOYMENT", "review-draft/absent")
    sync = tasks.review.sync_review_runs()
    assert sync.skipped is not None and "no review-draft/absent deployment" in sync.skipped
    assert sync.summary().count("\n") == 0

    state = draft_replies(return_state=True)
    run = state.result()
    assert run.drafted == 2 and len(run.pending_ids) == 2 and run.review_runs == ""
    assert dict(run.by_channel) == {"mastodon-main": 2}
    assert dict(run.by_language) == {"en": 1, "fr": 1}
    [markdown] = _artifacts_of(state.state_details.flow_run_id)
    assert "**2** drafts written: 2 wait for sign-off" in markdown
    assert "| customer_relations | 1 |" in markdown and "| marketing | 1 |" in markdown
    assert "| fr | 1 |" in markdown and "| mastodon-main | 2 |" in markdown
    assert f"**{run.notified}** approver notices queued" in markdown and run.notified > 0

    quiet = draft_replies(return_state=True)
    assert quiet.result().drafted == 0
    assert _artifacts_of(quiet.state_details.flow_run_id) == []
