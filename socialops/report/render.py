"""The weekly report as HTML (one self-contained file, :mod:`socialops.report.render_html`),
Markdown, JSON and CSV.

Every piece of text that came from outside (mention text, authors, URLs, names) goes through
``html.escape`` in HTML and is neutralised in Markdown and CSV; the HTML has no scripts and
no external assets, and its content security policy forbids loading any.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Iterator
from typing import Any, Literal

from socialops.report.metrics import Percentiles, WeeklyReport
from socialops.report.render_html import to_html
from socialops.report.render_words import (
    APPROVAL_COUNTS,
    NOT_RECORDED,
    PUBLISHING_COUNTS,
    approvals_line,
    correction_line,
    count_of,
    duration,
    percent,
    publishing_line,
    summary_lines,
    term_list,
)

Format = Literal["html", "md", "json", "csv"]
FORMATS: tuple[Format, ...] = ("html", "md", "json", "csv")
__all__ = [
    "FORMATS",
    "Format",
    "render",
    "to_csv",
    "to_html",
    "to_json",
    "to_markdown",
]


def render(report: WeeklyReport, fmt: Format) -> str:
    if fmt == "html":
        return to_html(report)
    if fmt == "md":
        return to_markdown(report)
    if fmt == "json":
        return to_json(report)
    if fmt == "csv":
        return to_csv(report)
    raise ValueError(f"unknown format {fmt!r} (use {', '.join(FORMATS)})")


def to_json(report: WeeklyReport) -> str:
    return json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


Row = tuple[str, str, str, str]


def _rows(report: WeeklyReport) -> Iterator[Row]:
    """(section, key, measure, value): every figure of the report, flat."""
    yield "week", report.week, "start", report.start.isoformat()
    yield "week", report.week, "end", report.end.isoformat()
    yield "week", report.week, "hours", f"{report.hours:g}"
    yield "volume", "total", "mentions", str(report.total)
    for k, v in report.volume_by_channel.items():
        yield "volume_by_channel", k, "mentions", str(v)
    for k, v in report.volume_by_department.items():
        yield "volume_by_department", k, "mentions", str(v)
    for k, v in report.volume_by_day.items():
        yield "volume_by_day", k, "mentions", str(v)
    yield "volume", "urgent", "mentions", str(report.urgent)
    for s, v in report.sentiment["counts"].items():
        yield "sentiment", s, "mentions", str(v)
        change = report.sentiment["change_in_share"][s]
        yield "sentiment", s, "change_in_share", "" if change is None else str(change)
    for scope, block in _response_blocks(report):
        for part in ("all", "business_hours", "out_of_hours"):
            pct = Percentiles(**block[part])
            yield "response_time", scope, f"{part}_count", str(pct.count)
            yield "response_time", scope, f"{part}_median_seconds", _blank(pct.median_seconds)
            yield "response_time", scope, f"{part}_p90_seconds", _blank(pct.p90_seconds)
    for dept, fig in report.sla["by_department"].items():
        for key in ("met", "breached", "pending", "withdrawn", "compliance"):
            yield "sla", dept, key, _blank(fig[key])
    for dept, steps in report.escalations.items():
        for target, count in steps.items():
            yield "escalations", dept, target, str(count)
    for dept, count in report.backlog_at_end.items():
        yield "backlog_at_end", dept, "open", str(count)
    for p in report.oncall_load.people:
        for key in ("business_hours", "on_call_primary", "on_call_backup", "duty_manager"):
            yield "oncall_load", p.handle, f"{key}_hours", f"{getattr(p, key):g}"
        yield "oncall_load", p.handle, "items", str(p.items)
        yield "oncall_load", p.handle, "acted", str(p.acted)
    yield "oncall_load", "all", "fairness_ratio", _blank(report.oncall_load.fairness_ratio)
    yield "quarantine", "total", "items", str(report.quarantine["total"])
    for stage, count in report.quarantine["by_stage"].items():
        yield "quarantine", f"stage:{stage}", "items", str(count)
    if report.triage_share is not None:
        yield "volume", "triage", "share", str(report.triage_share)
    yield from _signoff_rows(report)
    yield from _queue_rows(report)
    yield from _theme_rows(report)
    yield from _correction_rows(report)


def _durations(section: str, key: str, name: str, block: dict[str, Any]) -> Iterator[Row]:
    yield section, key, f"{name}_count", str(block.get("count", 0))
    yield section, key, f"{name}_median_seconds", _blank(block.get("median_seconds"))
    yield section, key, f"{name}_p90_seconds", _blank(block.get("p90_seconds"))


QUEUE_COUNTS = ("waited_in_queue", "still_queued", "without_owner")


def _signoff_rows(report: WeeklyReport) -> Iterator[Row]:
    ap, pub = report.approvals, report.publishing
    yield "approvals", "all", "status", str(ap["status"])
    if ap["status"] != NOT_RECORDED:
        for key in APPROVAL_COUNTS:
            yield "approvals", "all", key, str(ap[key])
        yield from _durations("approvals", "all", "turnaround", ap["turnaround"])
        for dept, fig in ap["by_department"].items():
            for key in APPROVAL_COUNTS:
                yield "approvals", dept, key, str(fig[key])
            yield from _durations("approvals", dept, "turnaround", fig["turnaround"])
    yield "publishing", "all", "status", str(pub["status"])
    if pub["status"] != NOT_RECORDED:
        for key in PUBLISHING_COUNTS:
            yield "publishing", "all", key, str(pub[key])
        for channel, fig in pub["by_channel"].items():
            for key in PUBLISHING_COUNTS:
                yield "publishing", channel, key, str(fig[key])


def _queue_rows(report: WeeklyReport) -> Iterator[Row]:
    qt = report.queue_time
    if not qt:
        return
    for key in QUEUE_COUNTS:
        yield "queue_time", "all", key, str(qt[key])
    yield from _durations("queue_time", "all", "to_first_owner", qt["time_to_first_owner"])
    yield from _durations("queue_time", "all", "in_queue", qt["time_in_queue"])
    for dept, fig in qt["by_department"].items():
        for key in QUEUE_COUNTS:
            yield "queue_time", dept, key, str(fig[key])
        yield from _durations("queue_time", dept, "to_first_owner", fig["time_to_first_owner"])
        yield from _durations("queue_time", dept, "in_queue", fig["time_in_queue"])


def _correction_rows(report: WeeklyReport) -> Iterator[Row]:
    co = report.corrections
    if not co:
        return
    for key in ("decisions", "corrected", "share_corrected"):
        yield "corrections", "all", key, _blank(co[key])
    for dept, fig in co["by_department"].items():
        for key in ("decisions", "corrected", "share_corrected"):
            yield "corrections", dept, key, _blank(fig[key])
    for move, count in co["moved"].items():
        yield "corrections_moved", move, "mentions", str(count)


def _theme_rows(report: WeeklyReport) -> Iterator[Row]:
    th = report.themes
    if not th:
        return
    for dept, counts in th["intents"].items():
        for intent, count in counts.items():
            yield "themes", dept, intent, str(count)
    source = th["terms_source"]
    yield "terms", "all", "sampled", str(source["sampled"]).lower()
    yield "terms", "all", "mentions_read", str(source["mentions_read"])
    for dept, terms in th["terms"].items():
        for rank, term in enumerate(terms, start=1):
            yield "terms", dept, f"term_{rank}", term["term"]
            yield "terms", dept, f"term_{rank}_mentions", str(term["mentions"])


def _blank(value: object) -> str:
    return "" if value is None else str(value)


def _response_blocks(report: WeeklyReport) -> Iterator[tuple[str, dict[str, Any]]]:
    yield "all", report.response_time["overall"]
    for d, block in report.response_time["by_department"].items():
        yield f"department:{d}", block
    for ch, block in report.response_time["by_channel"].items():
        yield f"channel:{ch}", block


def _csv_safe(value: str) -> str:
    # A cell starting with = + - @ would be a formula in a spreadsheet.
    return "'" + value if value[:1] in ("=", "+", "-", "@") and not _number(value) else value


def _number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def to_csv(report: WeeklyReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("section", "key", "measure", "value"))
    for row in _rows(report):
        writer.writerow([_csv_safe(cell) for cell in row])
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# Markdown (the Prefect artifact and the notification summary)
# --------------------------------------------------------------------------------------------


def _md(text: str) -> str:
    """Mention text inside a Markdown table cell: no markup, no HTML, one line."""
    out = html.escape(" ".join(text.split()), quote=False)
    for ch in "\\`*_[]|#<>!":
        out = out.replace(ch, "\\" + ch)
    return out


def to_markdown(report: WeeklyReport) -> str:
    lines = [f"# Weekly report {report.week}: {report.organisation}", ""]
    lines += [
        f"{report.start.isoformat()} to {report.end.isoformat()} ({report.timezone}, "
        f"{report.hours:g} h)",
        "",
    ]
    lines += [f"- {line}" for line in summary_lines(report)]
    lines += ["", "## Volume", "", *_volume_md(report)]
    lines += ["", "## First response and SLA", "", *_sla_md(report)]
    lines += ["", "## On-call load", "", *_oncall_md(report)]
    lines += ["", "## Time in queue", "", *_queue_md(report)]
    lines += ["", "## Approvals and publishing", "", *_signoff_md(report)]
    lines += ["", "## What the community said", "", *_themes_md(report)]
    lines += ["", "## Classification corrections", "", *_corrections_md(report)]
    lines += ["", "### Notable mentions", "", *_notable_md(report)]
    return "\n".join(lines) + "\n"


def _volume_md(report: WeeklyReport) -> list[str]:
    lines = ["| channel | mentions |", "|---|---:|"]
    lines += [f"| {_md(k)} | {v} |" for k, v in report.volume_by_channel.items()]
    lines += ["", "| department | mentions | urgent |", "|---|---:|---:|"]
    lines += [
        f"| {_md(k)} | {v} | {report.urgent_by_department.get(k, 0)} |"
        for k, v in report.volume_by_department.items()
    ]
    return lines


def _sla_md(report: WeeklyReport) -> list[str]:
    lines = [
        "| department | median | p90 | median (business hours) | median (out of hours) "
        "| met | breached | compliance | escalations | backlog at end |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for dept, fig in report.sla["by_department"].items():
        rt = report.response_time["by_department"].get(dept, {})
        lines.append(
            f"| {_md(dept)} | {duration(count_of(rt, 'all', 'median_seconds'))} "
            f"| {duration(count_of(rt, 'all', 'p90_seconds'))} "
            f"| {duration(count_of(rt, 'business_hours', 'median_seconds'))} "
            f"| {duration(count_of(rt, 'out_of_hours', 'median_seconds'))} "
            f"| {fig['met']} | {fig['breached']} | {percent(fig['compliance'])} "
            f"| {sum(report.escalations.get(dept, {}).values())} "
            f"| {report.backlog_at_end.get(dept, 0)} |"
        )
    return lines


def _oncall_md(report: WeeklyReport) -> list[str]:
    lines = [
        "| person | business hours | on call (primary) | backup | duty manager | out-of-hours "
        "share | items | acted |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {_md(p.name)} | {p.business_hours:g} | {p.on_call_primary:g} "
        f"| {p.on_call_backup:g} | {p.duty_manager:g} | {percent(p.out_of_hours_share)} "
        f"| {p.items} | {p.acted} |"
        for p in report.oncall_load.people
    ]
    ratio = report.oncall_load.fairness_ratio
    return [
        *lines,
        "",
        f"Fairness (max/min primary on-call hours): {'–' if ratio is None else ratio}"
        + (f" ({report.oncall_load.fairness_note})" if report.oncall_load.fairness_note else ""),
    ]


def _queue_md(report: WeeklyReport) -> list[str]:
    qt = report.queue_time
    if not (qt and qt["by_department"]):
        return ["No item waited in a queue this week."]
    return [
        "| department | waited in a queue | still queued | time to first owner "
        "(median) | p90 | time in queue (median) | p90 |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {_md(dept)} | {fig['waited_in_queue']} | {fig['still_queued']} "
            f"| {duration(fig['time_to_first_owner']['median_seconds'])} "
            f"| {duration(fig['time_to_first_owner']['p90_seconds'])} "
            f"| {duration(fig['time_in_queue']['median_seconds'])} "
            f"| {duration(fig['time_in_queue']['p90_seconds'])} |"
            for dept, fig in qt["by_department"].items()
        ),
    ]


def _signoff_md(report: WeeklyReport) -> list[str]:
    lines = [f"- {approvals_line(report)}", f"- {publishing_line(report)}"]
    ap, pub = report.approvals, report.publishing
    if ap["status"] != NOT_RECORDED and ap["by_department"]:
        lines += [
            "",
            "| department | requested | approved | rejected | expired | pending "
            "| without sign-off | turnaround (median) | p90 |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {_md(dept)} | {fig['requested']} | {fig['approved']} | {fig['rejected']} "
            f"| {fig['expired']} | {fig['pending']} | {fig['without_sign_off']} "
            f"| {duration(fig['turnaround']['median_seconds'])} "
            f"| {duration(fig['turnaround']['p90_seconds'])} |"
            for dept, fig in ap["by_department"].items()
        ]
    if pub["status"] != NOT_RECORDED and pub["by_channel"]:
        lines += [
            "",
            "| channel | replies | planned posts | failed | planned posts missed |",
            "|---|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {_md(ch)} | {fig['replies']} | {fig['posts']} | {fig['failures']} "
            f"| {fig['expired_posts']} |"
            for ch, fig in pub["by_channel"].items()
        ]
    return lines


def _themes_md(report: WeeklyReport) -> list[str]:
    th = report.themes
    if not (th and th["intents"]):
        return ["No classified mentions this week."]
    return [
        "| department | urgent | complaints | praise | questions | distinctive terms |",
        "|---|---:|---:|---:|---:|---|",
        *(
            f"| {_md(dept)} | {n['urgent']} | {n['complaint']} | {n['praise']} "
            f"| {n['question']} | {_md(', '.join(term_list(th, dept)) or '–')} |"
            for dept, n in th["intents"].items()
        ),
        "",
        f"_{_md(th['terms_source']['note'])}._",
    ]


def _corrections_md(report: WeeklyReport) -> list[str]:
    co = report.corrections
    if not (co and co["decisions"]):
        return ["No classified mentions this week."]
    lines = [correction_line(co)]
    if co["corrected"]:
        lines += [
            "",
            "| department (as classified) | decisions | corrected | share |",
            "|---|---:|---:|---:|",
            *(
                f"| {_md(dept)} | {fig['decisions']} | {fig['corrected']} "
                f"| {percent(fig['share_corrected'])} |"
                for dept, fig in co["by_department"].items()
            ),
            "",
            "Moves: " + _md(", ".join(f"{move} ({n})" for move, n in co["moved"].items())) + ".",
        ]
    return lines


def _notable_md(report: WeeklyReport) -> list[str]:
    notable = report.notable["urgent"] + report.notable["most_followed"]
    if not notable:
        return ["None this week."]
    return [
        "| mention | author | followers | department | text |",
        "|---:|---|---:|---|---|",
        *(
            f"| {x.mention_id} | {_md(x.author)} | {x.followers} | {_md(x.department or '–')}"
            f"{' (urgent)' if x.urgent else ''} | {_md(x.text[:160])} |"
            for x in notable
        ),
    ]
