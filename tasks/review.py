"""Review tasks: a review run per pending draft, what the approver sees in the Prefect UI,
and applying their decision.

:func:`sync_review_runs` keeps one ``review-draft/review`` deployment run per pending draft (for
its current version and approvals), cancels runs whose draft was decided elsewhere, and does
nothing, saying why in one line, when there is no Prefect server or no such deployment (the
CLI-only demo). The database rows stay the source of truth: a lost or cancelled run loses
nothing.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.context import FlowRunContext, TaskRunContext
from prefect.exceptions import ObjectNotFound
from prefect.settings import get_current_settings
from prefect.states import Cancelled

from socialops.config import load_config
from socialops.db import session_scope
from socialops.rota.schedule import engine_for
from socialops.settings import get_settings
from socialops.signoff import approvals, drafts, reviews
from socialops.signoff.summary import ReviewDecision, review_markdown

REVIEW_DEPLOYMENT = "review-draft/review"


@dataclass
class ReviewSync:
    """What one pass over the review runs did; ``skipped`` says why it did nothing."""

    started: dict[int, str] = field(default_factory=dict)  # draft id -> run id
    kept: int = 0
    cancelled: dict[int, str] = field(default_factory=dict)  # draft id -> the note
    at_limit: list[int] = field(default_factory=list)
    skipped: str | None = None

    def summary(self) -> str:
        """One line for a flow's log."""
        if self.skipped:
            return (
                f"review runs: none started ({self.skipped}); drafts wait in `socialops approvals`"
            )
        parts = [f"{len(self.started)} started", f"{self.kept} still open"]
        if self.cancelled:
            parts.append(f"{len(self.cancelled)} cancelled (decided elsewhere or changed)")
        if self.at_limit:
            parts.append(f"{len(self.at_limit)} drafts at {reviews.MAX_RUNS} runs: none more")
        return "review runs: " + ", ".join(parts)

    def cli_line(self, draft_id: int) -> str:
        """One line for the CLI after acting on one draft."""
        head = "review run in the Prefect UI:"
        if self.skipped:
            return f"{head} not updated ({self.skipped})"
        done = []
        if draft_id in self.cancelled:
            done.append(f"the open one was cancelled ({self.cancelled[draft_id]})")
        if draft_id in self.started:
            done.append(f"run {self.started[draft_id]} started")
        if not done:
            done.append("the open one stays" if self.kept else "none open")
        return f"{head} {'; '.join(done)}"


def _in_prefect_run() -> bool:
    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def _unreachable() -> str | None:
    """Outside a flow run: why no Prefect server can be asked (never start a temporary one
    from the CLI), else None."""
    if _in_prefect_run():
        return None
    url = get_current_settings().api.url
    if not url:
        return "no Prefect server: PREFECT_API_URL is not set"
    try:
        httpx.get(f"{url.rstrip('/')}/health", timeout=3).raise_for_status()
    except httpx.HTTPError as exc:
        return f"the Prefect server at {url} does not answer ({type(exc).__name__})"
    return None


def _note(text: str) -> str:
    return text if len(text) <= 300 else text[:299] + "…"


def sync_review_runs(draft_ids: list[int] | None = None) -> ReviewSync:
    """One review run per pending draft and stage; runs that no longer apply cancelled with a
    note. ``draft_ids``: only these drafts (after a CLI action), else every pending one."""
    why = _unreachable()
    if why is not None:
        return ReviewSync(skipped=why)
    url = get_settings().resolved_database_url()
    sync = ReviewSync()
    try:
        with get_client(sync_client=True) as client:
            try:
                deployment = client.read_deployment_by_name(REVIEW_DEPLOYMENT)
            except ObjectNotFound:
                return ReviewSync(
                    skipped=f"no {REVIEW_DEPLOYMENT} deployment on this Prefect server: "
                    "`socialops serve` or `prefect deploy --all` creates it"
                )
            with session_scope(url) as session:
                wanted = reviews.states(session=session, draft_ids=draft_ids)
            ids = [uuid.UUID(s.run_id) for s in wanted if s.run_id]
            runs: dict[str, Any] = {}
            if ids:
                found = client.read_flow_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)), limit=len(ids)
                )
                runs = {str(r.id): r for r in found}
            for state in wanted:
                _sync_one(client, deployment.id, state, runs.get(state.run_id or ""), sync, url)
    except httpx.HTTPError as exc:  # the server went away half-way: the next pass goes on
        sync.skipped = f"the Prefect server stopped answering ({type(exc).__name__})"
    return sync


def _sync_one(
    client: Any,
    deployment_id: Any,
    state: reviews.ReviewState,
    run: Any,
    sync: ReviewSync,
    url: str,
) -> None:
    run_state = getattr(run, "state", None)
    live = run_state is not None and not run_state.is_final()
    busy = run_state is not None and live and (run_state.is_running() or run_state.is_pending())
    if state.run_id is not None and live and state.run_stage == state.stage:
        sync.kept += 1
        return
    if state.run_id is not None and busy:
        return  # applying a decision right now: look again on the next pass
    if state.run_id is not None:
        with session_scope(url) as session:
            if live:
                why = reviews.why_closed(session, state.draft_id)
                if state.stage is not None:
                    why += f": a new review run for {state.stage} replaces this one"
                client.set_flow_run_state(run.id, Cancelled(message=_note(why)), force=True)
                sync.cancelled[state.draft_id] = why
            reviews.clear_run(session=session, draft_id=state.draft_id, run_id=state.run_id)
        state = dataclasses.replace(state, run_id=None, run_stage=None)
    if state.stage is None:
        return
    if state.runs >= reviews.MAX_RUNS:
        sync.at_limit.append(state.draft_id)
        return
    created = client.create_flow_run_from_deployment(
        deployment_id,
        parameters={"draft_id": state.draft_id},
        name=f"review-draft-{state.draft_id}-{state.stage}",
        tags=["socialops", "signoff", "review", f"draft-{state.draft_id}"],
        idempotency_key=state.idempotency_key(),
    )
    with session_scope(url) as session:
        if reviews.record_run(
            session=session, state=state, run_id=str(created.id), stage=state.stage
        ):
            sync.started[state.draft_id] = str(created.id)


