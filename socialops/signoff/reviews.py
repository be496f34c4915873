"""Which drafts need a review run in the Prefect UI, and which runs no longer apply.

A pending draft is shown in the UI by one ``review-draft`` run at a time, for its current
*stage*: its version and how many approvals it has (``v2.a1``). When the stage changes (an
approval that leaves it pending, an edit) the run for the old stage is replaced; when the draft
leaves ``pending`` (approved, rejected, expired: in the CLI or the UI) its run is cancelled with
a note. The database rows stay the source of truth: this module only says what the runs should
be; ``tasks/review.py`` talks to Prefect. Plain Python over the caller's session.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from socialops import storage
from socialops.signoff import approvals as ap

MAX_RUNS = 20
"""Review runs started for one draft at most (a run that fails or times out is replaced, but
a deployment that crashes every time must not start one a minute for ever)."""


@dataclass(frozen=True)
class ReviewState:
    """One draft as the review runs see it."""

    draft_id: int
    status: str
    version: int
    stage: str | None  # None: nothing to review (not pending)
    run_id: str | None  # the run recorded on the draft
    run_stage: str | None
    runs: int
    draft_key: str = ""  # the draft's own idempotency key (new with every version)

    def idempotency_key(self) -> str:
        """The key of the next run: two processes starting it at once get one run. It holds
        the draft's own random key, so a database started afresh (draft ids from 1 again)
        never gets an old database's run back from the same Prefect server."""
        return f"socialops-review:{self.draft_id}:{self.draft_key}:{self.stage}:{self.runs + 1}"


def stage_of(session: Session, draft: storage.DraftRow) -> str | None:
    if draft.status != ap.PENDING:
        return None
    return f"v{draft.version}.a{len(ap.approvals_of(session, draft))}"


def states(
    *, session: Session, draft_ids: Iterable[int] | None = None, limit: int = 500
) -> list[ReviewState]:
    """Pending drafts and those with a run still recorded (to cancel), urgent first; or
    exactly the drafts given."""
    d = storage.DraftRow
    stmt = select(d).order_by(d.urgent.desc(), d.created_at, d.id).limit(limit)
    if draft_ids is not None:
        stmt = stmt.where(d.id.in_(list(draft_ids)))
    else:
        stmt = stmt.where(or_(d.status == ap.PENDING, d.review_run_id.is_not(None)))
    return [
        ReviewState(
            draft_id=row.id,
            status=row.status,
            version=row.version,
            stage=stage_of(session, row),
            run_id=row.review_run_id,
            run_stage=row.review_stage,
            runs=row.review_runs,
            draft_key=row.idempotency_key,
        )
        for row in session.execute(stmt).scalars()
    ]


def record_run(*, session: Session, state: ReviewState, run_id: str, stage: str) -> bool:
    """Record the run started for ``stage`` (unless another process recorded another run
    meanwhile); audited."""
    d = storage.DraftRow
    result = session.execute(
        update(d)
        .where(
            d.id == state.draft_id,
            d.review_run_id.is_(None) if state.run_id is None else d.review_run_id == state.run_id,
        )
        .values(review_run_id=run_id, review_stage=stage, review_runs=d.review_runs + 1)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    storage.audit(
        session=session,
        actor=ap.SYSTEM,
        action="review_run",
        subject_type="draft",
        subject_id=str(state.draft_id),
        details={"version": state.version, "stage": stage, "run_id": run_id},
    )
    return True


def clear_run(*, session: Session, draft_id: int, run_id: str) -> bool:
    """Forget a run that ended or was cancelled (only if it is still the one recorded)."""
    d = storage.DraftRow
    result = session.execute(
        update(d)
        .where(d.id == draft_id, d.review_run_id == run_id)
        .values(review_run_id=None, review_stage=None)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def why_closed(session: Session, draft_id: int) -> str:
    """One line for a cancelled run's note: what became of the draft, by whom, where."""
    draft = session.get(storage.DraftRow, draft_id)
    if draft is None:
        return f"draft {draft_id} no longer exists"
    a = storage.AuditRow
    last = session.execute(
        select(a)
        .where(
            a.subject_type == "draft",
            a.subject_id == str(draft_id),
            a.action.in_(("approve", "reject", "edit", "expire", "publish", "publish_failed")),
        )
        .order_by(a.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if last is None:
        return f"draft {draft_id} is {draft.status}"
    details = last.details or {}
    via = details.get("via")
    when = str(details.get("at") or last.at.isoformat(timespec="seconds"))
    where = f" in the {'Prefect UI' if via == 'ui' else 'CLI'}" if via in ("ui", "cli") else ""
    done = {
        "approve": "approved",
        "reject": "rejected",
        "edit": "edited",
        "expire": "expired",
        "publish": "published",
        "publish_failed": "refused by the platform",
    }[last.action]
    return (
        f"draft {draft_id} was {done} by {last.actor}{where} at {when}; it is now "
        f"{draft.status} "
        f"(version {draft.version})"
    )
