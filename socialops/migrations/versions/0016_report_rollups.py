"""report roll-ups: hourly counts the weekly report reads instead of a million facts

``report_facts`` (0013) holds one row per mention; the report walked a week of them for its
volume cube, its response cube and the items per person (a million rows for a busy week).
Three roll-up tables keep, per UTC hour of the mention's arrival, the counts those questions
need, so the report reads thousands of rows:

- ``report_volume_hours``: mentions per hour, channel, department, urgency and sentiment;
- ``report_response_hours``: assigned mentions per hour (and its UTC week, which leads the key
  so a week is summed in key order), department, channel, SLA outcome
  (``''`` while waiting), first-response minute (-1: none) and, while waiting, the UTC hour
  the item falls due (so "breached as of the report's time" is decided per hour, and only the
  due hour holding that time is looked up in the facts);
- ``report_person_hours``: assigned mentions per hour, assignee (``''``: queued, nobody) and
  assignment status.

Triggers on ``report_facts`` keep them (which the triggers of 0013 keep from mentions,
classifications and assignments): an insert adds one, a delete takes one away, an update that
changes a key moves one from the old key to the new. Counts that fall to 0 stay as rows with
``n = 0`` (the report skips them). The bulk switch of 0013 (``socialops.bulk_load`` on
PostgreSQL; on SQLite the seed drops every ``report_facts%`` trigger inside its transaction)
covers these too: a bulk writer refreshes the roll-ups itself (``socialops seed`` does).

``report_queue_facts`` keeps, per assignment that waited in a queue, its times as integers
(arrival in epoch seconds, seconds to its first owner, finished queue time, when it last
entered the queue in microseconds), kept by triggers on ``assignments``: the time-in-queue
section reads these through one covering index instead of parsing two timestamps per item.
Also ``ix_drafts_published`` (status, channel, kind, published_at): the week's publications
are counted per channel and kind from one index range each.

On SQLite the roll-ups are ``WITHOUT ROWID`` (the key is the table's own order: a range of hours
is read in one walk, counts included). Caveat for later migrations: on SQLite an Alembic
``batch_alter_table`` of ``report_facts`` or ``assignments`` drops their triggers; create
them again from ``SQLITE_TRIGGERS`` (and 0013's) as 0013 does for its own.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 00:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
US_PER_HOUR = 3_600_000_000
NEVER = 2**62  # the due hour of a waiting item without a due time: never breached

# Per roll-up: its table, its key columns and the expression of each over a facts row
# (``{r}`` is NEW or OLD), and the condition for a facts row to count in it.
ROLLUPS: dict[str, tuple[list[tuple[str, str]], str]] = {
    "report_volume_hours": (
        [
            ("hour", "{r}.hour"),
            ("channel", "{r}.channel"),
            ("department", "COALESCE({r}.department, '')"),
            ("urgent", "COALESCE({r}.urgent, {false})"),
            ("sentiment", "COALESCE({r}.sentiment, '')"),
        ],
        "1 = 1",
    ),
    "report_response_hours": (
        [
            ("week", "{r}.week"),
            ("hour", "{r}.hour"),
            ("department", "{r}.a_department"),
            ("channel", "{r}.channel"),
            ("sla", "COALESCE({r}.sla, '')"),
            ("minute", "COALESCE({r}.response_minute, -1)"),
            (
                "due_hour",
                f"CASE WHEN {{r}}.sla IS NOT NULL THEN -1 "
                f"ELSE COALESCE({{r}}.due_us / {US_PER_HOUR}, {NEVER}) END",
            ),
        ],
        "{r}.a_department IS NOT NULL",
    ),
    "report_person_hours": (
        [
            ("hour", "{r}.hour"),
            ("assignee", "COALESCE({r}.assignee, '')"),
            ("status", "{r}.a_status"),
        ],
        "{r}.a_status IS NOT NULL",
    ),
}
# The facts columns each roll-up's key is made of (an update of others changes nothing).
SOURCES = {
    "report_volume_hours": ["hour", "channel", "department", "urgent", "sentiment"],
    "report_response_hours": [
        "week",
        "hour",
        "a_department",
        "channel",
        "sla",
        "response_minute",
        "due_us",
    ],
    "report_person_hours": ["hour", "assignee", "a_status"],
}


def _sql(expr: str, row: str, dialect: str) -> str:
    return expr.format(r=row, false="false" if dialect == "postgresql" else "0")


def _add(table: str, row: str, dialect: str, n: str = "1") -> str:
    """One more in the roll-up row of ``row``'s key (an upsert)."""
    keys, where = ROLLUPS[table]
    names = ", ".join(k for k, _ in keys)
    values = ", ".join(_sql(e, row, dialect) for _, e in keys)
    return (
        f"INSERT INTO {table} ({names}, n) SELECT {values}, {n} "
        f"WHERE {_sql(where, row, dialect)} "
        f"ON CONFLICT ({names}) DO UPDATE SET n = {table}.n + excluded.n"
    )


