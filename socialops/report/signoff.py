"""Approvals and publications in the weekly report: not recorded until sign-off lands.

The sign-off issue adds the approval and publication tables. Each function here then gets its
``GROUP BY`` query (approval turnaround: median and p90 from request to decision, per
department; replies and planned posts published, and failures, per channel) and the report
shows them; until then each section says ``not recorded``, in every format.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from socialops.report.week import IsoWeek

NOT_RECORDED = "not recorded"


def approvals(*, session: Session, week: IsoWeek) -> dict[str, Any]:
    """Approval requests, decisions and turnaround in the week."""
    del session, week  # read once the approvals table exists
    return {"status": NOT_RECORDED, "requested": None, "approved": None, "turnaround": None}


def publishing(*, session: Session, week: IsoWeek) -> dict[str, Any]:
    """Replies and planned posts published in the week, and failed attempts."""
    del session, week  # read once the publications table exists
    return {"status": NOT_RECORDED, "replies": None, "posts": None, "failures": None}
