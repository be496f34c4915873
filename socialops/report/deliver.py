"""Sending the report's summary to the people the organisation file names (Apprise)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from socialops import notify
from socialops.report.metrics import WeeklyReport
from socialops.report.render import summary_lines

if TYPE_CHECKING:
    from socialops.config import OrgConfig


def summary_message(
    report: WeeklyReport, paths: Mapping[str, Path], link_base_url: str | None
) -> tuple[str, str]:
    """The title and plain-text body: the headline figures and where the full report is."""
    title = f"{report.organisation}: weekly report {report.week}"
    html = paths.get("html")
    if link_base_url and html is not None:
        where = f"{link_base_url.rstrip('/')}/{html.name}"
    else:
        where = str(html) if html is not None else "(not written)"
    body = "\n".join([*summary_lines(report), "", f"Full report: {where}"])
    return title, body


def send_summary(
    *,
    org: OrgConfig,
    report: WeeklyReport,
    paths: Mapping[str, Path],
    sender: notify.Sender | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Send the summary to every recipient; per recipient ``sent``, ``no_target`` or
    ``failed: <reason>``. Never raises for a failed send (the files are written anyway)."""
    import os

    env = os.environ if environ is None else environ
    title, body = summary_message(report, paths, org.reports.link_base_url)
    send = sender or notify.AppriseSender()
    targets: dict[str, list[str]] = {
        handle: notify.target_urls(org, handle, urgent=False, environ=env)
        for handle in org.reports.recipients
    }
    if org.reports.notify_env:
        value = env.get(org.reports.notify_env, "").strip()
        targets[f"env:{org.reports.notify_env}"] = [u for u in value.replace(",", " ").split() if u]
    outcome: dict[str, str] = {}
    for who, urls in targets.items():
        if not urls:
            outcome[who] = "no_target"
            continue
        delivery = send(urls=urls, title=title, body=body, urgent=False)
        outcome[who] = "sent" if delivery.ok else f"failed: {delivery.error}"
    return outcome
