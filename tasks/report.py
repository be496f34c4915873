"""Weekly report tasks: compute (read-only), write the files, publish artifacts, notify."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from socialops.config import OrgConfig, load_config
from socialops.report import deliver, files
from socialops.report.metrics import WeeklyReport
from socialops.report.render import to_markdown
from socialops.report.week import IsoWeek
from socialops.settings import get_settings


def _org() -> OrgConfig:
    settings = get_settings()
    return load_config(settings.config, channels_path=settings.channels)


@task(name="resolve-week", cache_policy=NO_CACHE)
def resolve_week(week: str | None = None, now: datetime | None = None) -> str:
    """The ISO week to report on: the one given, else the last complete week."""
    from datetime import UTC

    zone = _org().organisation.timezone
    if week:
        return IsoWeek.parse(week, zone).label
    return IsoWeek.last_complete(now or datetime.now(UTC), zone).label


@task(name="compute-report", cache_policy=NO_CACHE)
def compute_report(week: str, now: datetime | None = None) -> WeeklyReport:
    """Every figure of the week, counted by the database."""
    org = _org()
    report = files.make_report(
        database_url=get_settings().resolved_database_url(),
        org=org,
        week=IsoWeek.parse(week, org.organisation.timezone),
        now=now,
    )
    get_run_logger().info("report %s: %d mentions", report.week, report.total)
    return report


@task(name="write-report", cache_policy=NO_CACHE)
def write_report(report: WeeklyReport, folder: str | None = None) -> dict[str, str]:
    """HTML, Markdown, JSON and CSV under $SOCIALOPS_HOME/reports/ (or ``folder``)."""
    target = Path(folder) if folder else get_settings().home / "reports"
    written = files.write_report(report, target)
    get_run_logger().info("wrote %s", ", ".join(str(p) for p in written.values()))
    return {fmt: str(path) for fmt, path in written.items()}


@task(name="report-artifacts", cache_policy=NO_CACHE)
def publish_artifacts(report: WeeklyReport) -> None:
    """The report as a markdown artifact, and the per-department figures as a table."""
    key = "weekly-report-" + report.week.lower()
    create_markdown_artifact(
        markdown=to_markdown(report), key=key, description=f"Weekly report {report.week}"
    )
    rows = []
    for dept, fig in report.sla["by_department"].items():
        rt = report.response_time["by_department"].get(dept, {}).get("all", {})
        rows.append(
            {
                "department": dept,
                "mentions": report.volume_by_department.get(dept, 0),
                "median_first_response_s": rt.get("median_seconds"),
                "p90_first_response_s": rt.get("p90_seconds"),
                "sla_met": fig["met"],
                "sla_breached": fig["breached"],
                "backlog_at_end": report.backlog_at_end.get(dept, 0),
            }
        )
    create_table_artifact(
        table=rows, key=key + "-sla", description=f"SLA per department, {report.week}"
    )


@task(name="send-report", cache_policy=NO_CACHE)
def send_report(report: WeeklyReport, paths: dict[str, str]) -> dict[str, str]:
    """The summary and the report's location to the recipients in the organisation file."""
    outcome = deliver.send_summary(
        org=_org(), report=report, paths={k: Path(v) for k, v in paths.items()}
    )
    get_run_logger().info("report summary: %s", outcome or "no recipients configured")
    return outcome