def _take(table: str, row: str, dialect: str) -> str:
    """One less in the roll-up row of ``row``'s key."""
    keys, where = ROLLUPS[table]
    match = " AND ".join(f"{k} = {_sql(e, row, dialect)}" for k, e in keys)
    return f"UPDATE {table} SET n = n - 1 WHERE {match} AND {_sql(where, row, dialect)}"


def _changed(table: str) -> str:
    return " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in SOURCES[table])


SQLITE_TRIGGERS: dict[str, str] = {
    "report_facts_rollups_insert": (
        "CREATE TRIGGER report_facts_rollups_insert AFTER INSERT ON report_facts BEGIN "
        + " ".join(f"{_add(t, 'NEW', 'sqlite')};" for t in ROLLUPS)
        + " END"
    ),
    "report_facts_rollups_delete": (
        "CREATE TRIGGER report_facts_rollups_delete AFTER DELETE ON report_facts BEGIN "
        + " ".join(f"{_take(t, 'OLD', 'sqlite')};" for t in ROLLUPS)
        + " END"
    ),
    **{
        f"report_facts_rollups_{t.removeprefix('report_')}": (
            f"CREATE TRIGGER report_facts_rollups_{t.removeprefix('report_')} "
            f"AFTER UPDATE OF {', '.join(SOURCES[t])} ON report_facts "
            f"WHEN {_changed(t)} BEGIN "
            f"{_take(t, 'OLD', 'sqlite')}; {_add(t, 'NEW', 'sqlite')}; END"
        )
        for t in ROLLUPS
    },
}


def _pg_changed(table: str) -> str:
    cols = SOURCES[table]
    old = ", ".join(f"OLD.{c}" for c in cols)
    new = ", ".join(f"NEW.{c}" for c in cols)
    return f"({old}) IS DISTINCT FROM ({new})"


PG_FUNCTION = (
    "CREATE FUNCTION report_facts_on_fact() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "BEGIN\n"
    "    IF report_facts_bulk() THEN RETURN NULL; END IF;\n"
    + "".join(
        f"    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND {_pg_changed(t)}) THEN\n"
        f"        {_take(t, 'OLD', 'postgresql')};\n    END IF;\n"
        f"    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND {_pg_changed(t)}) THEN\n"
        f"        {_add(t, 'NEW', 'postgresql')};\n    END IF;\n"
        for t in ROLLUPS
    )
    + "    RETURN NULL;\nEND $$"
)
PG_TRIGGER = (
    "CREATE TRIGGER report_facts_rollups AFTER INSERT OR DELETE OR UPDATE ON report_facts "
    "FOR EACH ROW EXECUTE FUNCTION report_facts_on_fact()"
)


def backfill(table: str, dialect: str, where: str = "1 = 1") -> str:
    """The roll-up recounted from the facts (``where`` narrows the facts read), added to it."""
    keys, condition = ROLLUPS[table]
    names = ", ".join(k for k, _ in keys)
    values = ", ".join(f"{_sql(e, 'f', dialect)} AS {k}" for k, e in keys)
    return (
        f"INSERT INTO {table} ({names}, n) "
        f"SELECT {names}, count(*) FROM (SELECT {values} FROM report_facts f "
        f"WHERE {_sql(condition, 'f', dialect)} AND {where}) v "
        f"GROUP BY {names} "
        f"ON CONFLICT ({names}) DO UPDATE SET n = {table}.n + excluded.n"
    )


