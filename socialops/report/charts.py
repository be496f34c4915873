"""Charts as inline SVG (matplotlib, Agg backend): no files, no fonts or scripts to fetch."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

from socialops.report.metrics import WeeklyReport

_COLOURS = ("#2f6f8f", "#d9822b", "#4f9d69", "#b0413e", "#7d5ba6", "#8c8c8c", "#c9a227")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "svg.fonttype": "none",  # text stays text: smaller, and scales with the page
            "svg.hashsalt": "socialops-report",  # stable element ids between runs
            "font.family": "sans-serif",
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    return plt


def _svg(fig: Any, title: str) -> str:
    plt = _pyplot()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    # matplotlib's metadata block names a creation date and outside schemas: not needed.
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    # Scale with the page (phones), keep the aspect ratio; a label for screen readers.
    svg = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r"<svg\1", svg, count=1)
    return svg.replace("<svg", f'<svg class="chart" role="img" aria-label="{_attr(title)}"', 1)


def _attr(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def bar_chart(values: Mapping[str, int], title: str, *, horizontal: bool = False) -> str:
    plt = _pyplot()
    labels, counts = list(values), list(values.values())
    fig, ax = plt.subplots(figsize=(6.4, 2.6 if not horizontal else 0.4 + 0.3 * len(labels)))
    colours = [_COLOURS[i % len(_COLOURS)] for i in range(len(labels))]
    if horizontal:
        ax.barh(labels[::-1], counts[::-1], color=colours[::-1])
    else:
        ax.bar(labels, counts, color=colours)
    ax.set_title(title, loc="left")
    if not labels:
        ax.text(0.5, 0.5, "no mentions", ha="center", va="center", transform=ax.transAxes)
    return _svg(fig, title)


def heatmap(grid: Sequence[Sequence[int]], title: str) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 2.4))
    image = ax.imshow(grid, aspect="auto", cmap="Blues", interpolation="nearest")
    ax.set_yticks(range(7), list(_DAYS))
    ax.set_xticks(range(0, 24, 3), [f"{h:02d}" for h in range(0, 24, 3)])
    ax.set_xlabel("local hour")
    ax.set_title(title, loc="left")
    fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02)
    return _svg(fig, title)


def sentiment_chart(report: WeeklyReport) -> str:
    plt = _pyplot()
    labels = ("negative", "neutral", "positive")
    now = [report.sentiment["share"][s] or 0.0 for s in labels]
    before = [report.sentiment["previous_share"][s] or 0.0 for s in labels]
    fig, ax = plt.subplots(figsize=(6.4, 2.2))
    xs = range(len(labels))
    ax.bar([x - 0.2 for x in xs], before, width=0.4, color="#b8c7d1", label="previous week")
    ax.bar([x + 0.2 for x in xs], now, width=0.4, color=_COLOURS[0], label=report.week)
    ax.set_xticks(list(xs), list(labels))
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    ax.legend(frameon=False)
    ax.set_title("Sentiment share", loc="left")
    return _svg(fig, "Sentiment share, this week and the previous one")


def all_charts(report: WeeklyReport) -> dict[str, str]:
    days = {label[5:]: n for label, n in report.volume_by_day.items()}
    return {
        "by_day": bar_chart(days, "Mentions per day"),
        "heatmap": heatmap(report.heatmap, "Mentions by day and hour"),
        "by_department": bar_chart(
            report.volume_by_department, "Mentions per department", horizontal=True
        ),
        "sentiment": sentiment_chart(report),
    }
