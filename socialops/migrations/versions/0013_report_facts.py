"""report facts: one narrow row per mention with everything the weekly report counts

The report used to join a million mentions to their current classification and to their
assignment (35.9 s on SQLite for one week of 1,000,000 mentions). ``report_facts`` keeps, per
mention, the few values the report groups and filters by: when it arrived (epoch seconds, its
UTC hour and UTC week), the channel, the current classification, the assignment's department,
owner, state, due time, SLA outcome once final and the first-response time in seconds.

Database triggers keep it current, so every write path (ingest, classifier, re-classification,
routing, queue, hand-over, escalation, manual assignment, a person acting) is covered without
each remembering to: a new mention inserts its row; a classification written, replaced or
deleted refreshes the classification part from the mention's current decision; an assignment
created, changed or deleted refreshes the assignment part. Existing rows are backfilled here.

A bulk writer (``socialops seed``) that writes the facts itself may switch the triggers off for
its own transaction: on PostgreSQL with ``SET LOCAL socialops.bulk_load = 'on'``; on SQLite by
dropping and re-creating them inside its transaction (DDL is transactional there).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 00:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WEEK_SHIFT = 3 * 86400  # 1970-01-01 was a Thursday: weeks counted from Monday 00:00 UTC

# The index order is the GROUP BY order of the report's queries: SQLite then aggregates while
# it walks the index (no sort of a million rows), and reads nothing else (covering).
INDEXES = (
    (
        "ix_report_facts_volume",
        ["hour", "channel", "department", "urgent", "sentiment"],
    ),
    (
        "ix_report_facts_response",
        [
            "week",
            "a_department",
            "channel",
            "a_urgent",
            "sla",
            "response_minute",
            "created_ts",
            "due_us",
        ],
    ),
    (
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
    ),
    ("ix_report_facts_person", ["week", "assignee", "a_status", "created_ts"]),
    ("ix_report_facts_followers", ["week", "followers", "mention_id", "created_ts"]),
)
# Only the urgent rows: small, and never mistaken for a way through the others.
URGENT_INDEX = "ix_report_facts_urgent"

# ---- SQLite ---------------------------------------------------------------------------------

# Whole seconds since the epoch of a stored UTC instant ('YYYY-MM-DD HH:MM:SS.ffffff'), read
# without its fraction: strftime rounds to milliseconds, which would tip .9996 to the next second.
_SQLITE_TS = "CAST(strftime('%s', substr({0}, 1, 19)) AS INTEGER)"
# Microseconds since the epoch, exact (a shorter or missing fraction is padded with zeros).
_SQLITE_US = (
    "(CAST(strftime('%s', substr({0}, 1, 19)) AS INTEGER) * 1000000"
    " + CAST(substr({0} || '000000', 21, 6) AS INTEGER))"
)
_SQLITE_MENTION_VALUES = (
    "SELECT NEW.id, ts, ts / 3600, (ts + {shift}) / 604800, NEW.channel, "
    "COALESCE(NEW.author_followers, -1) FROM (SELECT {ts} AS ts)"
).format(shift=WEEK_SHIFT, ts=_SQLITE_TS.format("NEW.created_at"))
_NEW_TS = _SQLITE_TS.format("NEW.created_at")
_SQLITE_CLASSIFICATION = """
    UPDATE report_facts SET
        department = (SELECT c.department FROM classifications c
                      WHERE c.mention_id = report_facts.mention_id AND c.is_current),
        urgent = (SELECT c.urgent FROM classifications c
                  WHERE c.mention_id = report_facts.mention_id AND c.is_current),
        sentiment = (SELECT c.sentiment FROM classifications c
                     WHERE c.mention_id = report_facts.mention_id AND c.is_current)
    WHERE mention_id = {row}.mention_id{extra};
"""
# Whole seconds from the mention's creation to the first action, rounded half up, in exact
# integer microseconds (julianday's floating point could tip a half second either way).
_SQLITE_SECONDS = "(({acted} - {created}) + 500000) / 1000000".format(
    acted=_SQLITE_US.format("NEW.acted_at"),
    created=_SQLITE_US.format("(SELECT m.created_at FROM mentions m WHERE m.id = NEW.mention_id)"),
)
_SQLITE_SLA = (
    "CASE WHEN NEW.status = 'withdrawn' THEN 'withdrawn' "
    "WHEN NEW.acted_at IS NOT NULL AND NEW.acted_at <= NEW.due_at THEN 'met' "
    "WHEN NEW.acted_at IS NOT NULL THEN 'breached' END"
)
_SQLITE_ASSIGNMENT = f"""
    UPDATE report_facts SET
        a_department = NEW.department, a_urgent = NEW.urgent, assignee = NEW.assignee,
        a_status = NEW.status, due_us = {_SQLITE_US.format("NEW.due_at")}, sla = {_SQLITE_SLA},
        response_seconds = {_SQLITE_SECONDS},
        response_minute = {_SQLITE_SECONDS} / 60
    WHERE mention_id = NEW.mention_id;
