"""The weekly report as one self-contained HTML page: inline SVG charts, no script.

Every piece of text that came from outside (mention text, authors, URLs, names) goes through
``html.escape``; the page has no scripts and no external assets, and its content security
policy forbids loading any.
"""

from __future__ import annotations

import html
from typing import Any

from socialops.report.metrics import NotableMention, WeeklyReport
from socialops.report.render_words import (
    APPROVAL_COUNTS,
    NOT_RECORDED,
    PUBLISHING_COUNTS,
    approvals_line,
    correction_line,
    count_of,
    duration,
    percent,
    points,
    publishing_line,
    term_list,
)

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
        "<h2>Classification corrections</h2>",
        *_corrections_html(report),
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
        ("SLA met", percent(report.sla["compliance"])),
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
            duration(count_of(block, "all", "median_seconds")),
            duration(count_of(block, "all", "p90_seconds")),
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
        f'<p class="muted">Sent to triage: {percent(report.triage_share)}</p>',
    ]


def _sentiment_html(report: WeeklyReport, svg: dict[str, str]) -> list[str]:
    rows = [
        [
            _e(s),
            str(report.sentiment["counts"][s]),
            percent(report.sentiment["share"][s]),
            percent(report.sentiment["previous_share"][s]),
            points(report.sentiment["change_in_share"][s]),
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
                duration(count_of(rt, "all", "median_seconds")),
                duration(count_of(rt, "all", "p90_seconds")),
                duration(count_of(rt, "business_hours", "median_seconds")),
                duration(count_of(rt, "out_of_hours", "median_seconds")),
                str(fig["met"]),
                str(fig["breached"]),
                percent(fig["compliance"]),
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
            percent(p.out_of_hours_share),
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
        + f"; sent to triage: {percent(report.triage_share)}</p>",
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
            f'<span class="text" dir="auto">{_e(", ".join(term_list(th, dept)) or "–")}</span>',
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


def _corrections_html(report: WeeklyReport) -> list[str]:
    co = report.corrections
    if not (co and co["decisions"]):
        return ['<p class="muted">No classified mentions this week.</p>']
    out = [f"<p>{_e(correction_line(co))}.</p>"]
    if co["corrected"]:
        rows = [
            [_e(d), str(f["decisions"]), str(f["corrected"]), _e(percent(f["share_corrected"]))]
            for d, f in co["by_department"].items()
        ]
        out.append(
            _table(
                ["department (as classified)", "decisions", "corrected", "share"],
                rows,
                {1, 2, 3},
            )
        )
        moves = ", ".join(f"{move} ({n})" for move, n in co["moved"].items())
        out.append(f'<p class="muted">Moves: {_e(moves)}.</p>')
    return out