@task(name="start-review-runs", cache_policy=NO_CACHE)
def start_review_runs(draft_ids: list[int] | None = None) -> ReviewSync:
    """A review run in the Prefect UI for each pending draft that has none (and cancel those
    decided elsewhere); one log line when there is no server or deployment to start them on."""
    sync = sync_review_runs(draft_ids)
    get_run_logger().info(sync.summary())
    return sync


@task(name="hand-over-review", cache_policy=NO_CACHE)
def hand_over_review(draft_id: int, run_id: str | None) -> ReviewSync:
    """After a decision: this run is done with the draft; a draft still pending (one approval
    of two) gets a fresh review run showing where it stands."""
    if run_id is not None:
        with session_scope(get_settings().resolved_database_url()) as session:
            reviews.clear_run(session=session, draft_id=draft_id, run_id=run_id)
    sync = sync_review_runs([draft_id])
    get_run_logger().info(sync.summary())
    return sync


@task(name="describe-draft", cache_policy=NO_CACHE)
def describe_draft(draft_id: int) -> tuple[str, int, str]:
    """(Markdown shown above the form, the draft's version, its status)."""
    settings = get_settings()
    org = load_config(settings.config, channels_path=settings.channels)
    now = datetime.now(UTC)
    with session_scope(settings.resolved_database_url()) as session:
        draft = approvals.get_draft(session, draft_id)
        v = drafts.view(session, org, engine_for(org), draft, now)
    lines = [
        f"## {'Reply' if v.kind == 'reply' else 'Planned post'} {v.id} · {v.department}"
        + (" · **URGENT**" if v.urgent else ""),
        f"Status **{v.status}**, version {v.version} by `{v.author}` on `{v.channel}`.",
    ]
    if v.mention_text is not None:
        quoted = "\n".join(f"> {line}" for line in v.mention_text.splitlines())
        lines += [f"**Mention** from `{v.mention_author}` ({v.mention_url}):", quoted]
    if v.scheduled_at:
        lines.append(f"**Planned for** {v.scheduled_at.isoformat()}")
    lines += ["**Draft:**", "```text", v.text, "```", f"**Policy:** {v.policy}."]
    done = ", ".join(f"{a['name']} ({a['role']})" for a in v.approvals) or "none yet"
    lines.append(f"**Approvals:** {len(v.approvals)}/{v.approvals_required}: {done}.")
    who = ", ".join(f"{e.name} (`{e.handle}`, {e.role})" for e in v.eligible_approvers)
    lines.append(f"**May approve now:** {who or 'nobody on duty'}.")
    lines.append(
        "Choose `approve`, `reject` (give a reason) or `edit` (give the new text: approvals "
        "start again); put your handle or name in *Approver*."
    )
    return "\n\n".join(lines), v.version, v.status


@task(name="apply-decision", cache_policy=NO_CACHE)
def apply_decision(
    draft_id: int, decision: str, approver: str, text: str, reason: str, version: int
) -> ReviewDecision:
    """The same checks and records as the CLI; raises SignOffError when refused."""
    settings = get_settings()
    org = load_config(settings.config, channels_path=settings.channels)
    now = datetime.now(UTC)
    with session_scope(settings.resolved_database_url()) as session:
        engine = engine_for(org)
        draft = approvals.get_draft(session, draft_id)
        if draft.version != version:
            raise approvals.SignOffError(
                f"draft {draft_id} changed while this form was open (now version "
                f"{draft.version}): start a new review"
            )
        common = {
            "session": session,
            "org": org,
            "engine": engine,
            "draft_id": draft_id,
            "who": approver,
            "now": now,
            "via": "ui",
        }
        if decision == "approve":
            row = approvals.approve(**common)  # type: ignore[arg-type]
        elif decision == "reject":
            row = approvals.reject(reason=reason or text, **common)  # type: ignore[arg-type]
        else:
            row = approvals.edit(text=text, **common)  # type: ignore[arg-type]
        person = approvals.resolve_person(org, approver)
        done = len(approvals.approvals_of(session, row))
        return ReviewDecision(
            draft_id=row.id,
            decision=decision,
            approver=person.handle,
            approver_name=person.name,
            at=now.isoformat(timespec="seconds"),
            status=row.status,
            version=row.version,
            approvals=f"{done}/{approvals.policy_for(org, row).required}",
            reason=(reason or text) if decision == "reject" else "",
        )


@task(name="publish-review-summary", cache_policy=NO_CACHE)
def publish_review_summary(decision: ReviewDecision) -> str:
    """The decision as a markdown artifact, keyed by the draft (its decisions line up)."""
    markdown = review_markdown(decision)
    create_markdown_artifact(
        markdown=markdown,
        key=f"review-draft-{decision.draft_id}",
        description=f"Decision on draft {decision.draft_id} from the Prefect UI",
    )
    return markdown
