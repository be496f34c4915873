"""The Prefect UI path: a paused review run resumed with an approval input writes the same
approval row as the CLI; an ineligible approver is refused and the draft stays pending."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from socialops import storage
from socialops.db import session_scope
from socialops.rota.schedule import engine_for
from socialops.settings import get_settings
from socialops.signoff import approvals
from tests.signoff.fixtures import add_assigned, draft_all, northwind

pytestmark = pytest.mark.usefixtures("prefect_api")


def _draft(url: str, ext: str) -> int:
    org = northwind()
    now = datetime.now(UTC)
    with session_scope(url) as session:
        mention_id = add_assigned(
            session,
            external_id=ext,
            department="customer_relations",
            assignee="amelia.hart",
            at=now,
        )
        draft_all(session, org, now=now)
        return session.execute(
            select(storage.DraftRow.id).where(storage.DraftRow.mention_id == mention_id)
        ).scalar_one()


def _review_and_answer(draft_id: int, answer: dict[str, str]) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.flow_runs import resume_flow_run

    from flows.review_draft import review_draft

    result: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: result.update(state=review_draft(draft_id, return_state=True))
    )
    thread.start()
    deadline = time.monotonic() + 60
    run_id = None
    with get_client(sync_client=True) as client:
        while run_id is None and time.monotonic() < deadline:
            paused = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
                )
            )
            run_id = next((r.id for r in paused if r.parameters.get("draft_id") == draft_id), None)
            time.sleep(0.3)
    assert run_id is not None, "the review run never paused"
    resume_flow_run(run_id, run_input=answer)
    thread.join(60)
    assert not thread.is_alive()
    return result["state"]


def test_ui_approval_writes_the_row_and_an_ineligible_one_is_refused(
    socialops_env: Path,
) -> None:
    url = get_settings().resolved_database_url()
    org = northwind()
    draft_id = _draft(url, "301")

    # Tom leads marketing: not an approver of customer relations.
    state = _review_and_answer(draft_id, {"decision": "approve", "approver": "tom.reilly"})
    assert state.is_failed()
    assert "not an eligible approver" in str(state.result(raise_on_failure=False))
    with session_scope(url) as session:
        draft = approvals.get_draft(session, draft_id)
        assert draft.status == "pending"
        assert approvals.approvals_of(session, draft) == []
        eligible = approvals.eligible_approvers(
            session, org, engine_for(org), draft, datetime.now(UTC)
        )
    assert eligible, "nobody may approve now: the test cannot run"

    state = _review_and_answer(draft_id, {"decision": "approve", "approver": eligible[0].name})
    assert state.is_completed(), state.message
    with session_scope(url) as session:
        draft = approvals.get_draft(session, draft_id)
        [row] = approvals.approvals_of(session, draft)
        assert (row.approver, row.via) == (eligible[0].handle, "ui")
        assert draft.status == "approved"
