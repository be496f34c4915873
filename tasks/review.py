"""Review tasks: what the approver sees in the Prefect UI, and applying their decision."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from socialops.config import load_config
from socialops.db import session_scope
from socialops.rota.schedule import engine_for
from socialops.settings import get_settings
from socialops.signoff import approvals, drafts


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
) -> str:
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
        return f"draft {row.id}: {decision} by {approver} recorded; now {row.status}"
