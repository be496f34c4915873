"""The weekly report flow: compute, write the files, publish artifacts, send the summary."""

from __future__ import annotations

from datetime import datetime

from prefect import flow
from pydantic import BaseModel

from tasks.report import compute_report, publish_artifacts, resolve_week, send_report, write_report


class WeeklyReportRun(BaseModel):
    week: str
    total: int
    files: dict[str, str]
    sent: dict[str, str]


@flow(name="weekly-report")
def weekly_report(
    week: str | None = None, now: datetime | None = None, send: bool = True
) -> WeeklyReportRun:
    """Write the weekly report (default: the last complete week) and send its summary."""
    label = resolve_week(week, now)
    report = compute_report(label, now)
    paths = write_report(report)
    publish_artifacts(report)
    sent = send_report(report, paths) if send else {}
    return WeeklyReportRun(week=report.week, total=report.total, files=paths, sent=sent)