"""
_SQLITE_ASSIGNMENT_GONE = """
    UPDATE report_facts SET a_department = NULL, a_urgent = NULL, assignee = NULL,
        a_status = NULL, due_us = NULL, sla = NULL, response_seconds = NULL,
        response_minute = NULL
    WHERE mention_id = OLD.mention_id{extra};
"""
_MOVED = " AND OLD.mention_id <> NEW.mention_id"
_ASSIGNMENT_COLUMNS = "department, urgent, assignee, status, due_at, acted_at, mention_id"

SQLITE_TRIGGERS = {
    "report_facts_mention_insert": f"""
        CREATE TRIGGER report_facts_mention_insert AFTER INSERT ON mentions BEGIN
            INSERT INTO report_facts
                (mention_id, created_ts, hour, week, channel, followers)
            {_SQLITE_MENTION_VALUES};
        END""",
    "report_facts_mention_update": f"""
        CREATE TRIGGER report_facts_mention_update
        AFTER UPDATE OF created_at, channel, author_followers ON mentions BEGIN
            UPDATE report_facts SET created_ts = {_NEW_TS}, hour = {_NEW_TS} / 3600,
                week = ({_NEW_TS} + {WEEK_SHIFT}) / 604800, channel = NEW.channel,
                followers = COALESCE(NEW.author_followers, -1)
            WHERE mention_id = NEW.id;
        END""",
    "report_facts_classification_insert": f"""
        CREATE TRIGGER report_facts_classification_insert AFTER INSERT ON classifications
        BEGIN {_SQLITE_CLASSIFICATION.format(row="NEW", extra="")} END""",
    "report_facts_classification_update": f"""
        CREATE TRIGGER report_facts_classification_update
        AFTER UPDATE OF is_current, department, urgent, sentiment, mention_id ON classifications
        BEGIN
            {_SQLITE_CLASSIFICATION.format(row="OLD", extra=_MOVED)}
            {_SQLITE_CLASSIFICATION.format(row="NEW", extra="")}
        END""",
    "report_facts_classification_delete": f"""
        CREATE TRIGGER report_facts_classification_delete AFTER DELETE ON classifications
        BEGIN {_SQLITE_CLASSIFICATION.format(row="OLD", extra="")} END""",
    "report_facts_assignment_insert": f"""
        CREATE TRIGGER report_facts_assignment_insert AFTER INSERT ON assignments
        BEGIN {_SQLITE_ASSIGNMENT} END""",
    "report_facts_assignment_update": f"""
        CREATE TRIGGER report_facts_assignment_update
        AFTER UPDATE OF {_ASSIGNMENT_COLUMNS} ON assignments
        BEGIN {_SQLITE_ASSIGNMENT_GONE.format(extra=_MOVED)} {_SQLITE_ASSIGNMENT} END""",
    "report_facts_assignment_delete": f"""
        CREATE TRIGGER report_facts_assignment_delete AFTER DELETE ON assignments
        BEGIN {_SQLITE_ASSIGNMENT_GONE.format(extra="")} END""",
}

# ---- PostgreSQL -----------------------------------------------------------------------------

_PG_FUNCTIONS = f"""
CREATE FUNCTION report_facts_bulk() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('socialops.bulk_load', true), '') = 'on'
$$;

CREATE FUNCTION report_facts_classification(mention bigint) RETURNS void LANGUAGE sql AS $$
    UPDATE report_facts f SET department = c.department, urgent = c.urgent,
        sentiment = c.sentiment
    FROM (SELECT mention AS mention_id) k
    LEFT JOIN classifications c ON c.mention_id = k.mention_id AND c.is_current
    WHERE f.mention_id = k.mention_id
$$;

CREATE FUNCTION report_facts_assignment(mention bigint) RETURNS void LANGUAGE sql AS $$
    UPDATE report_facts f SET
        a_department = a.department, a_urgent = a.urgent, assignee = a.assignee,
        a_status = a.status,
        due_us = floor(extract(epoch FROM a.due_at) * 1000000)::bigint,
        sla = CASE WHEN a.status = 'withdrawn' THEN 'withdrawn'
                   WHEN a.acted_at IS NOT NULL AND a.acted_at <= a.due_at THEN 'met'
                   WHEN a.acted_at IS NOT NULL THEN 'breached' END,
        response_seconds = round(extract(epoch FROM a.acted_at - m.created_at))::bigint,
        response_minute = round(extract(epoch FROM a.acted_at - m.created_at))::bigint / 60
    FROM (SELECT mention AS mention_id) k
    JOIN mentions m ON m.id = k.mention_id
    LEFT JOIN assignments a ON a.mention_id = k.mention_id
    WHERE f.mention_id = k.mention_id
