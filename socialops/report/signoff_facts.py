"""Per-version sign-off facts (migration 0019): what the weekly report's approvals read.

``report_signoff_facts`` holds one row per draft version put up for sign-off and one per
step that left a draft ``approved`` with no sign-off at all (outcome ``direct``), computed
from the append-only audit log exactly as the report's approvals define them
(:mod:`socialops.report.signoff`):

- a **request** row per ``(draft, details.version)`` with at least one request step
  (``draft``/``plan_post`` that left it ``pending``, or an ``edit``): ``requested_us`` is the
  first request step's time (epoch microseconds), ``week`` its UTC week (as
  ``report_facts.week``), ``step_id`` the first request step's audit id;
- its **decision**: over the version's decision steps (an ``approve`` that made it
  ``approved``, a ``reject`` or ``expire`` while ``pending``), the earliest time
  (``decided_us``) and the outcome of the alphabetically first action, as the report's
  query over the steps took them (the sign-off stage writes at most one decision per
  version); ``pending`` when there is none (the report also counts a request pending in a
  week whose decision was stamped before that week began, as that query did); ``seconds``
  the turnaround from the request to an approval or rejection, rounded to whole seconds by
  the same expression as :func:`socialops.report.durations.seconds_between`;
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
            "seconds": "CAST(round(EXTRACT(epoch FROM {0} - {1})) AS BIGINT)",
        }
    return {
        "status": "CAST(JSON_EXTRACT(s.details, '$.\"status\"') AS VARCHAR)",
        "before": "CAST(JSON_EXTRACT(s.details, '$.\"before\"') AS VARCHAR)",
        "version": "CAST(JSON_EXTRACT(s.details, '$.\"version\"') AS INTEGER)",
        "draft": "CAST({0} AS INTEGER)",
        "us": _SQLITE_US,
        "seconds": "CAST(round((julianday({0}) - julianday({1})) * 86400.0) AS INTEGER)",
    }


COLUMNS = "step_id, draft_id, version, department, week, requested_us, outcome, decided_us, seconds"


def facts_sql(dialect: str, where: str, *, scan: bool = False) -> str:
    """``INSERT`` the facts of the draft steps of the audit log (alias ``s``) that match
    ``where``: a version's rows are right when ``where`` holds all of its draft's steps.
    ``scan``: most of the log matches (a backfill, a seed): on SQLite read the table in its
    order rather than through an index, row by row out of order."""
    x = _dialect_sql(dialect)
    sqlite = dialect != "postgresql"
    table = "audit_log s NOT INDEXED" if scan and sqlite else "audit_log s"
    steps = f"s.subject_type = 'draft' AND s.action IN ({_quoted(SIGN_OFF_STEPS)}) AND ({where})"
    # Each step's JSON fields read once, and only where they are used: on SQLite the LIMIT
    # keeps the subquery a co-routine (flattened, every CASE below would read them again).
    per_step = (
        f"SELECT s.id AS id, s.at AS at, s.action AS action, s.subject_id AS subject_id, "
        f"{x['version']} AS version, "
        f"CASE WHEN s.action IN ('draft', 'plan_post', 'approve') THEN {x['status']} END "
        "AS status, "
        f"CASE WHEN s.action IN ('reject', 'expire') THEN {x['before']} END AS was "
        f"FROM {table} WHERE {steps}" + (" LIMIT -1" if sqlite else "")
    )
    request = "((t.action IN ('draft', 'plan_post') AND t.status = 'pending') OR t.action = 'edit')"
    decision = (
        "((t.action = 'approve' AND t.status = 'approved') "
        "OR (t.action IN ('reject', 'expire') AND t.was = 'pending'))"
    )
    first_request = f"min(CASE WHEN {request} THEN t.at END)"
    first_decision = f"min(CASE WHEN {decision} THEN t.at END)"
    seconds = x["seconds"].format("g.decided_at", "g.requested_at")
    direct_us = x["us"].format("s.at")
    return (
        f"INSERT INTO report_signoff_facts ({COLUMNS}) "
        f"SELECT g.step_id, dr.id, g.version, dr.department, "
        f"(g.requested_us / 1000000 + {WEEK_SHIFT}) / {WEEK_SECONDS}, g.requested_us, "
        "CASE g.action WHEN 'approve' THEN 'approved' WHEN 'reject' THEN 'rejected' "
        f"WHEN 'expire' THEN 'expired' ELSE '{PENDING}' END, "
        "g.decided_us, "
        f"CASE WHEN g.action IN ('approve', 'reject') THEN {seconds} END "
        "FROM ("
        "SELECT t.subject_id AS subject_id, t.version AS version, "
        f"min(CASE WHEN {request} THEN t.id END) AS step_id, "
        f"{first_request} AS requested_at, {first_decision} AS decided_at, "
        # (each instant parsed once per version: the grouped rows are materialized)
        f"{x['us'].format(first_request)} AS requested_us, "
        f"{x['us'].format(first_decision)} AS decided_us, "
        f"min(CASE WHEN {decision} THEN t.action END) AS action "
        f"FROM ({per_step}) t GROUP BY t.subject_id, t.version"
        f") g JOIN drafts dr ON dr.id = {x['draft'].format('g.subject_id')} "
        "WHERE g.step_id IS NOT NULL "
        "UNION ALL "
        f"SELECT s.id, dr.id, {x['version']}, dr.department, "
        f"({direct_us} / 1000000 + {WEEK_SHIFT}) / {WEEK_SECONDS}, {direct_us}, '{DIRECT}', "
        "NULL, NULL "
        f"FROM {table} JOIN drafts dr ON dr.id = {x['draft'].format('s.subject_id')} "
        f"WHERE {steps} AND s.action IN ('draft', 'plan_post') AND {x['status']} = 'approved'"
    )


def add_signoff_facts_sql(dialect: str) -> str:
    """The statement adding the facts of the drafts newer than every draft with facts: what
    ``socialops seed`` wrote with its triggers off (its drafts have the newest ids). None of
    those drafts has facts yet, so none is counted twice; nor has a newer draft the triggers
    saw (it would not be newer), whose steps gave none, and give none again."""
    newest = "(SELECT COALESCE(MAX(draft_id), 0) FROM report_signoff_facts)"
    draft = _dialect_sql(dialect)["draft"].format("s.subject_id")
    return facts_sql(dialect, f"{draft} > {newest}", scan=True)


facts = SignOffFactRow.__table__
