"""The review flow: one draft shown in the Prefect UI, waiting for an approver's decision."""

from __future__ import annotations

from typing import Literal

from prefect import flow, get_run_logger
from prefect.context import get_run_context
from prefect.flow_runs import pause_flow_run, suspend_flow_run
from prefect.input import RunInput

from tasks.review import (
    apply_decision,
    describe_draft,
    hand_over_review,
    publish_review_summary,
)


class ReviewInput(RunInput):
    """The form an approver fills in."""

    decision: Literal["approve", "reject", "edit"] = "approve"
    approver: str = ""
    text: str = ""
    reason: str = ""


@flow(name="review-draft")
def review_draft(draft_id: int, timeout_hours: float = 24.0) -> str:
    """Show one draft with its mention and policy, and record an approver's decision."""
    context = get_run_context()
    flow_run = getattr(context, "flow_run", None)
    run_id = str(flow_run.id) if flow_run is not None else None
    description, version, status = describe_draft(draft_id)
    if status != "pending":
        hand_over_review(draft_id, run_id)
        return f"draft {draft_id} is {status}: nothing to review"
    form = ReviewInput.with_initial_data(description=description)
    deployed = getattr(flow_run, "deployment_id", None) is not None
    timeout = int(timeout_hours * 3600)
    # Served from a deployment the run is suspended (no process waits; it re-runs from the
    # top on resume, and describing the draft again is harmless); run directly, it pauses.
    if deployed:
        answer = suspend_flow_run(wait_for_input=form, timeout=timeout, key=f"v{version}")
    else:
        answer = pause_flow_run(wait_for_input=form, timeout=timeout, poll_interval=1)
    decision = apply_decision(
        draft_id, answer.decision, answer.approver, answer.text, answer.reason, version
    )
    publish_review_summary(decision)
    # Still pending (one approval of two, or an edit): a fresh run shows where it stands.
    hand_over_review(draft_id, run_id)
    outcome = decision.line()
    get_run_logger().info(outcome)
    return outcome
