"""Sending the report's summary to the people the organisation file names (Apprise).

Targets whose service takes attachments (e-mail, JSON and form webhooks, ntfy, Discord, Slack
bots...: Apprise's ``attachment_support``) get the HTML report attached; the others get its
link (``reports.link_base_url``) or its path. Every message carries the link or path too, so
a service that drops the file (a Slack webhook) still says where the report is. If a send
with the attachment fails (too large for the service, say), it is sent again without it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from socialops import notify
from socialops.report.metrics import WeeklyReport
from socialops.report.render_words import summary_lines

if TYPE_CHECKING:
    from socialops.config import OrgConfig

SENT_ATTACHED = "sent with the report attached"
SENT_LINK = "sent with a link"


class Sender(Protocol):
    """:class:`socialops.notify.AppriseSender`, or a fake: one message to some URLs, with
    files attached; never raises."""

    def __call__(
        self,
        *,
        urls: Sequence[str],
        title: str,
        body: str,
        urgent: bool,
        attach: Sequence[str] = (),
    ) -> notify.Delivery: ...


def where(paths: Mapping[str, Path], link_base_url: str | None) -> str:
    """The report's address: under ``link_base_url`` if set, else its path on this host."""
    html = paths.get("html")
    if link_base_url and html is not None:
        return f"{link_base_url.rstrip('/')}/{html.name}"
    return str(html) if html is not None else "(not written)"


def summary_message(
    report: WeeklyReport,
    paths: Mapping[str, Path],
    link_base_url: str | None,
    *,
    attached: bool = False,
) -> tuple[str, str]:
    """The title and plain-text body: the headline figures and where the full report is."""
    title = f"{report.organisation}: weekly report {report.week}"
    location = where(paths, link_base_url)
    html = paths.get("html")
    if attached and html is not None:
        tail = [f"Full report attached ({html.name}); also at: {location}"]
    else:
        tail = [f"Full report: {location}"]
    body = "\n".join([*summary_lines(report), "", *tail])
    return title, body


def send_summary(
    *,
    org: OrgConfig,
    report: WeeklyReport,
    paths: Mapping[str, Path],
    sender: Sender | None = None,
    environ: Mapping[str, str] | None = None,
    attachable: Callable[[str], bool] = notify.supports_attachments,
) -> dict[str, str]:
    """Send the summary to every recipient; per recipient ``sent with the report attached``,
    ``sent with a link``, ``no_target`` or ``failed: <reason>``. Never raises for a failed
    send (the files are written anyway)."""
    import os

    env = os.environ if environ is None else environ
    link = org.reports.link_base_url
    send: Sender = sender or notify.AppriseSender()
    html = paths.get("html")
    files = [str(html)] if html is not None and html.is_file() else []
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
        with_file = [u for u in urls if files and attachable(u)]
        link_only = [u for u in urls if u not in with_file]
        results: list[str] = []
        if with_file:
            title, body = summary_message(report, paths, link, attached=True)
            delivery = send(urls=with_file, title=title, body=body, urgent=False, attach=files)
            if delivery.ok:
                results.append(SENT_ATTACHED)
            else:
                link_only += with_file  # once more, without the file
        if link_only:
            title, body = summary_message(report, paths, link)
            delivery = send(urls=link_only, title=title, body=body, urgent=False)
            results.append(SENT_LINK if delivery.ok else f"failed: {delivery.error}")
        outcome[who] = "; ".join(results)
    return outcome