# Facts indexes the roll-ups replace (volume, response and person walks), and the two the
# report's exact look-ups around the roll-ups need: the hours of a department (business hours
# that start or end inside an hour), and the items still waiting by due time.
REPLACED = {
    "ix_report_facts_volume": ["hour", "channel", "department", "urgent", "sentiment"],
    "ix_report_facts_response": [
        "week",
        "a_department",
        "channel",
        "a_urgent",
        "sla",
        "response_minute",
        "created_ts",
        "due_us",
    ],
    "ix_report_facts_person": ["week", "assignee", "a_status", "created_ts"],
}
HOUR_INDEX = (
    "ix_report_facts_hour",
    ["hour", "a_department", "channel", "sla", "response_minute", "created_ts", "due_us"],
)
WAITING_INDEX = ("ix_report_facts_waiting", ["due_us", "a_department", "channel", "created_ts"])
WAITING = "sla IS NULL AND a_department IS NOT NULL"
# The week's published drafts per channel and kind: each pair one range of this index.
PUBLISHED_INDEX = ("ix_drafts_published", ["status", "channel", "kind", "published_at"])


# ---- Queue facts: the queued items' times as integers -----------------------------------------

_SQLITE_US = (
    "(CAST(strftime('%s', substr({0}, 1, 19)) AS INTEGER) * 1000000"
    " + CAST(substr({0} || '000000', 21, 6) AS INTEGER))"
)
QUEUE_COLUMNS = (
    "assignment_id, received_ts, department, status, owner_seconds, queued_seconds, queued_at_us"
)
QUEUE_SOURCES = "received_at, department, status, queued_seconds, queued_at, first_assigned_at"


def queued(row: str) -> str:
    return f"({row}.queued_at IS NOT NULL OR {row}.queued_seconds > 0)"


def queue_values(row: str, dialect: str) -> str:
    """The queue facts of an assignment ``row`` (NEW, or a table alias)."""
    if dialect == "postgresql":
        received = f"floor(extract(epoch FROM {row}.received_at))::bigint"
        owner = f"round(extract(epoch FROM {row}.first_assigned_at - {row}.received_at))::bigint"
        queued_at = f"floor(extract(epoch FROM {row}.queued_at) * 1000000)::bigint"
    else:
        received = f"CAST(strftime('%s', substr({row}.received_at, 1, 19)) AS INTEGER)"
        diff = "({} - {})".format(
            _SQLITE_US.format(f"{row}.first_assigned_at"), _SQLITE_US.format(f"{row}.received_at")
        )
        # Rounded half away from zero, as round() of the seconds between them.
        owner = (
            f"CASE WHEN {diff} >= 0 THEN ({diff} + 500000) / 1000000 "
            f"ELSE -((500000 - {diff}) / 1000000) END"
        )
        queued_at = _SQLITE_US.format(f"{row}.queued_at")
    return (
        f"{row}.id, {received}, {row}.department, {row}.status, {owner}, "
        f"{row}.queued_seconds, {queued_at}"
    )


def queue_backfill(dialect: str) -> str:
    return (
        f"INSERT INTO report_queue_facts ({QUEUE_COLUMNS}) "
        f"SELECT {queue_values('a', dialect)} FROM assignments a WHERE {queued('a')}"
    )


