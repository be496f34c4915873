"""report sign-off facts: one row per draft version put up for sign-off, for the weekly report

The report's approvals grouped every draft step since the week began per (draft, version),
reading three JSON fields of each (about 900,000 steps at 1,000,000 seeded mentions: 4.96 s
of CPU on SQLite, three quarters of the whole report). ``report_signoff_facts`` keeps, per
draft version put up for sign-off (``draft``/``plan_post`` that left it ``pending``, or an
``edit``), what the report counts: the draft's department, the first request's time (epoch
microseconds and its UTC week, as ``report_facts``), the decision (``approved``, ``rejected``,
``expired``; ``pending`` while there is none), when it came and the turnaround in whole
seconds (approvals and rejections only, rounded as the report's query did). A
``draft``/``plan_post`` step that left a draft ``approved`` with no sign-off is a row too
(outcome ``direct``). The report reads one index range per UTC week: ``(week, department,
outcome, seconds, requested_us, decided_us)``.

Triggers keep it (the audit log is append-only: only inserts): a sign-off step of a draft
recomputes that draft's rows from its own steps (a handful, through ``ix_audit_subject``); a
draft inserted recomputes its rows too (steps written before it), a draft moved to another
department moves its rows; a deleted draft takes them with it (``ON DELETE CASCADE``). They
respect the bulk-load switch of 0013: ``socialops.bulk_load`` on PostgreSQL; on SQLite they
are named ``report_facts_...`` so that ``socialops seed`` drops and re-creates them with the
others, and fills the facts of what it wrote itself
(``socialops.report.signoff_facts.add_signoff_facts_sql``). Existing steps are backfilled.

The SQL below is a frozen copy of ``socialops.report.signoff_facts`` as of this revision.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 00:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WEEK_SHIFT = 259_200
WEEK_SECONDS = 604_800
REQUEST_STEPS = ("draft", "plan_post", "edit")
DECISION_STEPS = ("approve", "reject", "expire")
SIGN_OFF_STEPS = REQUEST_STEPS + DECISION_STEPS
DIRECT = "direct"
PENDING = "pending"
WEEK_INDEX = (
    "ix_report_signoff_facts_week",
    ["week", "department", "outcome", "seconds", "requested_us", "decided_us"],
)
DRAFT_INDEX = ("ix_report_signoff_facts_draft", ["draft_id"])

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


# ---- Triggers ---------------------------------------------------------------------------------

_DRAFT_STEP = (
    "NEW.subject_type = 'draft' AND NEW.action IN ("
    + ", ".join(f"'{n}'" for n in SIGN_OFF_STEPS)
    + ")"
)


def _forget(subject: str) -> str:
    """Delete the rows made from the steps of the audit subject ``subject``."""
    return (
        "DELETE FROM report_signoff_facts WHERE step_id IN (SELECT id FROM audit_log "
        f"WHERE subject_type = 'draft' AND subject_id = {subject})"
    )


def _recompute(dialect: str, subject: str) -> str:
    return f"{_forget(subject)}; {facts_sql(dialect, f's.subject_id = {subject}')};"


_MOVE = "UPDATE report_signoff_facts SET department = NEW.department WHERE draft_id = NEW.id;"
SQLITE_TRIGGERS = {
    "report_facts_signoff_step": (
        "CREATE TRIGGER report_facts_signoff_step AFTER INSERT ON audit_log "
        f"WHEN {_DRAFT_STEP} BEGIN {_recompute('sqlite', 'NEW.subject_id')} END"
    ),
    "report_facts_signoff_draft": (
        "CREATE TRIGGER report_facts_signoff_draft AFTER INSERT ON drafts "
        f"BEGIN {_recompute('sqlite', 'CAST(NEW.id AS TEXT)')} END"
    ),
    "report_facts_signoff_department": (
        "CREATE TRIGGER report_facts_signoff_department AFTER UPDATE OF department ON drafts "
        f"WHEN OLD.department IS NOT NEW.department BEGIN {_MOVE} END"
    ),
}
# On PostgreSQL two transactions may write steps of one draft at once: each recomputes its
# rows with the draft row locked first, so the second waits for the first and then (a new
# snapshot per statement) sees its steps. (The sign-off stage locks the draft anyway.)
_LOCK = "SELECT 1 FROM drafts WHERE id = CAST($1 AS BIGINT) FOR NO KEY UPDATE;"
PG_FUNCTIONS = (
    "CREATE FUNCTION report_signoff_facts_of(subject varchar) RETURNS void LANGUAGE sql AS $$\n"
    f"{_LOCK}\n{_recompute('postgresql', '$1')}\n$$",
    "CREATE FUNCTION report_signoff_facts_on_step() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "BEGIN\n"
    "    IF report_facts_bulk() THEN RETURN NULL; END IF;\n"
    "    PERFORM report_signoff_facts_of(NEW.subject_id);\n"
    "    RETURN NULL;\n"
    "END $$",
    "CREATE FUNCTION report_signoff_facts_on_draft() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "BEGIN\n"
    "    IF report_facts_bulk() THEN RETURN NULL; END IF;\n"
    "    IF TG_OP = 'INSERT' THEN\n"
    "        PERFORM report_signoff_facts_of(NEW.id::varchar);\n"
    "    ELSIF OLD.department IS DISTINCT FROM NEW.department THEN\n"
    f"        {_MOVE}\n"
    "    END IF;\n"
    "    RETURN NULL;\n"
    "END $$",
)
PG_TRIGGERS = (
    "CREATE TRIGGER report_facts_signoff_step AFTER INSERT ON audit_log FOR EACH ROW "
    f"WHEN ({_DRAFT_STEP}) EXECUTE FUNCTION report_signoff_facts_on_step()",
    "CREATE TRIGGER report_facts_signoff_draft AFTER INSERT OR UPDATE OF department ON drafts "
    "FOR EACH ROW EXECUTE FUNCTION report_signoff_facts_on_draft()",
)
_PG_DROP = (
    "DROP TRIGGER IF EXISTS report_facts_signoff_step ON audit_log",
    "DROP TRIGGER IF EXISTS report_facts_signoff_draft ON drafts",
    "DROP FUNCTION IF EXISTS report_signoff_facts_on_draft()",
    "DROP FUNCTION IF EXISTS report_signoff_facts_on_step()",
    "DROP FUNCTION IF EXISTS report_signoff_facts_of(varchar)",
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "report_signoff_facts",
        sa.Column("step_id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("draft_id", BIG_ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("department", sa.String(32), nullable=False),
        sa.Column("week", sa.Integer(), nullable=False),
        sa.Column("requested_us", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("decided_us", sa.BigInteger(), nullable=True),
        sa.Column("seconds", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["draft_id"], ["drafts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("step_id"),
    )
    op.execute(facts_sql(dialect, "1 = 1", scan=True))
    op.create_index(WEEK_INDEX[0], "report_signoff_facts", WEEK_INDEX[1])
    op.create_index(DRAFT_INDEX[0], "report_signoff_facts", DRAFT_INDEX[1])
    if dialect == "postgresql":
        for ddl in (*PG_FUNCTIONS, *PG_TRIGGERS):
            op.execute(ddl)
    else:
        for ddl in SQLITE_TRIGGERS.values():
            op.execute(ddl)
        have_stats = (
            op.get_bind()
            .exec_driver_sql("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
            .scalar_one()
        )
        if have_stats:  # weighed fairly beside the tables that have statistics (as 0017)
            op.execute("ANALYZE report_signoff_facts")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for ddl in _PG_DROP:
            op.execute(ddl)
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index(DRAFT_INDEX[0], table_name="report_signoff_facts")
    op.drop_index(WEEK_INDEX[0], table_name="report_signoff_facts")
    op.drop_table("report_signoff_facts")
