"""A review run in the Prefect UI for every pending draft, started by itself, one per draft and
stage; a decision in the CLI cancels the open run with a note (or replaces it when the draft
still waits), a decision in the UI hands over to a fresh run; without a server or deployment,
one line and nothing else."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cli.main import app
from socialops import storage
from socialops.db import session_scope
from socialops.rota.schedule import engine_for
from socialops.settings import get_settings
from socialops.signoff import approvals
from tests.signoff.fixtures import T_DAY, add_assigned, draft_all, northwind

runner = CliRunner()
DAY = ["--at", T_DAY.isoformat()]


@pytest.fixture(scope="module")
def review_deployment(prefect_api: None) -> str:
    """The catalog's review-draft/review deployment registered on the test server."""
    from deployments.catalog import entry
    from deployments.serve import to_deployment

    return str(to_deployment(entry("review-draft/review")).apply())


def _drafts(url: str, *specs: tuple[str, str, str]) -> list[int]:
    org = northwind()
    now = datetime.now(UTC)
    ids = []
    with session_scope(url) as session:
        mentions = [
            add_assigned(session, external_id=ext, department=dept, assignee=who, at=now)
            for ext, dept, who in specs
        ]
        draft_all(session, org, now=now)
        for mention_id in mentions:
            ids.append(
                session.execute(
                    select(storage.DraftRow.id).where(storage.DraftRow.mention_id == mention_id)
                ).scalar_one()
            )
    return ids


def _row(url: str, draft_id: int) -> storage.DraftRow:
    with session_scope(url) as session:
        draft = approvals.get_draft(session, draft_id)
        session.expunge(draft)
        return draft


def _run(run_id: str) -> Any:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(uuid.UUID(run_id))


