"""Rendering run summaries (markdown for Prefect artifacts)."""

from __future__ import annotations

from collections.abc import Sequence

from socialops.classification.store import BatchResult, UrgentItem
from socialops.ingest import ChannelResult


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def ingest_summary_markdown(results: Sequence[ChannelResult], failures: dict[str, str]) -> str:
    """One row per channel (stored, duplicates, quarantined, skipped), then the reasons."""
    lines = [
        "# Mentions ingested",
        "",
        "| channel | platform | pages | fetched | stored | already stored | quarantined "
        "| skipped | outside window | seconds | status |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        status = "ok" if r.backfill_complete else "ok (backfill continues next run)"
        lines.append(
            f"| {r.channel} | {r.platform} | {r.pages} | {r.fetched} | {r.stored} "
            f"| {r.duplicates} | {r.quarantined} | {sum(r.skipped.values())} "
            f"| {r.outside_window} | {r.seconds:.2f} | {status} |"
        )
    for name, reason in sorted(failures.items()):
        lines.append(f"| {name} | | | | | | | | | | **failed**: {_cell(reason)} |")
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
