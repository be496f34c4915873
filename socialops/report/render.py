"""The weekly report as HTML (one self-contained file), Markdown, JSON and CSV.

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

from socialops.report.metrics import NotableMention, Percentiles, WeeklyReport

Format = Literal["html", "md", "json", "csv"]
FORMATS: tuple[Format, ...] = ("html", "md", "json", "csv")
NOT_RECORDED = "not recorded"


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


def duration(seconds: int | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _pp(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:+.1f} pp"


def _rows(report: WeeklyReport) -> Iterator[tuple[str, str, str, str]]:
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
    yield "approvals", "all", "status", str(report.approvals["status"])
    yield "publishing", "all", "status", str(report.publishing["status"])


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


def summary_lines(report: WeeklyReport) -> list[str]:
    overall = report.response_time["overall"]["all"]
    sla = report.sla
    share, change = report.sentiment["share"], report.sentiment["change_in_share"]
    return [
        f"{report.total} mentions ({report.urgent} urgent) over {report.hours:g} h; "
        + ", ".join(f"{k} {v}" for k, v in report.volume_by_channel.items()),
        f"first response: median {duration(overall['median_seconds'])}, "
        f"p90 {duration(overall['p90_seconds'])}",
        f"SLA: {_pct(sla['compliance'])} met ({sla['met']} met, {sla['breached']} breached)"
        + (f"; worst: {', '.join(sla['worst'][:3])}" if sla["worst"] else ""),
        "sentiment: "
        + ", ".join(
            f"{s} {_pct(share[s])} ({_pp(change[s])})" for s in ("negative", "neutral", "positive")
        ),
        f"quarantined: {report.quarantine['total']}; sent to triage: {_pct(report.triage_share)}",
        f"approvals: {report.approvals['status']}; publishing: {report.publishing['status']}",
    ]


def to_markdown(report: WeeklyReport) -> str:
    lines = [f"# Weekly report {report.week}: {report.organisation}", ""]
    lines += [
        f"{report.start.isoformat()} to {report.end.isoformat()} ({report.timezone}, "
        f"{report.hours:g} h)",
        "",
    ]
    lines += [f"- {line}" for line in summary_lines(report)]
    lines += ["", "## Volume", "", "| channel | mentions |", "|---|---:|"]
    lines += [f"| {_md(k)} | {v} |" for k, v in report.volume_by_channel.items()]
    lines += ["", "| department | mentions | urgent |", "|---|---:|---:|"]
    lines += [
        f"| {_md(k)} | {v} | {report.urgent_by_department.get(k, 0)} |"
        for k, v in report.volume_by_department.items()
    ]
    lines += ["", "## First response and SLA", ""]
    lines += [
        "| department | median | p90 | median (business hours) | median (out of hours) "
        "| met | breached | compliance | escalations | backlog at end |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for dept, fig in report.sla["by_department"].items():
        rt = report.response_time["by_department"].get(dept, {})
        lines.append(
            f"| {_md(dept)} | {duration(_get(rt, 'all', 'median_seconds'))} "
            f"| {duration(_get(rt, 'all', 'p90_seconds'))} "
            f"| {duration(_get(rt, 'business_hours', 'median_seconds'))} "
            f"| {duration(_get(rt, 'out_of_hours', 'median_seconds'))} "
            f"| {fig['met']} | {fig['breached']} | {_pct(fig['compliance'])} "
            f"| {sum(report.escalations.get(dept, {}).values())} "
            f"| {report.backlog_at_end.get(dept, 0)} |"
        )
    lines += ["", "## On-call load", ""]
    lines += [
        "| person | business hours | on call (primary) | backup | duty manager | out-of-hours "
        "share | items | acted |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {_md(p.name)} | {p.business_hours:g} | {p.on_call_primary:g} "
        f"| {p.on_call_backup:g} | {p.duty_manager:g} | {_pct(p.out_of_hours_share)} "
        f"| {p.items} | {p.acted} |"
        for p in report.oncall_load.people
    ]
    ratio = report.oncall_load.fairness_ratio
    lines += [
        "",
        f"Fairness (max/min primary on-call hours): {'–' if ratio is None else ratio}"
        + (f" ({report.oncall_load.fairness_note})" if report.oncall_load.fairness_note else ""),
    ]
    lines += ["", "## Approvals and publishing", ""]
    lines += [
        f"- approvals: {report.approvals['status']}",
        f"- publishing: {report.publishing['status']}",
    ]
    lines += ["", "## Notable mentions", ""]
    notable = report.notable["urgent"] + report.notable["most_followed"]
    if notable:
        lines += ["| mention | author | followers | department | text |", "|---:|---|---:|---|---|"]
        lines += [
            f"| {x.mention_id} | {_md(x.author)} | {x.followers} | {_md(x.department or '–')}"
            f"{' (urgent)' if x.urgent else ''} | {_md(x.text[:160])} |"
            for x in notable
        ]
    else:
        lines.append("None this week.")
    return "\n".join(lines) + "\n"


def _get(block: dict[str, Any], part: str, key: str) -> int | None:
    value = block.get(part, {}).get(key)
    return None if value is None else int(value)


# --------------------------------------------------------------------------------------------
# HTML: one file, inline SVG, no script
# --------------------------------------------------------------------------------------------

_CSS = """
:root{color-scheme:light;--ink:#1d2a33;--muted:#5b6b75;--line:#dde3e7;--accent:#2f6f8f}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink)}
main{max-width:60rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.15rem;margin:1.6rem 0 .5rem;
border-bottom:2px solid var(--line);padding-bottom:.2rem}
.muted{color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(9rem,1fr));gap:.6rem}
.card{border:1px solid var(--line);border-radius:.5rem;padding:.6rem}
.card b{display:block;font-size:1.35rem}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{padding:.3rem .45rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
svg.chart{width:100%;height:auto;max-width:44rem;display:block;margin:.4rem 0}
.text{unicode-bidi:plaintext;overflow-wrap:anywhere}
.nr{font-style:italic;color:var(--muted)}
@media print{main{max-width:none;padding:0}h2{break-after:avoid}
table,svg.chart,.card{break-inside:avoid}a{color:inherit;text-decoration:none}}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(head: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    th = "".join(
        f"<th{' class=n' if i in numeric else ''}>{_e(h)}</th>" for i, h in enumerate(head)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=n' if i in numeric else ''}>{cell}</td>" for i, cell in enumerate(r)
        )
        + "</tr>"
        for r in rows
    )
    if not rows:
        body = f'<tr><td colspan="{len(head)}" class="muted">none this week</td></tr>'
    table = f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="scroll">{table}</div>'


NOTABLE_HEAD = ["mention", "author", "followers", "department", "text"]


def _notable_rows(items: list[NotableMention]) -> list[list[str]]:
    rows = []
    for x in items:
        link = (
            f'<a href="{_e(x.url)}" rel="noopener noreferrer nofollow">{x.mention_id}</a>'
            if x.url and x.url.startswith(("https://", "http://"))
            else str(x.mention_id)
        )
        rows.append(
            [
                link,
                f'<span class="text" dir="auto">{_e(x.author)}</span>',
                _e(f"{x.followers:,}"),
                _e((x.department or "–") + (" · urgent" if x.urgent else "")),
                f'<span class="text" dir="auto">{_e(x.text)}</span>',
            ]
        )
    return rows


def to_html(report: WeeklyReport, *, charts: dict[str, str] | None = None) -> str:
    from socialops.report.charts import all_charts

    svg = charts if charts is not None else all_charts(report)
    overall = report.response_time["overall"]
    cards = [
        ("mentions", f"{report.total:,}"),
        ("urgent", f"{report.urgent:,}"),
        ("median first response", duration(overall["all"]["median_seconds"])),
        ("p90 first response", duration(overall["all"]["p90_seconds"])),
        ("SLA met", _pct(report.sla["compliance"])),
        ("quarantined", f"{report.quarantine['total']:,}"),
    ]
    sla_rows = []
    for dept, fig in report.sla["by_department"].items():
        rt = report.response_time["by_department"].get(dept, {})
        sla_rows.append(
            [
                _e(dept),
                duration(_get(rt, "all", "median_seconds")),
                duration(_get(rt, "all", "p90_seconds")),
                duration(_get(rt, "business_hours", "median_seconds")),
                duration(_get(rt, "out_of_hours", "median_seconds")),
                str(fig["met"]),
                str(fig["breached"]),
                _pct(fig["compliance"]),
                str(sum(report.escalations.get(dept, {}).values())),
                str(report.backlog_at_end.get(dept, 0)),
            ]
        )
    channel_rows = [
        [
            _e(ch),
            str(report.volume_by_channel.get(ch, 0)),
            duration(_get(block, "all", "median_seconds")),
            duration(_get(block, "all", "p90_seconds")),
        ]
        for ch, block in report.response_time["by_channel"].items()
    ]
    people_rows = [
        [
            _e(p.name),
            f"{p.business_hours:g}",
            f"{p.on_call_primary:g}",
            f"{p.on_call_backup:g}",
            f"{p.duty_manager:g}",
            _pct(p.out_of_hours_share),
            str(p.items),
            str(p.acted),
        ]
        for p in report.oncall_load.people
    ]
    ratio, note = report.oncall_load.fairness_ratio, report.oncall_load.fairness_note
    sentiment_rows = [
        [
            _e(s),
            str(report.sentiment["counts"][s]),
            _pct(report.sentiment["share"][s]),
            _pct(report.sentiment["previous_share"][s]),
            _pp(report.sentiment["change_in_share"][s]),
        ]
        for s in ("negative", "neutral", "positive")
    ]
    quarantine_rows = [[_e(k), str(v)] for k, v in report.quarantine["by_channel"].items()]
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # Nothing may load or run: styles and images are inline, scripts are not allowed.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">",
        f"<title>{_e(report.organisation)}: weekly report {_e(report.week)}</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f"<h1>{_e(report.organisation)}: weekly report {_e(report.week)}</h1>",
        f'<p class="muted">{_e(report.start.isoformat())} to {_e(report.end.isoformat())} '
        f"({_e(report.timezone)}, {report.hours:g} hours); made "
        f"{_e(report.generated_at.strftime('%Y-%m-%d %H:%M UTC'))}</p>",
        '<section class="cards">'
        + "".join(
            f'<div class="card"><span class="muted">{_e(k)}</span><b>{_e(v)}</b></div>'
            for k, v in cards
        )
        + "</section>",
        "<h2>Volume</h2>",
        svg["by_day"],
        svg["heatmap"],
        svg["by_department"],
        _table(
            ["department", "mentions", "urgent"],
            [
                [_e(k), str(v), str(report.urgent_by_department.get(k, 0))]
                for k, v in report.volume_by_department.items()
            ],
            {1, 2},
        ),
        _table(["channel", "mentions", "median first response", "p90"], channel_rows, {1, 2, 3}),
        f'<p class="muted">Sent to triage: {_pct(report.triage_share)}</p>',
        "<h2>Sentiment</h2>",
        svg["sentiment"],
        _table(
            ["sentiment", "mentions", "share", "previous week", "change"],
            sentiment_rows,
            {1, 2, 3, 4},
        ),
        "<h2>First response and SLA</h2>",
        f'<p class="muted">{_e(report.response_time["definition"])}. SLA as of '
        f"{_e(report.sla['as_of'])}: {report.sla['met']} met, {report.sla['breached']} breached"
        + (f"; worst: {_e(', '.join(report.sla['worst'][:3]))}" if report.sla["worst"] else "")
        + ".</p>",
        _table(
            [
                "department",
                "median",
                "p90",
                "median, business hours",
                "median, out of hours",
                "met",
                "breached",
                "compliance",
                "escalations",
                "backlog at end",
            ],
            sla_rows,
            set(range(1, 10)),
        ),
        "<h2>On-call load</h2>",
        _table(
            [
                "person",
                "business hours",
                "on call (primary)",
                "backup",
                "duty manager",
                "out-of-hours share",
                "items",
                "acted",
            ],
            people_rows,
            set(range(1, 8)),
        ),
        f"<p>Fairness (max/min primary on-call hours): {'–' if ratio is None else ratio}"
        + (f' <span class="muted">({_e(note)})</span>' if note else "")
        + "</p>",
        "<h2>Approvals and publishing</h2>",
        f'<p>Approvals: <span class="nr">{_e(report.approvals["status"])}</span>. '
        f'Replies and planned posts published, failures: <span class="nr">'
        f"{_e(report.publishing['status'])}</span>.</p>",
        "<h2>What the community said</h2>",
        "<h3>Urgent mentions</h3>",
        _table(NOTABLE_HEAD, _notable_rows(report.notable["urgent"]), {0, 2}),
        "<h3>Most-followed authors</h3>",
        _table(NOTABLE_HEAD, _notable_rows(report.notable["most_followed"]), {0, 2}),
        "<h2>Data quality</h2>",
        f"<p>Quarantined: {report.quarantine['total']}</p>",
        _table(["channel", "items"], quarantine_rows, {1}),
        "</main></body></html>",
    ]
    return "\n".join(parts) + "\n"
