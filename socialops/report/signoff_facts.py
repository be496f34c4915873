"""Per-version sign-off facts (migration 0019): what the weekly report's approvals read.

``report_signoff_facts`` holds one row per draft version put up for sign-off (``kind``
request) and one per step that left a draft ``approved`` with no sign-off at all (outcome
``direct``), each computed from the append-only audit log exactly as the report's approvals
define them (:mod:`socialops.report.signoff`):

- a **request** row per ``(draft, details.version)`` with at least one request step
  (``draft``/``plan_post`` that left it ``pending``, or an ``edit``): ``requested_us`` is the
  first request step's time (epoch microseconds), ``week`` its UTC week (as
  ``report_facts.week``), ``step_id`` the first request step's audit id;
- its **decision**: over the version's decision steps (an ``approve`` that made it
  ``approved``, a ``reject`` or ``expire`` while ``pending``), the earliest time
  (``decided_us``) and the outcome of the alphabetically first action, as the report's
  query always took them (the sign-off stage writes at most one decision per version);
  ``pending`` when there is none; ``seconds`` the turnaround from the request to an approval
  or rejection, rounded to whole seconds by the same expression as
  :func:`socialops.report.durations.seconds_between`;
- a **direct** row per ``draft``/``plan_post`` step whose status was ``approved``
  (``requested_us`` is that step's time).

The department is the draft's (a draft that is deleted takes its rows with it). Triggers keep
the table: every sign-off step of a draft written to the audit log recomputes that draft's
rows from its steps (a handful, through the audit log's subject index); a draft inserted
(after steps that name it) or moved to another department does too. They respect the bulk
switch of migration 0013; ``socialops seed`` fills the facts of what it wrote with
:func:`add_signoff_facts_sql`. The SQL here is what migration 0019 copied.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from socialops import storage

WEEK_SHIFT = 259_200  # 1970-01-01 was a Thursday: UTC weeks counted from Monday
WEEK_SECONDS = 604_800
REQUEST_STEPS = ("draft", "plan_post", "edit")
DECISION_STEPS = ("approve", "reject", "expire")
SIGN_OFF_STEPS = REQUEST_STEPS + DECISION_STEPS
DIRECT = "direct"  # outcome of a row for a step that needed no sign-off
PENDING = "pending"


class SignOffFactRow(storage.Base):
    """A draft version put up for sign-off (its request, decision and turnaround), or a
    draft step approved with no sign-off (outcome ``direct``)."""

    __tablename__ = "report_signoff_facts"
    __table_args__ = (
        # A UTC week's rows per department, outcome and turnaround in index order: the report
        # counts them while it walks this (no sort), reading nothing else (covering).
        Index(
            "ix_report_signoff_facts_week",
            "week",
            "department",
            "outcome",
            "seconds",
            "requested_us",
            "decided_us",
        ),
        Index("ix_report_signoff_facts_draft", "draft_id"),
    )

    # The audit step that put the version up (the first by id), or the direct approval.
    step_id: Mapped[int] = mapped_column(storage.BigIntId, primary_key=True, autoincrement=False)
    draft_id: Mapped[int] = mapped_column(
        storage.BigIntId, ForeignKey("drafts.id", ondelete="CASCADE")
    )
    version: Mapped[int | None] = mapped_column(Integer)  # details.version
    department: Mapped[str] = mapped_column(String(32))
    week: Mapped[int] = mapped_column(Integer)  # requested_us's UTC week, as report_facts.week
    requested_us: Mapped[int] = mapped_column(BigInteger)  # epoch microseconds
    # approved, rejected, expired, pending (no decision) or direct (no sign-off needed)
    outcome: Mapped[str] = mapped_column(String(8))
    decided_us: Mapped[int | None] = mapped_column(BigInteger)
    seconds: Mapped[int | None] = mapped_column(BigInteger)  # approved/rejected only


# ---- The facts of a set of audit steps, as SQL (migration 0019 holds a copy) ----------------

_SQLITE_US = (
    "(CAST(strftime('%s', substr({0}, 1, 19)) AS INTEGER) * 1000000"
    " + CAST(substr({0} || '000000', 21, 6) AS INTEGER))"
)
_SQLITE_TS = "CAST(strftime('%s', substr({0}, 1, 19)) AS INTEGER)"


def _quoted(names: tuple[str, ...]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def _dialect_sql(dialect: str) -> dict[str, str]:
    """The expressions the report's query used (SQLAlchemy's JSON paths and casts, and
    ``durations.seconds_between``), over an audit row ``s``."""
    if dialect == "postgresql":
        return {
            "status": "CAST((s.details ->> 'status') AS VARCHAR)",
            "before": "CAST((s.details ->> 'before') AS VARCHAR)",
            "version": "CAST(s.details ->> 'version' AS INTEGER)",
            "draft": "CAST({0} AS BIGINT)",
            "us": "floor(extract(epoch FROM {0}) * 1000000)::bigint",
            "ts": "floor(extract(epoch FROM {0}))::bigint",
            "seconds": "CAST(round(EXTRACT(epoch FROM {0} - {1})) AS BIGINT)",
        }
    return {
        "status": "CAST(JSON_EXTRACT(s.details, '$.\"status\"') AS VARCHAR)",
        "before": "CAST(JSON_EXTRACT(s.details, '$.\"before\"') AS VARCHAR)",
        "version": "CAST(JSON_EXTRACT(s.details, '$.\"version\"') AS INTEGER)",
        "draft": "CAST({0} AS INTEGER)",
        "us": _SQLITE_US,
        "ts": _SQLITE_TS,
        "seconds": "CAST(round((julianday({0}) - julianday({1})) * 86400.0) AS INTEGER)",
    }


COLUMNS = "step_id, draft_id, version, department, week, requested_us, outcome, decided_us, seconds"


def facts_sql(dialect: str, where: str) -> str:
    """``INSERT`` the facts of the draft steps of the audit log (alias ``s``) that match
    ``where``: a version's rows are right when ``where`` holds all of its draft's steps."""
    x = _dialect_sql(dialect)
    status, before, version = x["status"], x["before"], x["version"]
    request = (
        f"((s.action IN ('draft', 'plan_post') AND {status} = 'pending') OR s.action = 'edit')"
    )
    decision = (
        f"((s.action = 'approve' AND {status} = 'approved') "
        f"OR (s.action IN ('reject', 'expire') AND {before} = 'pending'))"
    )
    steps = f"s.subject_type = 'draft' AND s.action IN ({_quoted(SIGN_OFF_STEPS)}) AND ({where})"
    ts, us = x["ts"].format("g.requested_at"), x["us"].format("g.requested_at")
    seconds = x["seconds"].format("g.decided_at", "g.requested_at")
    direct_ts, direct_us = x["ts"].format("s.at"), x["us"].format("s.at")
    return (
        f"INSERT INTO report_signoff_facts ({COLUMNS}) "
        f"SELECT g.step_id, dr.id, g.version, dr.department, "
        f"({ts} + {WEEK_SHIFT}) / {WEEK_SECONDS}, {us}, "
        "CASE g.action WHEN 'approve' THEN 'approved' WHEN 'reject' THEN 'rejected' "
        f"WHEN 'expire' THEN 'expired' ELSE '{PENDING}' END, "
        f"{x['us'].format('g.decided_at')}, "
        f"CASE WHEN g.action IN ('approve', 'reject') THEN {seconds} END "
        "FROM ("
        f"SELECT s.subject_id AS subject_id, {version} AS version, "
        f"min(CASE WHEN {request} THEN s.id END) AS step_id, "
        f"min(CASE WHEN {request} THEN s.at END) AS requested_at, "
        f"min(CASE WHEN {decision} THEN s.at END) AS decided_at, "
        f"min(CASE WHEN {decision} THEN s.action END) AS action "
        f"FROM audit_log s WHERE {steps} "
        f"GROUP BY s.subject_id, {version}"
        f") g JOIN drafts dr ON dr.id = {x['draft'].format('g.subject_id')} "
        "WHERE g.step_id IS NOT NULL "
        "UNION ALL "
        f"SELECT s.id, dr.id, {version}, dr.department, "
        f"({direct_ts} + {WEEK_SHIFT}) / {WEEK_SECONDS}, {direct_us}, '{DIRECT}', NULL, NULL "
        f"FROM audit_log s JOIN drafts dr ON dr.id = {x['draft'].format('s.subject_id')} "
        f"WHERE {steps} AND s.action IN ('draft', 'plan_post') AND {status} = 'approved'"
    )


def add_signoff_facts_sql(dialect: str) -> str:
    """The statement adding the facts of the drafts newer than every draft with facts: what
    ``socialops seed`` wrote with the triggers off (its drafts have the newest ids, and a
    newer draft written otherwise has no sign-off step, or its facts would be there)."""
    newest = "(SELECT COALESCE(MAX(draft_id), 0) FROM report_signoff_facts)"
    draft = _dialect_sql(dialect)["draft"].format("s.subject_id")
    return facts_sql(dialect, f"{draft} > {newest}")


facts = SignOffFactRow.__table__
