"""report ordered indexes: percentiles and counts walked in index order, without a sort

The weekly report over a million mentions spent most of its time sorting: SQLite has no hash
aggregate, so every ``GROUP BY`` whose order no index gives sorts the rows it counts. These
indexes give each of the report's bigger counts its order, limited to the UTC week(s) the
report's week overlaps (so the cost follows the week, not the history):

- ``report_queue_facts.week`` (from ``received_ts``, as ``report_facts.week``; the queue
  triggers of 0016 are made again to fill it) and two indexes over it: the queued items per
  department in order of their time to first owner, and in order of their finished time in
  the queue. Time in queue's percentiles are counted while each is walked. Replaces the index
  by ``received_ts`` (nothing else reads it). A third, partial, holds the few items still
  queued (their wait so far counts to the report's time). ``week`` is a plain column, not a
  generated one: SQLite (3.40) reads the table for every row of an index on a generated
  column, never covered.
- ``report_facts``: the exact response seconds inside a UTC week's response minutes
  (``week, response_minute, response_seconds, a_department, channel, created_ts``), replacing
  ``ix_report_facts_minute`` (its only reader was the same look-up, which sorted).
- ``assignments``: the items still open, per department, by arrival (partial: only open ones),
  for the backlog at the week's end.
- ``escalation_steps``: the index by ``fired_at`` also holds what the report counts of a step
  (its assignment and target), so the week's steps are read from the index alone; and
  ``assignments (id, department)``, so each step's department is read from a narrow index
  rather than the wide assignments row (0.22 s -> 0.15 s of the report's CPU at 1M mentions).

No new table: the one new column is filled by the queue triggers and by
``rollups.add_queue_facts_sql`` (what ``socialops seed`` runs after its bulk load).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 00:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUE_WEEK = "(received_ts + 259200) / 604800"  # UTC weeks from Monday 1969-12-29
QUEUE_INDEXES = {
    "ix_report_queue_facts_owner": ["week", "department", "owner_seconds", "status", "received_ts"],
    "ix_report_queue_facts_waited": [
        "week",
        "department",
        "queued_seconds",
        "status",
        "queued_at_us",
        "received_ts",
    ],
}
# The items still in the queue (their wait runs to the report's time): few at any time.
STILL_INDEX = (
    "ix_report_queue_facts_still",
    ["week", "department", "queued_seconds", "queued_at_us", "received_ts"],
)
STILL = "status = 'queued'"
OLD_QUEUE_INDEX = (
    "ix_report_queue_facts_week",
    ["received_ts", "department", "status", "owner_seconds", "queued_seconds", "queued_at_us"],
)
SECONDS_INDEX = (
    "ix_report_facts_seconds",
    ["week", "response_minute", "response_seconds", "a_department", "channel", "created_ts"],
)
OLD_MINUTE_INDEX = (
    "ix_report_facts_minute",
    [
        "response_minute",
        "hour",
        "a_department",
        "channel",
        "a_urgent",
        "response_seconds",
        "created_ts",
    ],
)
OPEN_INDEX = ("ix_assignments_open_report", ["status", "department", "received_at"])
OPEN = "status = 'open'"
# Each step's assignment's department, from an index rather than the wide assignments row.
DEPARTMENT_INDEX = ("ix_assignments_id_department", ["id", "department"])
ESCALATION_INDEX = "ix_escalation_steps_fired_at"  # was (fired_at)
ESCALATION_COLUMNS = ["fired_at", "assignment_id", "target"]


# ---- The queue triggers of migration 0016, made again with the week ---------------------

_SQLITE_US = (
    "(CAST(strftime('%s', substr({0}, 1, 19)) AS INTEGER) * 1000000"
    " + CAST(substr({0} || '000000', 21, 6) AS INTEGER))"
)
QUEUE_COLUMNS = (
    "assignment_id, received_ts, department, status, owner_seconds, queued_seconds, queued_at_us"
)
QUEUE_SOURCES = "received_at, department, status, queued_seconds, queued_at, first_assigned_at"
QUEUED = "(NEW.queued_at IS NOT NULL OR NEW.queued_seconds > 0)"


def _received(dialect: str) -> str:
    if dialect == "postgresql":
        return "floor(extract(epoch FROM NEW.received_at))::bigint"
    return "CAST(strftime('%s', substr(NEW.received_at, 1, 19)) AS INTEGER)"


def week_of(dialect: str) -> str:
    return f"({_received(dialect)} + 259200) / 604800"


def queue_values(dialect: str) -> str:
    """The queue facts of the assignment NEW (as migration 0016)."""
    if dialect == "postgresql":
        owner = "round(extract(epoch FROM NEW.first_assigned_at - NEW.received_at))::bigint"
        queued_at = "floor(extract(epoch FROM NEW.queued_at) * 1000000)::bigint"
    else:
        diff = "({} - {})".format(
            _SQLITE_US.format("NEW.first_assigned_at"), _SQLITE_US.format("NEW.received_at")
        )
        owner = (
            f"CASE WHEN {diff} >= 0 THEN ({diff} + 500000) / 1000000 "
            f"ELSE -((500000 - {diff}) / 1000000) END"
        )
        queued_at = _SQLITE_US.format("NEW.queued_at")
    return (
        f"NEW.id, {_received(dialect)}, NEW.department, NEW.status, {owner}, "
        f"NEW.queued_seconds, {queued_at}"
    )


def _queue_triggers(dialect: str, columns: str, extra: str) -> None:
    """Replace the queue triggers so that they insert ``columns`` (the values of 0016, then
    ``extra``)."""
    values = queue_values(dialect) + extra
    if dialect == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION report_facts_on_queue() RETURNS trigger "
            "LANGUAGE plpgsql AS $$\n"
            "BEGIN\n"
            "    IF report_facts_bulk() THEN RETURN NULL; END IF;\n"
            "    IF TG_OP IN ('UPDATE', 'DELETE') THEN\n"
            "        DELETE FROM report_queue_facts WHERE assignment_id = OLD.id;\n"
            "    END IF;\n"
            f"    IF TG_OP IN ('INSERT', 'UPDATE') AND {QUEUED} THEN\n"
            f"        INSERT INTO report_queue_facts ({columns}) VALUES ({values});\n"
            "    END IF;\n"
            "    RETURN NULL;\n"
            "END $$"
        )
        return
    insert = f"INSERT INTO report_queue_facts ({columns}) SELECT {values} WHERE {QUEUED};"
    for name in ("report_facts_queue_insert", "report_facts_queue_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute(
        f"CREATE TRIGGER report_facts_queue_insert AFTER INSERT ON assignments BEGIN {insert} END"
    )
    op.execute(
        "CREATE TRIGGER report_facts_queue_update "
        f"AFTER UPDATE OF id, {QUEUE_SOURCES} ON assignments BEGIN "
        "DELETE FROM report_queue_facts WHERE assignment_id = OLD.id; "
        f"{insert} END"
    )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.add_column("report_queue_facts", sa.Column("week", sa.Integer(), nullable=True))
    op.execute(f"UPDATE report_queue_facts SET week = {QUEUE_WEEK}")
    _queue_triggers(dialect, QUEUE_COLUMNS + ", week", f", {week_of(dialect)}")
    op.drop_index(OLD_QUEUE_INDEX[0], table_name="report_queue_facts")
    for name, columns in QUEUE_INDEXES.items():
        op.create_index(name, "report_queue_facts", columns)
    op.create_index(
        STILL_INDEX[0],
        "report_queue_facts",
        STILL_INDEX[1],
        sqlite_where=sa.text(STILL),
        postgresql_where=sa.text(STILL),
    )
    op.drop_index(OLD_MINUTE_INDEX[0], table_name="report_facts")
    op.create_index(SECONDS_INDEX[0], "report_facts", SECONDS_INDEX[1])
    op.create_index(
        OPEN_INDEX[0],
        "assignments",
        OPEN_INDEX[1],
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )
    op.drop_index(ESCALATION_INDEX, table_name="escalation_steps")
    op.create_index(ESCALATION_INDEX, "escalation_steps", ESCALATION_COLUMNS)
    op.create_index(DEPARTMENT_INDEX[0], "assignments", DEPARTMENT_INDEX[1])
    _restat()


def _restat() -> None:
    """SQLite plans by the statistics ANALYZE left (when it was ever run): an index without
    any looks far more selective than the ones beside it with theirs (the new week-led index
    on the facts would be taken for the most-followed look-up, 2 s instead of 2 ms)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return  # PostgreSQL's autovacuum gathers its own
    has_stats = sa.text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
    if bind.execute(has_stats).first() is not None:
        for table in ("report_queue_facts", "report_facts", "assignments", "escalation_steps"):
            op.execute(f"ANALYZE {table}")


def downgrade() -> None:
    op.drop_index(DEPARTMENT_INDEX[0], table_name="assignments")
    op.drop_index(ESCALATION_INDEX, table_name="escalation_steps")
    op.create_index(ESCALATION_INDEX, "escalation_steps", ["fired_at"])
    op.drop_index(OPEN_INDEX[0], table_name="assignments")
    op.drop_index(SECONDS_INDEX[0], table_name="report_facts")
    op.create_index(OLD_MINUTE_INDEX[0], "report_facts", OLD_MINUTE_INDEX[1])
    op.drop_index(STILL_INDEX[0], table_name="report_queue_facts")
    for name in QUEUE_INDEXES:
        op.drop_index(name, table_name="report_queue_facts")
    _queue_triggers(op.get_bind().dialect.name, QUEUE_COLUMNS, "")
    op.drop_column("report_queue_facts", "week")
    op.create_index(OLD_QUEUE_INDEX[0], "report_queue_facts", OLD_QUEUE_INDEX[1])