_QUEUE_INSERT = (
    f"INSERT INTO report_queue_facts ({QUEUE_COLUMNS}) "
    f"SELECT {queue_values('NEW', 'sqlite')} WHERE {queued('NEW')};"
)
SQLITE_TRIGGERS.update(
    {
        "report_facts_queue_insert": (
            "CREATE TRIGGER report_facts_queue_insert AFTER INSERT ON assignments "
            f"BEGIN {_QUEUE_INSERT} END"
        ),
        "report_facts_queue_update": (
            "CREATE TRIGGER report_facts_queue_update "
            f"AFTER UPDATE OF id, {QUEUE_SOURCES} ON assignments BEGIN "
            "DELETE FROM report_queue_facts WHERE assignment_id = OLD.id; "
            f"{_QUEUE_INSERT} END"
        ),
        "report_facts_queue_delete": (
            "CREATE TRIGGER report_facts_queue_delete AFTER DELETE ON assignments "
            "BEGIN DELETE FROM report_queue_facts WHERE assignment_id = OLD.id; END"
        ),
    }
)
PG_QUEUE_FUNCTION = (
    "CREATE FUNCTION report_facts_on_queue() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "BEGIN\n"
    "    IF report_facts_bulk() THEN RETURN NULL; END IF;\n"
    "    IF TG_OP IN ('UPDATE', 'DELETE') THEN\n"
    "        DELETE FROM report_queue_facts WHERE assignment_id = OLD.id;\n"
    "    END IF;\n"
    "    IF TG_OP IN ('INSERT', 'UPDATE') AND " + queued("NEW") + " THEN\n"
    f"        INSERT INTO report_queue_facts ({QUEUE_COLUMNS}) "
    f"VALUES ({queue_values('NEW', 'postgresql')});\n"
    "    END IF;\n"
    "    RETURN NULL;\n"
    "END $$"
)
PG_QUEUE_TRIGGER = (
    f"CREATE TRIGGER report_facts_queue AFTER INSERT OR DELETE OR UPDATE OF id, {QUEUE_SOURCES} "
    "ON assignments FOR EACH ROW EXECUTE FUNCTION report_facts_on_queue()"
)
QUEUE_INDEX = (
    "ix_report_queue_facts_week",
    ["received_ts", "department", "status", "owner_seconds", "queued_seconds", "queued_at_us"],
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for name in REPLACED:
        op.drop_index(name, table_name="report_facts")
    op.create_index(HOUR_INDEX[0], "report_facts", HOUR_INDEX[1])
    op.create_index(
        WAITING_INDEX[0],
        "report_facts",
        WAITING_INDEX[1],
        sqlite_where=sa.text(WAITING),
        postgresql_where=sa.text(WAITING),
    )
    op.create_index(PUBLISHED_INDEX[0], "drafts", PUBLISHED_INDEX[1])
    common = {"sqlite_with_rowid": False}
    op.create_table(
        "report_volume_hours",
        sa.Column("hour", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("department", sa.String(32), nullable=False),  # '': not classified
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("sentiment", sa.String(16), nullable=False),  # '': not classified
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("hour", "channel", "department", "urgent", "sentiment"),
        **common,
    )
    op.create_table(
        "report_response_hours",
        sa.Column("week", sa.Integer(), nullable=False),  # as report_facts.week
        sa.Column("hour", sa.BigInteger(), nullable=False),
        sa.Column("department", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("sla", sa.String(9), nullable=False),  # '': waiting
        sa.Column("minute", sa.BigInteger(), nullable=False),  # -1: no response yet
        sa.Column("due_hour", sa.BigInteger(), nullable=False),  # -1: not waiting
        sa.Column("n", sa.BigInteger(), nullable=False),
        # In the order of the report's GROUP BY, the hour last: a UTC week's rows are summed
        # while walked, with no sort.
        sa.PrimaryKeyConstraint(
            "week", "department", "channel", "sla", "minute", "due_hour", "hour"
        ),
        **common,
    )
    op.create_table(
        "report_person_hours",
        sa.Column("hour", sa.BigInteger(), nullable=False),
        sa.Column("assignee", sa.String(64), nullable=False),  # '': nobody (queued)
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("hour", "assignee", "status"),
        **common,
    )
    op.create_table(
        "report_queue_facts",
        sa.Column("assignment_id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("received_ts", sa.BigInteger(), nullable=False),
        sa.Column("department", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("owner_seconds", sa.BigInteger(), nullable=True),
        sa.Column("queued_seconds", sa.BigInteger(), nullable=True),
        sa.Column("queued_at_us", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("assignment_id"),
    )
    for table in ROLLUPS:
        op.execute(backfill(table, dialect))
    op.execute(queue_backfill(dialect))
    op.create_index(QUEUE_INDEX[0], "report_queue_facts", QUEUE_INDEX[1])
    if dialect == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
        op.execute(PG_QUEUE_FUNCTION)
        op.execute(PG_QUEUE_TRIGGER)
    else:
        for ddl in SQLITE_TRIGGERS.values():
            op.execute(ddl)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS report_facts_rollups ON report_facts")
        op.execute("DROP FUNCTION IF EXISTS report_facts_on_fact()")
        op.execute("DROP TRIGGER IF EXISTS report_facts_queue ON assignments")
        op.execute("DROP FUNCTION IF EXISTS report_facts_on_queue()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index(QUEUE_INDEX[0], table_name="report_queue_facts")
    op.drop_table("report_queue_facts")
    for table in reversed(ROLLUPS):
        op.drop_table(table)
    op.drop_index(PUBLISHED_INDEX[0], table_name="drafts")
    op.drop_index(WAITING_INDEX[0], table_name="report_facts")
    op.drop_index(HOUR_INDEX[0], table_name="report_facts")
    for name, columns in REPLACED.items():
        op.create_index(name, "report_facts", columns)
