"""Making the report from a database URL, and writing it to files."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from socialops.db import session_scope
from socialops.report.metrics import WeeklyReport, build_report
from socialops.report.render import FORMATS, Format, render
from socialops.report.week import IsoWeek
from socialops.rota.schedule import engine_for

if TYPE_CHECKING:
    from socialops.config import OrgConfig


def make_report(
    *, database_url: str, org: OrgConfig, week: IsoWeek, now: datetime | None = None
) -> WeeklyReport:
    """The week's report, read in one transaction."""
    with session_scope(database_url) as session:
        return build_report(
            session=session,
            engine=engine_for(org),
            week=week,
            organisation=org.organisation.name,
            channels=[c.name for c in org.channels],
            now=now,
            notable_limit=org.reports.notable_mentions,
        )


def default_path(folder: Path, week: str, fmt: Format) -> Path:
    return folder / f"weekly-report-{week}.{fmt}"


def write_report(
    report: WeeklyReport, folder: Path, formats: tuple[Format, ...] = FORMATS
) -> dict[str, Path]:
    """Write each format next to the others; return the paths by format."""
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for fmt in formats:
        path = default_path(folder, report.week, fmt)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(render(report, fmt), encoding="utf-8")
        tmp.replace(path)  # readers never see half a report
        written[fmt] = path
    return written
