"""Hourly roll-ups of the report facts (migration 0016): what the weekly report reads.

Three tables of counts per UTC hour of a mention's arrival, kept by triggers on
``report_facts`` (an insert adds one, a delete takes one away, an update of a key moves one):
volume (channel, department, urgency, sentiment), response (the assignment's department,
channel, SLA outcome, first-response minute, and the due hour of an item still waiting) and
items per person (assignee, status). A busy week is a million facts but a few thousand
volume rows and a few hundred thousand response rows at most; the report reads those.

A bulk writer that switched the triggers off (``socialops seed``) adds its own facts to the
roll-ups with :func:`add_facts` before it commits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from socialops import storage

US_PER_HOUR = 3_600_000_000
NEVER = 2**62  # the due hour of a waiting item without a due time
NOT_WAITING = -1  # due_hour of an item with a final outcome
NO_RESPONSE = -1  # minute of an item not acted on
NOBODY = ""  # assignee of an item waiting in a queue; department/sentiment not classified


class VolumeHourRow(storage.Base):
    """Mentions per UTC hour, channel, department, urgency and sentiment."""

    __tablename__ = "report_volume_hours"
    __table_args__ = ({"sqlite_with_rowid": False},)

    hour: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    department: Mapped[str] = mapped_column(String(32), primary_key=True)  # '': not classified
    urgent: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    sentiment: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class ResponseHourRow(storage.Base):
    """Assigned mentions per UTC hour, department, channel, outcome, response minute, due hour."""

    __tablename__ = "report_response_hours"
    __table_args__ = ({"sqlite_with_rowid": False},)

    # Key order = the report's GROUP BY order within a UTC week, the hour last (no sort).
    week: Mapped[int] = mapped_column(Integer, primary_key=True)  # as report_facts.week
    department: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    sla: Mapped[str] = mapped_column(String(9), primary_key=True)  # '': waiting
    minute: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # -1: no response
    due_hour: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # -1: not waiting
    hour: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class PersonHourRow(storage.Base):
    """Assigned mentions per UTC hour, assignee and assignment status."""

    __tablename__ = "report_person_hours"
    __table_args__ = ({"sqlite_with_rowid": False},)

    hour: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    assignee: Mapped[str] = mapped_column(String(64), primary_key=True)  # '': nobody
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class QueueFactRow(storage.Base):
    """One row per assignment that waited in its department's queue, with its times as
    integers (the report's time-in-queue section reads these instead of parsing timestamps)."""

    __tablename__ = "report_queue_facts"
    __table_args__ = (
        # The week's queued items per department in order of each duration (migration 0017):
        # the report counts their percentiles while it walks these, with no sort.
        Index(
            "ix_report_queue_facts_owner",
            "week",
            "department",
            "owner_seconds",
            "status",
            "received_ts",
        ),
        Index(
            "ix_report_queue_facts_waited",
            "week",
            "department",
            "queued_seconds",
            "status",
            "queued_at_us",
            "received_ts",
        ),
        # The few items still queued (their wait runs to the report's time).
        Index(
            "ix_report_queue_facts_still",
            "week",
            "department",
            "queued_seconds",
            "queued_at_us",
            "received_ts",
            sqlite_where=text("status = 'queued'"),
            postgresql_where=text("status = 'queued'"),
        ),
    )

    assignment_id: Mapped[int] = mapped_column(
        storage.BigIntId,
        ForeignKey("assignments.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    received_ts: Mapped[int] = mapped_column(BigInteger)  # epoch seconds (floor)
    department: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    # first_assigned_at - received_at, whole seconds (rounded); None: never had an owner
    owner_seconds: Mapped[int | None] = mapped_column(BigInteger)
    queued_seconds: Mapped[int | None] = mapped_column(BigInteger)  # finished stays
    queued_at_us: Mapped[int | None] = mapped_column(BigInteger)  # when it last entered
    # received_ts's UTC week (from Monday 1969-12-29), as report_facts.week (migration 0017).
    week: Mapped[int | None] = mapped_column(Integer)


# The key of each roll-up over a facts row ``f``, and which facts rows count in it: the same
# expressions as the triggers of migration 0016 (tests/test_report_rollups.py compares them).
_KEYS: dict[str, tuple[list[tuple[str, str]], str]] = {
    "report_volume_hours": (
        [
            ("hour", "f.hour"),
            ("channel", "f.channel"),
            ("department", "COALESCE(f.department, '')"),
            ("urgent", "COALESCE(f.urgent, {false})"),
            ("sentiment", "COALESCE(f.sentiment, '')"),
        ],
        "1 = 1",
    ),
    "report_response_hours": (
        [
            ("week", "f.week"),
            ("hour", "f.hour"),
            ("department", "f.a_department"),
            ("channel", "f.channel"),
            ("sla", "COALESCE(f.sla, '')"),
            ("minute", f"COALESCE(f.response_minute, {NO_RESPONSE})"),
            (
                "due_hour",
                f"CASE WHEN f.sla IS NOT NULL THEN {NOT_WAITING} "
                f"ELSE COALESCE(f.due_us / {US_PER_HOUR}, {NEVER}) END",
            ),
        ],
        "f.a_department IS NOT NULL",
    ),
    "report_person_hours": (
        [("hour", "f.hour"), ("assignee", "COALESCE(f.assignee, '')"), ("status", "f.a_status")],
        "f.a_status IS NOT NULL",
    ),
}


def add_facts_sql(dialect: str, *, first_mention: int, last_mention: int) -> list[str]:
    """Statements adding the facts of mentions ``first_mention..last_mention`` to the
    roll-ups (one ``GROUP BY`` per table, added to what is there)."""
    false = "false" if dialect == "postgresql" else "0"
    out = []
    for table, (keys, condition) in _KEYS.items():
        names = ", ".join(k for k, _ in keys)
        values = ", ".join(f"{e.format(false=false)} AS {k}" for k, e in keys)
        out.append(
            f"INSERT INTO {table} ({names}, n) "
            f"SELECT {names}, count(*) FROM (SELECT {values} FROM report_facts f "
            f"WHERE {condition} AND f.mention_id BETWEEN {int(first_mention)} "
            f"AND {int(last_mention)}) v GROUP BY {names} "
            f"ON CONFLICT ({names}) DO UPDATE SET n = {table}.n + excluded.n"
        )
    return out


_SQLITE_US = (
    "(CAST(strftime('%s', substr({0}, 1, 19)) AS INTEGER) * 1000000"
    " + CAST(substr({0} || '000000', 21, 6) AS INTEGER))"
)
_QUEUED = "(a.queued_at IS NOT NULL OR a.queued_seconds > 0)"


def add_queue_facts_sql(dialect: str, *, first_assignment: int, last_assignment: int) -> str:
    """The statement adding the queued items among assignments ``first..last`` to
    ``report_queue_facts`` (the same values as the triggers of migrations 0016 and 0017)."""
    if dialect == "postgresql":
        received = "floor(extract(epoch FROM a.received_at))::bigint"
        owner = "round(extract(epoch FROM a.first_assigned_at - a.received_at))::bigint"
        queued_at = "floor(extract(epoch FROM a.queued_at) * 1000000)::bigint"
    else:
        received = "CAST(strftime('%s', substr(a.received_at, 1, 19)) AS INTEGER)"
        diff = "({} - {})".format(
            _SQLITE_US.format("a.first_assigned_at"), _SQLITE_US.format("a.received_at")
        )
        owner = (
            f"CASE WHEN {diff} >= 0 THEN ({diff} + 500000) / 1000000 "
            f"ELSE -((500000 - {diff}) / 1000000) END"
        )
        queued_at = _SQLITE_US.format("a.queued_at")
    return (
        "INSERT INTO report_queue_facts (assignment_id, received_ts, department, status, "
        "owner_seconds, queued_seconds, queued_at_us, week) "
        f"SELECT a.id, {received}, a.department, a.status, {owner}, a.queued_seconds, "
        f"{queued_at}, ({received} + 259200) / 604800 FROM assignments a WHERE {_QUEUED} "
        f"AND a.id BETWEEN {int(first_assignment)} AND {int(last_assignment)}"
    )


def add_facts(conn: Any, dialect: str, *, first_mention: int, last_mention: int) -> None:
    """Run :func:`add_facts_sql` on a SQLAlchemy connection."""
    for sql in add_facts_sql(dialect, first_mention=first_mention, last_mention=last_mention):
        conn.execute(text(sql))


# The report's publishing section: the week's published drafts counted per channel and kind,
# each pair one range of this index (migration 0016).
_drafts = storage.DraftRow.__table__
PUBLISHED_INDEX = Index(
    "ix_drafts_published",
    _drafts.c.status,
    _drafts.c.channel,
    _drafts.c.kind,
    _drafts.c.published_at,
)

# The backlog at the week's end: the items still open per department, by arrival, walked in
# department order from this partial index (migration 0017). ``status`` leads although it is
# always 'open' here: with no statistics, SQLite then sees the same equality as in
# (status, department) and takes this one, which also covers received_at.
_assignments = storage.AssignmentRow.__table__
OPEN_INDEX = Index(
    "ix_assignments_open_report",
    _assignments.c.status,
    _assignments.c.department,
    _assignments.c.received_at,
    sqlite_where=text("status = 'open'"),
    postgresql_where=text("status = 'open'"),
)

# The week's escalation steps per department: each step's department from this narrow index
# rather than the wide assignments row (migration 0017).
DEPARTMENT_INDEX = Index(
    "ix_assignments_id_department", _assignments.c.id, _assignments.c.department
)

volume = VolumeHourRow.__table__
response = ResponseHourRow.__table__
person = PersonHourRow.__table__
