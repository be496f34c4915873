"""Writing the seed's rows straight into the database (``socialops seed``).

On SQLite an ``executemany`` of a Core-compiled INSERT per table (no ORM, no per-value type
processing) on the raw driver connection, inside one explicit transaction for the whole seed,
with the load's PRAGMAs (no fsync, no foreign-key look-ups, a large page cache) for the seed's
own connection only; on PostgreSQL ``COPY``. The seed writes the report facts itself, so the
triggers that keep them for every other writer are off for its own transactions only (dropped
and re-created inside the transaction on SQLite; ``SET LOCAL socialops.bulk_load`` on
PostgreSQL).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, column, table

from socialops import storage
from socialops.report import rollups

Rows = list[tuple[Any, ...]]

_MENTION_COLS = (
    "id", "platform", "external_id", "channel", "url", "author_handle", "author_display_name",
    "author_followers", "text", "lang", "created_at", "fetched_at", "visibility", "raw",
)  # fmt: skip
_CLASS_COLS = (
    "id", "mention_id", "department", "urgent", "sentiment", "confidence", "explanation",
    "model_version", "classified_at", "is_current",
)  # fmt: skip
_ASSIGN_COLS = (
    "id", "mention_id", "classification_id", "department", "assignee", "urgent", "source",
    "status", "escalation_level", "received_at", "assigned_at", "due_at", "next_escalation_at",
    "acted_at", "acted_by", "updated_at", "queued_at", "first_assigned_at", "queued_seconds",
)  # fmt: skip
_STEP_COLS = ("assignment_id", "chain", "level", "target", "from_person", "to_person", "due_at",
              "fired_at", "note")  # fmt: skip
_NOTE_COLS = ("dedupe_key", "event", "recipient", "assignment_id", "mention_id", "urgent",
              "title", "body", "status", "attempts", "created_at", "next_attempt_at",
              "sent_at")  # fmt: skip
_FACT_COLS = (
    "mention_id", "created_ts", "hour", "week", "channel", "followers", "department", "urgent",
    "sentiment", "a_department", "a_urgent", "assignee", "a_status", "due_us", "sla",
    "response_seconds", "response_minute",
)  # fmt: skip
_DRAFT_COLS = (
    "id", "kind", "mention_id", "channel", "platform", "department", "urgent", "intent", "lang",
    "text", "version", "author", "assignee", "in_reply_to_id", "visibility", "status",
    "approvals_required", "scheduled_at", "due_at", "approved_at", "rejection_reason",
    "idempotency_key", "attempts", "published_at", "external_id", "external_url", "last_error",
    "created_at", "updated_at",
)  # fmt: skip
_APPROVAL_COLS = ("draft_id", "version", "approver", "role", "via", "at")
_TABLES: tuple[tuple[type[storage.Base], tuple[str, ...]], ...] = (
    (storage.MentionRow, _MENTION_COLS),
    (storage.ReportFactRow, _FACT_COLS),
    (storage.ClassificationRow, _CLASS_COLS),
    (storage.AssignmentRow, _ASSIGN_COLS),
    (storage.NotificationRow, _NOTE_COLS),
    (storage.EscalationStepRow, _STEP_COLS),
    (storage.DraftRow, _DRAFT_COLS),
    (storage.DraftApprovalRow, _APPROVAL_COLS),
)


class Loader:
    """Writes the batches; the report-facts triggers are off for the seed's own writes.

    SQLite: one transaction for the whole seed on the raw driver connection (autocommit mode,
    explicit ``BEGIN IMMEDIATE`` / ``COMMIT``: the driver would otherwise commit the DDL on its
    own), with the load's PRAGMAs for this connection only, put back afterwards. When the seed
    at least doubles the mentions table, the seeded tables' secondary indexes are dropped and
    built again once at the end (one sort per index instead of a million scattered inserts);
    a failure rolls it all back, indexes and triggers included. PostgreSQL: ``COPY``, one
    transaction per batch.
    """

    def __init__(self, engine: Engine, *, mentions: int) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.mentions = mentions
        self.saved: list[str] = []  # DDL to run again before the commit

    raw: Any  # the driver's connection (sqlite3 or psycopg)

    def __enter__(self) -> Loader:
        self.conn = self.engine.connect()
        self.raw = self.conn.connection.dbapi_connection
        if self.dialect != "sqlite":
            return self
        self.saved_isolation = self.raw.isolation_level
        self.raw.isolation_level = None
        for pragma in (
            "foreign_keys=OFF",  # consistent by construction: no per-row look-ups
            "synchronous=OFF",  # a seed that dies is rolled back and seeded again
            "cache_size=-262144",  # 256 MiB of pages: the indexes stay in memory
            "temp_store=MEMORY",
        ):
            self.raw.execute(f"PRAGMA {pragma}")
        self.sql = {
            model: str(
                table(model.__tablename__, *(column(n) for n in names))
                .insert()
                .compile(dialect=self.engine.dialect)
            )
            for model, names in _TABLES
        }
        raw = self.raw
        raw.execute("BEGIN IMMEDIATE")
        try:
            have = raw.execute("SELECT count(*) FROM mentions").fetchone()[0]
            names = [model.__tablename__ for model, _ in _TABLES]
            marks = ", ".join("?" * len(names))
            kinds = "('trigger', 'index')" if have < self.mentions else "('trigger')"
            found = raw.execute(
                f"SELECT type, name, sql FROM sqlite_master WHERE type IN {kinds} "
                f"AND sql IS NOT NULL AND tbl_name IN ({marks}) "
                "AND (type = 'index' OR name LIKE 'report_facts%')",
                names,
            ).fetchall()
            for kind, name, sql in found:
                raw.execute(f'DROP {kind.upper()} "{name}"')
                self.saved.append(sql)
        except BaseException:
            raw.execute("ROLLBACK")
            raise
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        try:
            if self.dialect == "sqlite":
                if kind is None:
                    for sql in self.saved:  # indexes built once, triggers back
                        self.raw.execute(sql)
                    self.raw.execute("COMMIT")
                else:
                    self.raw.execute("ROLLBACK")
                for pragma in ("foreign_keys=ON", "synchronous=NORMAL", "cache_size=-2000"):
                    self.raw.execute(f"PRAGMA {pragma}")
                self.raw.isolation_level = self.saved_isolation
        finally:
            self.conn.close()

    def batch(self, tables: dict[type[storage.Base], Rows]) -> None:
        if self.dialect == "sqlite":
            for model, _names in _TABLES:
                if tables.get(model):
                    self.raw.executemany(self.sql[model], tables[model])
        else:
            self._postgres(tables)

    def _postgres(self, tables: dict[type[storage.Base], Rows]) -> None:
        with self.conn.begin():
            self.conn.exec_driver_sql("SET LOCAL socialops.bulk_load = 'on'")
            with self.raw.cursor() as cursor:
                for model, names in _TABLES:
                    rows = tables.get(model)
                    if not rows:
                        continue
                    sql = f"COPY {model.__tablename__} ({', '.join(names)}) FROM STDIN"
                    with cursor.copy(sql) as copy:
                        for row in rows:
                            copy.write_row(row)

    def add_rollups(
        self, first_mention: int, last_mention: int, first_assignment: int, last_assignment: int
    ) -> int:
        """The seeded facts into the hourly roll-ups, the queued items into the queue facts
        (their triggers are off for the seed); how many rows that wrote."""
        statements = [
            *rollups.add_facts_sql(
                self.dialect, first_mention=first_mention, last_mention=last_mention
            ),
            rollups.add_queue_facts_sql(
                self.dialect, first_assignment=first_assignment, last_assignment=last_assignment
            ),
        ]
        written = 0
        if self.dialect == "sqlite":
            for sql in statements:
                written += self.raw.execute(sql).rowcount
            return written
        with self.conn.begin():
            for sql in statements:
                written += self.conn.exec_driver_sql(sql).rowcount
        return written

    def move_sequences(self) -> None:
        """Explicit ids on PostgreSQL: move the sequences past them."""
        if self.dialect != "postgresql":
            return
        with self.conn.begin():
            for model in (
                storage.MentionRow,
                storage.ClassificationRow,
                storage.AssignmentRow,
                storage.DraftRow,
            ):
                name = model.__tablename__
                self.conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM {name}))"
                )