$$;

CREATE FUNCTION report_facts_on_mention() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ts bigint := floor(extract(epoch FROM NEW.created_at))::bigint;
BEGIN
    IF report_facts_bulk() THEN RETURN NULL; END IF;
    INSERT INTO report_facts (mention_id, created_ts, hour, week, channel, followers)
    VALUES (NEW.id, ts, floor(ts / 3600.0)::bigint, floor((ts + {WEEK_SHIFT}) / 604800.0)::int,
            NEW.channel, coalesce(NEW.author_followers, -1))
    ON CONFLICT (mention_id) DO UPDATE SET created_ts = EXCLUDED.created_ts,
        hour = EXCLUDED.hour, week = EXCLUDED.week, channel = EXCLUDED.channel,
        followers = EXCLUDED.followers;
    RETURN NULL;
END $$;

CREATE FUNCTION report_facts_on_classification() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF report_facts_bulk() THEN RETURN NULL; END IF;
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.mention_id <> NEW.mention_id) THEN
        PERFORM report_facts_classification(OLD.mention_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN PERFORM report_facts_classification(NEW.mention_id);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION report_facts_on_assignment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF report_facts_bulk() THEN RETURN NULL; END IF;
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.mention_id <> NEW.mention_id) THEN
        PERFORM report_facts_assignment(OLD.mention_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN PERFORM report_facts_assignment(NEW.mention_id);
    END IF;
    RETURN NULL;
END $$;
"""
PG_TRIGGERS = {
    "report_facts_mention": "AFTER INSERT OR UPDATE OF created_at, channel, author_followers "
    "ON mentions FOR EACH ROW EXECUTE FUNCTION report_facts_on_mention()",
    "report_facts_classification": "AFTER INSERT OR DELETE OR UPDATE OF is_current, "
    "department, urgent, sentiment, mention_id ON classifications FOR EACH ROW "
    "EXECUTE FUNCTION report_facts_on_classification()",
    "report_facts_assignment": f"AFTER INSERT OR DELETE OR UPDATE OF {_ASSIGNMENT_COLUMNS} "
    "ON assignments FOR EACH ROW EXECUTE FUNCTION report_facts_on_assignment()",
}
_PG_FUNCTION_NAMES = (
    "report_facts_on_assignment()",
    "report_facts_on_classification()",
    "report_facts_on_mention()",
    "report_facts_assignment(bigint)",
    "report_facts_classification(bigint)",
    "report_facts_bulk()",
)

# ---- Backfill (both) ------------------------------------------------------------------------

_BACKFILL_SECONDS = "(({} - {}) + 500000) / 1000000".format(
    _SQLITE_US.format("a.acted_at"), _SQLITE_US.format("v.created_at")
)
_BACKFILL_SQLITE = f"""
INSERT INTO report_facts (mention_id, created_ts, hour, week, channel, followers, department,
    urgent, sentiment, a_department, a_urgent, assignee, a_status, due_us, sla,
    response_seconds, response_minute)
SELECT v.id, v.ts, v.ts / 3600, (v.ts + {WEEK_SHIFT}) / 604800, v.channel, v.followers,
    c.department, c.urgent, c.sentiment, a.department, a.urgent, a.assignee, a.status,
    CASE WHEN a.id IS NOT NULL THEN {_SQLITE_US.format("a.due_at")} END,
    {_SQLITE_SLA.replace("NEW.", "a.")},
    {_BACKFILL_SECONDS}, {_BACKFILL_SECONDS} / 60
FROM (
    SELECT m.id, m.created_at, {_SQLITE_TS.format("m.created_at")} AS ts, m.channel,
        COALESCE(m.author_followers, -1) AS followers
    FROM mentions m
) v
LEFT JOIN classifications c ON c.mention_id = v.id AND c.is_current
LEFT JOIN assignments a ON a.mention_id = v.id
"""
_BACKFILL_PG = f"""
INSERT INTO report_facts (mention_id, created_ts, hour, week, channel, followers, department,
    urgent, sentiment, a_department, a_urgent, assignee, a_status, due_us, sla,
    response_seconds, response_minute)
SELECT v.id, v.ts, floor(v.ts / 3600.0)::bigint, floor((v.ts + {WEEK_SHIFT}) / 604800.0)::int,
    v.channel, v.followers, c.department, c.urgent, c.sentiment, a.department, a.urgent,
    a.assignee, a.status, floor(extract(epoch FROM a.due_at) * 1000000)::bigint,
    CASE WHEN a.status = 'withdrawn' THEN 'withdrawn'
         WHEN a.acted_at IS NOT NULL AND a.acted_at <= a.due_at THEN 'met'
         WHEN a.acted_at IS NOT NULL THEN 'breached' END,
    round(extract(epoch FROM a.acted_at - v.created_at))::bigint,
    round(extract(epoch FROM a.acted_at - v.created_at))::bigint / 60
FROM (
    SELECT m.id, m.created_at, floor(extract(epoch FROM m.created_at))::bigint AS ts, m.channel,
        coalesce(m.author_followers, -1) AS followers
    FROM mentions m
) v
LEFT JOIN classifications c ON c.mention_id = v.id AND c.is_current
LEFT JOIN assignments a ON a.mention_id = v.id
"""


# Indexes migration 0006 added for the report's joins, which it no longer makes: every write
# of a mention, classification or assignment paid for them.
OBSOLETE = (
    ("ix_mentions_report", "mentions", ["created_at", "channel", "author_followers"]),
    (
        "ix_classifications_report",
        "classifications",
        ["mention_id", "is_current", "department", "urgent", "sentiment"],
    ),
    (
        "ix_assignments_report",
        "assignments",
        ["mention_id", "department", "urgent", "status", "acted_at", "due_at"],
    ),
    ("ix_assignments_received", "assignments", ["received_at", "assignee", "status"]),
    ("ix_notifications_created", "notifications", ["created_at", "event", "status"]),
)
# The week's notifications per event and status, walked pair by pair (a loose index scan).
NOTIFICATIONS_INDEX = ("ix_notifications_event_status", ["event", "status", "created_at"])


def upgrade() -> None:
    for name, table, _columns in OBSOLETE:
        op.drop_index(name, table_name=table)
    op.create_table(
        "report_facts",
        sa.Column("mention_id", BIG_ID, nullable=False),
        sa.Column("created_ts", sa.BigInteger(), nullable=False),  # epoch seconds (floor)
        sa.Column("hour", sa.BigInteger(), nullable=False),  # created_ts / 3600
        sa.Column("week", sa.Integer(), nullable=False),  # UTC weeks from Monday 1969-12-29
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("followers", sa.Integer(), nullable=False),  # -1: not known
        sa.Column("department", sa.String(32), nullable=True),  # None: not classified
        sa.Column("urgent", sa.Boolean(), nullable=True),
        sa.Column("sentiment", sa.String(16), nullable=True),
        sa.Column("a_department", sa.String(32), nullable=True),  # None: no assignment
        sa.Column("a_urgent", sa.Boolean(), nullable=True),
        sa.Column("assignee", sa.String(64), nullable=True),
        sa.Column("a_status", sa.String(16), nullable=True),
        sa.Column("due_us", sa.BigInteger(), nullable=True),  # epoch microseconds
        sa.Column("sla", sa.String(9), nullable=True),  # met, breached, withdrawn; None: open
        sa.Column("response_seconds", sa.BigInteger(), nullable=True),
        sa.Column("response_minute", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["mention_id"], ["mentions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("mention_id"),
    )
    dialect = op.get_bind().dialect.name
    op.execute(_BACKFILL_PG if dialect == "postgresql" else _BACKFILL_SQLITE)
    for name, columns in INDEXES:
        op.create_index(name, "report_facts", columns)
    op.create_index(
        URGENT_INDEX,
        "report_facts",
        ["created_ts"],
        sqlite_where=sa.text("urgent = 1"),
        postgresql_where=sa.text("urgent"),
    )
    op.create_index(NOTIFICATIONS_INDEX[0], "notifications", NOTIFICATIONS_INDEX[1])
    if dialect == "postgresql":
        op.execute(_PG_FUNCTIONS)
        for name, body in PG_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
    else:
        for ddl in SQLITE_TRIGGERS.values():
            op.execute(ddl)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for name, body in PG_TRIGGERS.items():
            table = body.split(" ON ")[1].split()[0]
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        for function in _PG_FUNCTION_NAMES:
            op.execute(f"DROP FUNCTION IF EXISTS {function}")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index(NOTIFICATIONS_INDEX[0], table_name="notifications")
    op.drop_index(URGENT_INDEX, table_name="report_facts")
    for name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name="report_facts")
    op.drop_table("report_facts")
    for name, table, columns in OBSOLETE:
        op.create_index(name, table, columns)
