"""Rendering run summaries (markdown for Prefect artifacts)."""

from __future__ import annotations

from collections.abc import Sequence

from socialops.classification.store import BatchResult, UrgentItem
from socialops.ingest import ChannelResult
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
    """One row per channel (stored, duplicates, quarantined, skipped), then the reasons.

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
        lines.append(
            f"| {r.channel} | {r.platform} | {r.pages} | {r.fetched} | {r.stored} "
            f"| {r.duplicates} | {r.quarantined} | {sum(r.skipped.values())} "
            f"| {r.outside_window} | {r.rechecked} ({r.late}) | {r.seconds:.2f} | {status} |"
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
    if reasons:
        lines += ["", "## Quarantined (kept with the reason, not stored)", ""]
        lines += [f"- {n} × {_cell(reason)}" for reason, n in sorted(reasons.items())]
    if skipped:
        lines += ["", "## Skipped (not mentions)", ""]
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
