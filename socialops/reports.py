"""Rendering run summaries (markdown for Prefect artifacts)."""

from __future__ import annotations

from collections.abc import Sequence

from socialops.classification.store import BatchResult, UrgentItem
from socialops.ingest import ChannelResult
from socialops.notify import DeliveryRun
from socialops.routing import RoutingCycle
from socialops.text_safety import neutralise


def _cell(text: str) -> str:
    """A markdown table cell or list item: one line, no pipes, no control characters."""
    return neutralise(text).replace("|", "\\|").replace("\n", " ").replace("\t", " ")


def resume_note(result: ChannelResult) -> str:
    """``resumes after 12:05:00 UTC`` for a rate-limited channel, else empty."""
    if result.resume_at is None:
        return ""
    return f"resumes after {result.resume_at.strftime('%H:%M:%S')} UTC (the next run continues)"


def ingest_summary_markdown(results: Sequence[ChannelResult], failures: dict[str, str]) -> str:
    """One row per channel (fetched = stored + already stored + quarantined + skipped +
    outside window; the re-read behind the position apart), then the reasons.

    A channel that failed shows what it committed before the failure, and when it resumes.
    """
    lines = [
        "# Mentions ingested",
        "",
        "| channel | platform | pages | fetched | stored | already stored | quarantined "
        "| skipped | outside window | re-read (late) | seconds | status |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    with_results = set()
    for r in results:
        with_results.add(r.channel)
        if r.error is not None or r.channel in failures:
            reason = failures.get(r.channel) or r.error or ""
            note = resume_note(r)
            status = f"**failed** (figures: committed before it): {_cell(reason)}"
            if note:
                status += f"; {note}"
        elif r.backfill_complete:
            status = "ok"
        else:
            status = "ok (backfill continues next run)"
        f = r.accounted()
        lines.append(
            f"| {r.channel} | {r.platform} | {r.pages} | {f['fetched']} | {f['stored']} "
            f"| {f['already_stored']} | {f['quarantined']} | {f['skipped']} "
            f"| {f['outside_window']} | {r.rechecked} ({r.late}) | {r.seconds:.2f} | {status} |"
        )
    for name, reason in sorted(failures.items()):
        if name not in with_results:
            lines.append(f"| {name} | | | | | | | | | | | **failed**: {_cell(reason)} |")
    reasons: dict[str, int] = {}
    skipped: dict[str, int] = {}
    for r in results:
        for reason, n in r.quarantine_reasons.items():
            reasons[reason] = reasons.get(reason, 0) + n
        for reason, n in r.skipped.items():
            skipped[reason] = skipped.get(reason, 0) + n
        if twice := r.repeated - r.repeated_rechecked:
            reason = "served twice by the platform in this run (taken once)"
            skipped[reason] = skipped.get(reason, 0) + twice
    if reasons:
        lines += ["", "## Quarantined (kept with the reason, not stored)", ""]
        lines += [f"- {n} × {_cell(reason)}" for reason, n in sorted(reasons.items())]
    if skipped:
        lines += ["", "## Skipped (not mentions, or served twice)", ""]
        lines += [f"- {n} × {_cell(reason)}" for reason, n in sorted(skipped.items())]
    return "\n".join(lines) + "\n"


def classification_summary_markdown(
    batches: Sequence[BatchResult], *, urgent_limit: int = 50
) -> str:
    """Per department counts, then every urgent mention with the reason it is urgent."""
    departments: dict[str, int] = {}
    for batch in batches:
        for department, n in batch.departments.items():
            departments[department] = departments.get(department, 0) + n
    total = sum(b.classified for b in batches)
    versions = sorted({b.model_version for b in batches if b.model_version})
    lines = [
        "# Mentions classified",
        "",
        f"{total} classified ({sum(b.new for b in batches)} new, "
        f"{sum(b.changed for b in batches)} changed, {sum(b.unchanged for b in batches)} "
        f"unchanged); model {', '.join(versions) or '-'}",
        "",
        "| department | mentions |",
        "|---|---:|",
    ]
    lines += [f"| {d} | {n} |" for d, n in sorted(departments.items(), key=lambda x: -x[1])]
    urgent: list[UrgentItem] = [u for b in batches for u in b.urgent]
    lines += ["", f"## Urgent ({len(urgent)})", ""]
    if urgent:
        lines += ["| mention | department | text | why |", "|---:|---|---|---|"]
        lines += [
            f"| {u.mention_id} | {u.department} | {_cell(u.text[:120])} | {_cell(u.why)} |"
            for u in urgent[:urgent_limit]
        ]
        if len(urgent) > urgent_limit:
            lines.append(f"\n…and {len(urgent) - urgent_limit} more.")
    return "\n".join(lines) + "\n"


def _counts_table(title: str, counts: dict[str, int], name: str) -> list[str]:
    if not counts:
        return []
    lines = ["", f"## {title}", "", f"| {name} | items |", "|---|---:|"]
    ranked = sorted(counts.items(), key=lambda x: (-x[1], x[0]))
    return lines + [f"| {_cell(key)} | {n} |" for key, n in ranked]


def _delivery_line(delivery: DeliveryRun) -> str:
    return (
        f"Notifications: {delivery.sent} sent ({delivery.urgent_sent} urgent), "
        f"{delivery.failed} failed (retried later), "
        f"{delivery.gave_up} given up, {delivery.no_target} with no target configured, "
        f"{delivery.skipped} no longer needed."
    )


def routing_did_something(cycle: RoutingCycle) -> bool:
    """Whether a routing or escalation run changed or sent anything: a run that did nothing
    publishes no artifact, so the UI's latest version stays the last one that mattered."""
    d = cycle.delivery
    sent = d.sent + d.failed + d.gave_up + d.no_target + d.skipped
    route, esc = cycle.route, cycle.escalation
    changed_route = route is not None and (
        route.routed or route.queued or route.unassigned or route.changes or route.relabelled
    )
    changed_esc = esc is not None and (
        esc.handed_over or esc.requeued or esc.escalated or esc.skipped_steps or esc.reminded
    )
    return bool(sent or changed_route or changed_esc)


def routing_summary_markdown(cycle: RoutingCycle, *, change_limit: int = 50) -> str:
    """What one route-mentions or escalate-overdue run did, for a person in the Prefect UI:
    who was given what, per department and person, what waits in the queues, what was sent."""
    lines: list[str] = []
    if (route := cycle.route) is not None:
        lines += [
            "# Mentions routed",
            "",
            f"{route.routed} given an owner ({route.urgent} urgent, {route.from_queue} taken "
            f"from the queues), {route.queued} new ones queued for their department, "
            f"{route.unassigned} left for the next run with nobody on duty; "
            f"{route.deferred} notices held for business hours.",
        ]
        lines += _counts_table("Given an owner, per department", route.by_department, "department")
        lines += _counts_table("Given an owner, per person", route.by_assignee, "person")
        lines += _counts_table("Waiting in the queues after this run", route.queue, "department")
        if route.changes:
            lines += ["", f"## Reclassified ({len(route.changes)})", ""]
            lines += [f"- {_cell(change)}" for change in route.changes[:change_limit]]
    if (esc := cycle.escalation) is not None:
        lines += [
            "# Hand-over and escalation",
            "",
            f"{esc.handed_over} handed over at shift ends ({esc.requeued} back to their queue), "
            f"{esc.escalated} escalation steps ({esc.skipped_steps} with nobody to take them), "
            f"{esc.reminded} reminders; {esc.deferred} notices held for business hours.",
        ]
        if esc.steps:
            lines += ["", f"## Escalation steps ({len(esc.steps)})", ""]
            lines += [f"- {_cell(step)}" for step in esc.steps[:change_limit]]
    lines += ["", _delivery_line(cycle.delivery), ""]
    return "\n".join(lines)
