"""What the sign-off flows did, as Markdown for their Prefect artifacts.

``draft-replies`` publishes :func:`drafts_markdown` (key ``draft-replies-summary``) and
``review-draft`` publishes :func:`review_markdown` (key ``review-draft-<id>``, so one draft's
decisions line up in the UI); a run that did nothing publishes none, so a quiet minute never
replaces the last busy one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from socialops.signoff.drafts import DraftRun


def _table(title: str, counts: Counter[str]) -> list[str]:
    if not counts:
        return []
    lines = [f"| {title} | drafts |", "|---|---:|"]
    lines += [
        f"| {key} | {n} |" for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return [*lines, ""]


def drafts_markdown(run: DraftRun) -> str:
    """One drafting run: drafts per department, channel and language, what was skipped and
    why, approvers notified, planned posts expired, review runs."""
    pending = len(run.pending_ids)
    lines = [
        "# Reply drafts",
        "",
        f"- **{run.drafted}** drafts written: {pending} wait for sign-off, "
        f"{run.approved_without_sign_off} approved by policy (no sign-off required)",
        f"- **{run.notified}** approver notices queued (held for business hours where the "
        "department is closed, urgent ones at once)",
        f"- **{run.expired}** planned posts expired (their time passed before publication)",
    ]
    if run.review_runs:
        lines.append(f"- {run.review_runs}")
    lines.append("")
    lines += _table("department", run.by_department)
    lines += _table("channel", run.by_channel)
    lines += _table("language", run.by_language)
    if run.skipped:
        lines += ["## Not drafted", "", "| why | open items |", "|---|---:|"]
        lines += [f"| {why} | {n} |" for why, n in sorted(run.skipped.items())]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


@dataclass(frozen=True)
class ReviewDecision:
    """A decision recorded from the Prefect UI."""

    draft_id: int
    decision: str  # approve, reject, edit
    approver: str  # handle
    approver_name: str
    at: str  # ISO 8601, UTC
    status: str  # the draft's status afterwards
    version: int
    approvals: str  # "1/2"
    reason: str = ""

    def line(self) -> str:
        return (
            f"draft {self.draft_id}: {self.decision} by {self.approver} recorded; now {self.status}"
        )


def review_markdown(decision: ReviewDecision) -> str:
    verb = {"approve": "Approved", "reject": "Rejected", "edit": "Edited"}[decision.decision]
    lines = [
        f"# Draft {decision.draft_id}: {verb.lower()} in the Prefect UI",
        "",
        "| | |",
        "|---|---|",
        f"| decision | **{verb}** |",
        f"| by | {decision.approver_name} (`{decision.approver}`) |",
        f"| when | {decision.at} |",
        f"| draft now | {decision.status}, version {decision.version}, "
        f"approvals {decision.approvals} |",
    ]
    if decision.reason:
        lines.append(f"| reason | {' '.join(decision.reason.split()).replace('|', '/')} |")
    return "\n".join(lines) + "\n"