def _runs_of(draft_id: int, since: datetime) -> list[Any]:
    """The draft's review runs created since the test began (the Prefect server is shared by
    the session, and each test's database numbers its drafts from 1 again)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[f"draft-{draft_id}"]))
        )
    return [r for r in runs if r.created is not None and r.created >= since]


def _cli(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.usefixtures("review_deployment")
def test_one_run_per_draft_and_the_cli_keeps_them_in_step(socialops_env: Path) -> None:
    from tasks.review import sync_review_runs

    began = datetime.now(UTC)
    url = get_settings().resolved_database_url()
    care, legal = _drafts(
        url,
        (f"cr-{uuid.uuid4().hex[:6]}", "customer_relations", "amelia.hart"),
        (f"lg-{uuid.uuid4().hex[:6]}", "legal", "ben.carter"),
    )
    # Two passes at once (a worker's draft-replies and a CLI action): one run per draft.
    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda: results.append(sync_review_runs())) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert all(r.skipped is None for r in results), results
    for draft_id in (care, legal):
        [run] = _runs_of(draft_id, began)
        row = _row(url, draft_id)
        assert row.review_run_id == str(run.id) and row.review_stage == "v1.a0"
        assert run.parameters == {"draft_id": draft_id}
        assert run.name == f"review-draft-{draft_id}-v1.a0"
        assert run.state.is_scheduled()
    again = sync_review_runs()
    assert again.started == {} and again.kept >= 2 and again.cancelled == {}

    # Approved in the CLI: the open run is cancelled, saying so.
    first = _row(url, care).review_run_id
    [item] = [i for i in json.loads(_cli("approvals", "list", "--json", *DAY)) if i["id"] == care]
    assert item["review_run_id"] == first
    who = item["eligible_approvers"][0]["handle"]
    out = _cli("approvals", "approve", str(care), "--as", who, *DAY)
    assert "the open one was cancelled" in out, out
    run = _run(str(first))
    assert run.state.is_cancelled()
    assert f"draft {care} was approved by {who} in the CLI" in run.state.message
    assert _row(url, care).review_run_id is None

    # One approval of two: the draft still waits, a fresh run shows where it stands.
    old = _row(url, legal).review_run_id
    out = _cli("approvals", "approve", str(legal), "--as", "isla.fraser", *DAY)
    assert "started" in out, out
    assert _run(str(old)).state.is_cancelled()
    assert "a new review run for v1.a1 replaces this one" in _run(str(old)).state.message
    row = _row(url, legal)
    assert row.review_stage == "v1.a1" and row.review_run_id != old
    assert _run(str(row.review_run_id)).name == f"review-draft-{legal}-v1.a1"

    # An edit restarts the approvals: a new run for version 2.
    text = "@ann@social.example We will write to you today. – Northwind"
    out = _cli("drafts", "edit", str(legal), "--as", "ben.carter", "--text", text, *DAY)
    assert "started" in out and "cancelled" in out, out
    row = _row(url, legal)
    assert row.review_stage == "v2.a0"
    assert len([r for r in _runs_of(legal, began) if not r.state.is_final()]) == 1

    with session_scope(url) as session:
        actions = [
            a.action
            for a in session.execute(
                select(storage.AuditRow).where(
                    storage.AuditRow.subject_id == str(legal),
                    storage.AuditRow.action == "review_run",
                )
            ).scalars()
        ]
    assert actions == ["review_run"] * 3


@pytest.mark.usefixtures("review_deployment")
def test_a_ui_approval_of_one_of_two_hands_over_to_a_fresh_run(socialops_env: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.flow_runs import resume_flow_run

    from flows.review_draft import review_draft
    from tasks.review import sync_review_runs

    url = get_settings().resolved_database_url()
    [legal] = _drafts(url, (f"lg-{uuid.uuid4().hex[:6]}", "legal", "ben.carter"))
    assert sync_review_runs([legal]).started
    scheduled = _row(url, legal).review_run_id

    state: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: state.update(s=review_draft(legal, return_state=True)))
    thread.start()
    paused = None
    deadline = time.monotonic() + 180  # a loaded 2-core machine starts flows slowly
    with get_client(sync_client=True) as client:
        while paused is None and time.monotonic() < deadline:
            runs = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
                )
            )
            paused = next((r.id for r in runs if r.parameters.get("draft_id") == legal), None)
            time.sleep(0.3)
    assert paused is not None, "the review run never paused"
    org = northwind()
    with session_scope(url) as session:
        draft = approvals.get_draft(session, legal)
        [first, *_] = approvals.eligible_approvers(
            session, org, engine_for(org), draft, datetime.now(UTC)
        )
    resume_flow_run(paused, run_input={"decision": "approve", "approver": first.name})
    thread.join(180)
    assert not thread.is_alive(), "the review run did not finish after its resume"
    assert state["s"].is_completed(), state["s"].message

    row = _row(url, legal)
    assert row.status == "pending" and row.review_stage == "v1.a1"
    assert row.review_run_id not in (None, scheduled)
    assert _run(str(scheduled)).state.is_cancelled()
    # The decision is the run's artifact; the CLI sees the same row.
    # (This run's own: the test server is shared by the session, and each test's database
    # numbers its drafts from 1 again, so another test's run may have written the same key.)
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    with get_client(sync_client=True) as client:
        [artifact] = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=[f"review-draft-{legal}"]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[paused]),
            ),
            limit=1,
        )
    assert "| decision | **Approved** |" in str(artifact.data)
    assert f"{first.name} (`{first.handle}`)" in str(artifact.data)
    again = runner.invoke(app, ["approvals", "approve", str(legal), "--as", first.handle])
    assert again.exit_code == 1 and "already approved" in again.output


def test_without_a_server_one_line_and_nothing_changes(
    socialops_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    # As the CLI-only demo runs: no PREFECT_API_URL (whatever other tests of the session use).
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    url = get_settings().resolved_database_url()
    [care] = _drafts(url, ("cr-1", "customer_relations", "amelia.hart"))
    edit = ["drafts", "edit", str(care), "--as", "amelia.hart", "--text", "@ann@social.example Hi!"]
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        result = runner.invoke(app, edit)
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1] == (
        "review run in the Prefect UI: not updated (no Prefect server: PREFECT_API_URL is not set)"
    )
    assert "Traceback" not in result.output
    assert _row(url, care).review_run_id is None
