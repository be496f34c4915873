"""How the weekly report's figures read in words: durations, shares, the summary lines.

Shared by every format (:mod:`socialops.report.render` for Markdown, JSON and CSV,
:mod:`socialops.report.render_html` for the page) and by the notification summary.
"""

from __future__ import annotations

from typing import Any

from socialops.report.metrics import WeeklyReport

NOT_RECORDED = "not recorded"

APPROVAL_COUNTS = ("requested", "approved", "rejected", "expired", "pending", "without_sign_off")
PUBLISHING_COUNTS = ("replies", "posts", "failures", "expired_posts")


def duration(seconds: int | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def points(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:+.1f} pp"


def term_list(themes: dict[str, Any], dept: str) -> list[str]:
    return [f"{t['term']} ({t['mentions']})" for t in themes["terms"].get(dept, [])]


def count_of(block: dict[str, Any], part: str, key: str) -> int | None:
    value = block.get(part, {}).get(key)
    return None if value is None else int(value)


def summary_lines(report: WeeklyReport) -> list[str]:
    overall = report.response_time["overall"]["all"]
    sla = report.sla
    share, change = report.sentiment["share"], report.sentiment["change_in_share"]
    return [
        f"{report.total} mentions ({report.urgent} urgent) over {report.hours:g} h; "
        + ", ".join(f"{k} {v}" for k, v in report.volume_by_channel.items()),
        f"first response: median {duration(overall['median_seconds'])}, "
        f"p90 {duration(overall['p90_seconds'])}",
        f"SLA: {percent(sla['compliance'])} met ({sla['met']} met, {sla['breached']} breached)"
        + (f"; worst: {', '.join(sla['worst'][:3])}" if sla["worst"] else ""),
        "sentiment: "
        + ", ".join(
            f"{s} {percent(share[s])} ({points(change[s])})"
            for s in ("negative", "neutral", "positive")
        ),
        f"quarantined: {report.quarantine['total']}; "
        f"sent to triage: {percent(report.triage_share)}",
        *([correction_line(report.corrections)] if report.corrections else []),
        approvals_line(report),
        publishing_line(report),
        *queue_lines(report),
        *terms_lines(report),
    ]


def correction_line(co: dict[str, Any]) -> str:
    """How often people corrected the classifier's department this week."""
    return (
        f"classifier corrected by people: {co['corrected']} of {co['decisions']} mentions "
        f"({percent(co['share_corrected'])})"
    )


def approvals_line(report: WeeklyReport) -> str:
    ap = report.approvals
    if ap["status"] == NOT_RECORDED:
        return f"approvals: {NOT_RECORDED}"
    t = ap["turnaround"]
    return (
        f"approvals: {ap['requested']} requested, {ap['approved']} approved, "
        f"{ap['rejected']} rejected, {ap['expired']} expired, {ap['pending']} pending; "
        f"turnaround median {duration(t['median_seconds'])}, p90 {duration(t['p90_seconds'])}"
    )


def publishing_line(report: WeeklyReport) -> str:
    pub = report.publishing
    if pub["status"] == NOT_RECORDED:
        return f"publishing: {NOT_RECORDED}"
    return (
        f"published: {pub['replies']} replies, {pub['posts']} planned posts; "
        f"{pub['failures']} failed, {pub['expired_posts']} planned posts missed"
    )


def queue_lines(report: WeeklyReport) -> list[str]:
    qt = report.queue_time
    if not qt or not qt["waited_in_queue"]:
        return []
    first, waited = qt["time_to_first_owner"], qt["time_in_queue"]
    return [
        f"queue: {qt['waited_in_queue']} items waited "
        f"(median {duration(waited['median_seconds'])}, p90 {duration(waited['p90_seconds'])}), "
        f"{qt['still_queued']} still queued; time to first owner median "
        f"{duration(first['median_seconds'])}, p90 {duration(first['p90_seconds'])}"
    ]


def terms_lines(report: WeeklyReport, per_department: int = 3) -> list[str]:
    th = report.themes
    if not th or not th["terms"]:
        return []
    parts = [
        f"{dept} ({', '.join(t['term'] for t in terms[:per_department])})"
        for dept, terms in th["terms"].items()
        if terms
    ]
    if not parts:
        return []
    sample = " (from a sample)" if th["terms_source"]["sampled"] else ""
    return [f"heard most{sample}: " + "; ".join(parts)]
