"""Rendering run summaries (markdown for Prefect artifacts)."""

from __future__ import annotations

from collections.abc import Sequence

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
