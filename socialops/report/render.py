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


def _durations(section: str, key: str, name: str, block: dict[str, Any]) -> Iterator[Row]:
    yield section, key, f"{name}_count", str(block.get("count", 0))
    yield section, key, f"{name}_median_seconds", _blank(block.get("median_seconds"))
    yield section, key, f"{name}_p90_seconds", _blank(block.get("p90_seconds"))


APPROVAL_COUNTS = ("requested", "approved", "rejected", "expired", "pending", "without_sign_off")
PUBLISHING_COUNTS = ("replies", "posts", "failures", "expired_posts")
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
        approvals_line(report),
        publishing_line(report),
        *queue_lines(report),
        *terms_lines(report),
    ]


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
            f"| {_md(dept)} | {duration(_get(rt, 'all', 'median_seconds'))} "
            f"| {duration(_get(rt, 'all', 'p90_seconds'))} "
            f"| {duration(_get(rt, 'business_hours', 'median_seconds'))} "
            f"| {duration(_get(rt, 'out_of_hours', 'median_seconds'))} "
            f"| {fig['met']} | {fig['breached']} | {_pct(fig['compliance'])} "
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
        f"| {p.on_call_backup:g} | {p.duty_manager:g} | {_pct(p.out_of_hours_share)} "
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
            f"| {n['question']} | {_md(', '.join(_terms(th, dept)) or '–')} |"
            for dept, n in th["intents"].items()
        ),
        "",
        f"_{_md(th['terms_source']['note'])}._",
    ]


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


