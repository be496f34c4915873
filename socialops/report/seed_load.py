"""Writing the seed's rows straight into the database (``socialops seed``).

On SQLite an ``executemany`` per table of an INSERT that binds only the columns that differ
from row to row (the others are literals in the statement; no ORM, no per-value type
processing) on the raw driver connection, inside one explicit transaction for the whole seed,
with the load's PRAGMAs (no fsync, no foreign-key look-ups, a large page cache) for the seed's
own connection only; on PostgreSQL ``COPY``. The seed writes the report facts itself, so the
triggers that keep them for every other writer are off for its own transactions only (dropped
and re-created inside the transaction on SQLite; ``SET LOCAL socialops.bulk_load`` on
PostgreSQL).
"""

from __future__ import annotations

import sqlite3
import time
from itertools import repeat
from typing import Any

from sqlalchemy import Engine

from socialops import storage
from socialops.report import rollups, signoff_facts

# One table's rows as named columns: a list (a value per row) or one value for every row.
Columns = dict[str, Any]
# The seeded tables, in the order each batch is written.
SEEDED: tuple[type[storage.Base], ...] = (
    storage.MentionRow,
    storage.ReportFactRow,
    storage.ClassificationRow,
    storage.AssignmentRow,
    storage.NotificationRow,
    storage.EscalationStepRow,
    storage.DraftRow,
    storage.DraftApprovalRow,
    storage.AuditRow,
)


def row_count(columns: Columns) -> int:
    return next((len(v) for v in columns.values() if isinstance(v, list)), 0)


def _literal(value: Any) -> str:
    """One value for every row, as SQLite literal text (as SQLAlchemy would store it)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool | int | float):
        return str(int(value)) if isinstance(value, bool) else repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def sqlite_insert(name: str, columns: Columns) -> tuple[str, list[list[Any]]]:
    """An INSERT whose per-row columns are numbered parameters (a list given for two columns
    is bound once) and whose other columns are literals: SQLite binds per row only what
    differs from row to row. Returns the statement and the lists to bind, in order."""
    bound: list[list[Any]] = []
    values = []
    for value in columns.values():
        if not isinstance(value, list):
            values.append(_literal(value))
            continue
        k = next((k for k, b in enumerate(bound) if b is value), None)
        if k is None:
            bound.append(value)
            k = len(bound) - 1
        values.append(f"?{k + 1}")
    sql = f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join(values)})"
    return sql, bound


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
            # Pages in memory (KiB): about 2 KiB per seeded mention, 256 MiB to 2 GiB, so
            # the tables stay cached while their indexes are built and nothing is written
            # twice (spilled mid-transaction, then again at the commit).
            f"cache_size=-{min(max(2 * self.mentions, 262_144), 2_097_152)}",
            "temp_store=MEMORY",
        ):
            self.raw.execute(f"PRAGMA {pragma}")
        self.restore_wal = self._leave_wal()
        raw = self.raw
        raw.execute("BEGIN IMMEDIATE")
        try:
            have = raw.execute("SELECT count(*) FROM mentions").fetchone()[0]
            names = [model.__tablename__ for model in SEEDED]
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
                if self.restore_wal:
                    self._back_to_wal()
                self.raw.isolation_level = self.saved_isolation
        finally:
            self.conn.close()

    def _leave_wal(self) -> bool:
        """A file nobody else has open is seeded with a rollback journal instead of the WAL:
        each page is then written once, into the file, instead of into the WAL and again by
        the checkpoint (pages past the file's old end need no journal). Whether the WAL is to
        be put back afterwards; with anyone else connected, the seed stays in WAL."""
        try:
            if str(self.raw.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                return False
            mode = self.raw.execute("PRAGMA journal_mode=TRUNCATE").fetchone()[0]
        except sqlite3.OperationalError:  # "database is locked": others have it open
            return False
        return str(mode).lower() != "wal"

    def _back_to_wal(self, wait: float = 30.0) -> None:
        """WAL again; a reader that opened the file meanwhile is waited for, as for a lock."""
        deadline = time.monotonic() + wait
        while True:
            try:
                self.raw.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def batch(self, tables: dict[type[storage.Base], list[Columns]]) -> None:
        if self.dialect != "sqlite":
            self._postgres(tables)
            return
        for model in SEEDED:
            for columns in tables.get(model, []):
                if row_count(columns):
                    sql, bound = sqlite_insert(model.__tablename__, columns)
                    self.raw.executemany(sql, zip(*bound, strict=True))

    def _postgres(self, tables: dict[type[storage.Base], list[Columns]]) -> None:
        with self.conn.begin():
            self.conn.exec_driver_sql("SET LOCAL socialops.bulk_load = 'on'")
            with self.raw.cursor() as cursor:
                for model in SEEDED:
                    for columns in tables.get(model, []):
                        n = row_count(columns)
                        if not n:
                            continue
                        names = ", ".join(columns)
                        every = (
                            v if isinstance(v, list) else repeat(v, n) for v in columns.values()
                        )
                        with cursor.copy(
                            f"COPY {model.__tablename__} ({names}) FROM STDIN"
                        ) as copy:
                            for row in zip(*every, strict=True):
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
            signoff_facts.add_signoff_facts_sql(self.dialect),
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