def _terms(themes: dict[str, Any], dept: str) -> list[str]:
    return [f"{t['term']} ({t['mentions']})" for t in themes["terms"].get(dept, [])]


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
    parts = [
        *_head_html(report),
        "<h2>Volume</h2>",
        *_volume_html(report, svg),
        "<h2>Sentiment</h2>",
        *_sentiment_html(report, svg),
        "<h2>First response and SLA</h2>",
        *_sla_html(report),
        "<h2>On-call load</h2>",
        *_oncall_html(report),
        "<h2>Time in queue</h2>",
        *_queue_html(report),
        "<h2>Approvals and publishing</h2>",
        *_signoff_html(report),
        "<h2>What the community said</h2>",
        *_themes_html(report),
        "<h3>Urgent mentions</h3>",
        _table(NOTABLE_HEAD, _notable_rows(report.notable["urgent"]), {0, 2}),
        "<h3>Most-followed authors</h3>",
        _table(NOTABLE_HEAD, _notable_rows(report.notable["most_followed"]), {0, 2}),
        "<h2>Data quality</h2>",
        *_quality_html(report),
        "</main></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _head_html(report: WeeklyReport) -> list[str]:
    """The page's head, title and the headline cards."""
    overall = report.response_time["overall"]
    cards = [
        ("mentions", f"{report.total:,}"),
        ("urgent", f"{report.urgent:,}"),
        ("median first response", duration(overall["all"]["median_seconds"])),
        ("p90 first response", duration(overall["all"]["p90_seconds"])),
        ("SLA met", _pct(report.sla["compliance"])),
        ("quarantined", f"{report.quarantine['total']:,}"),
    ]
    return [
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
    ]


def _volume_html(report: WeeklyReport, svg: dict[str, str]) -> list[str]:
    channel_rows = [
        [
            _e(ch),
            str(report.volume_by_channel.get(ch, 0)),
            duration(_get(block, "all", "median_seconds")),
            duration(_get(block, "all", "p90_seconds")),
        ]
        for ch, block in report.response_time["by_channel"].items()
    ]
    department_rows = [
        [_e(k), str(v), str(report.urgent_by_department.get(k, 0))]
        for k, v in report.volume_by_department.items()
    ]
    return [
        svg["by_day"],
        svg["heatmap"],
        svg["by_department"],
        _table(["department", "mentions", "urgent"], department_rows, {1, 2}),
        _table(["channel", "mentions", "median first response", "p90"], channel_rows, {1, 2, 3}),
        f'<p class="muted">Sent to triage: {_pct(report.triage_share)}</p>',
    ]


def _sentiment_html(report: WeeklyReport, svg: dict[str, str]) -> list[str]:
    rows = [
        [
            _e(s),
            str(report.sentiment["counts"][s]),
            _pct(report.sentiment["share"][s]),
            _pct(report.sentiment["previous_share"][s]),
            _pp(report.sentiment["change_in_share"][s]),
        ]
        for s in ("negative", "neutral", "positive")
    ]
    head = ["sentiment", "mentions", "share", "previous week", "change"]
    return [svg["sentiment"], _table(head, rows, {1, 2, 3, 4})]


SLA_HEAD = [
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
]


def _sla_html(report: WeeklyReport) -> list[str]:
    rows = []
    for dept, fig in report.sla["by_department"].items():
        rt = report.response_time["by_department"].get(dept, {})
        rows.append(
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
    sla = report.sla
    worst = f"; worst: {_e(', '.join(sla['worst'][:3]))}" if sla["worst"] else ""
    return [
        f'<p class="muted">{_e(report.response_time["definition"])}. SLA as of '
        f"{_e(sla['as_of'])}: {sla['met']} met, {sla['breached']} breached{worst}.</p>",
        _table(SLA_HEAD, rows, set(range(1, 10))),
    ]


ONCALL_HEAD = [
    "person",
    "business hours",
    "on call (primary)",
    "backup",
    "duty manager",
    "out-of-hours share",
    "items",
    "acted",
]


def _oncall_html(report: WeeklyReport) -> list[str]:
    rows = [
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
    return [
        _table(ONCALL_HEAD, rows, set(range(1, 8))),
        f"<p>Fairness (max/min primary on-call hours): {'–' if ratio is None else ratio}"
        + (f' <span class="muted">({_e(note)})</span>' if note else "")
        + "</p>",
    ]


def _quality_html(report: WeeklyReport) -> list[str]:
    quarantine = report.quarantine
    stages = (
        "(" + ", ".join(f"{k}: {v}" for k, v in quarantine["by_stage"].items()) + ")"
        if quarantine["by_stage"]
        else ""
    )
    rows = [[_e(k), str(v)] for k, v in quarantine["by_channel"].items()]
    return [
        f"<p>Quarantined: {quarantine['total']} "
        + _e(stages)
        + f"; sent to triage: {_pct(report.triage_share)}</p>",
        _table(["channel", "items"], rows, {1}),
    ]


def _dur(block: dict[str, Any], key: str) -> str:
    return duration(block.get(key))


def _queue_html(report: WeeklyReport) -> list[str]:
    qt = report.queue_time
    if not qt:
        return ['<p class="nr">not recorded</p>']
    rows = [
        [
            _e(dept),
            str(fig["waited_in_queue"]),
            str(fig["still_queued"]),
            _dur(fig["time_to_first_owner"], "median_seconds"),
            _dur(fig["time_to_first_owner"], "p90_seconds"),
            _dur(fig["time_in_queue"], "median_seconds"),
            _dur(fig["time_in_queue"], "p90_seconds"),
        ]
        for dept, fig in qt["by_department"].items()
    ]
    return [
        f'<p class="muted">{_e(qt["definition"])}.</p>',
        _table(
            [
                "department",
                "waited in a queue",
                "still queued",
                "to first owner, median",
                "p90",
                "in queue, median",
                "p90",
            ],
            rows,
            set(range(1, 7)),
        ),
    ]


def _signoff_html(report: WeeklyReport) -> list[str]:
    ap, pub = report.approvals, report.publishing
    out: list[str] = []
    if ap["status"] == NOT_RECORDED:
        out.append(f'<p>Approvals: <span class="nr">{_e(NOT_RECORDED)}</span>.</p>')
    else:
        out.append(f"<p>{_e(approvals_line(report))}.</p>")
        out.append(f'<p class="muted">{_e(ap["definition"])}.</p>')
        out.append(
            _table(
                [
                    "department",
                    "requested",
                    "approved",
                    "rejected",
                    "expired",
                    "pending",
                    "without sign-off",
                    "turnaround, median",
                    "p90",
                ],
                [
                    [
                        _e(dept),
                        *(str(fig[k]) for k in APPROVAL_COUNTS),
                        _dur(fig["turnaround"], "median_seconds"),
                        _dur(fig["turnaround"], "p90_seconds"),
                    ]
                    for dept, fig in ap["by_department"].items()
                ],
                set(range(1, 9)),
            )
        )
    if pub["status"] == NOT_RECORDED:
        out.append(
            f'<p>Replies and planned posts published, failures: <span class="nr">'
            f"{_e(NOT_RECORDED)}</span>.</p>"
        )
    else:
        out.append(f"<p>{_e(publishing_line(report))}.</p>")
        out.append(
            _table(
                ["channel", "replies", "planned posts", "failed", "planned posts missed"],
                [
                    [_e(ch), *(str(fig[k]) for k in PUBLISHING_COUNTS)]
                    for ch, fig in pub["by_channel"].items()
                ],
                {1, 2, 3, 4},
            )
        )
    return out


def _themes_html(report: WeeklyReport) -> list[str]:
    th = report.themes
    if not th:
        return []
    rows = [
        [
            _e(dept),
            str(n["urgent"]),
            str(n["complaint"]),
            str(n["praise"]),
            str(n["question"]),
            f'<span class="text" dir="auto">{_e(", ".join(_terms(th, dept)) or "–")}</span>',
        ]
        for dept, n in th["intents"].items()
    ]
    return [
        "<h3>Themes and distinctive terms per department</h3>",
        _table(
            ["department", "urgent", "complaints", "praise", "questions", "distinctive terms"],
            rows,
            {1, 2, 3, 4},
        ),
        f'<p class="muted">{_e(th["terms_source"]["note"])}; '
        f"{_e(th['terms_source']['method'])}.</p>",
    ]
