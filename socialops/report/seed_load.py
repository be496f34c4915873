"""Writing the seed's rows straight into the database (``socialops seed``).

On SQLite the seeded tables are split between two worker processes (both cores): each makes
the rows of its tables (``Loader.write_apart``: every worker draws the whole seed, so the
rows are the same as one process would make) and writes them into a SQLite file of its own
with an ``executemany`` per table of an INSERT that binds only the columns that differ from
row to row (the others are literals in the statement; no ORM, no per-value type processing).
The target's connection, inside one explicit transaction for the whole seed with the load's
PRAGMAs (no fsync, no foreign-key look-ups, a large page cache) for its own connection only,
then copies each finished file's tables in with ``INSERT INTO main.t SELECT * FROM part.t``
(SQLite's transfer optimisation copies the records as they are when the target table is
empty) and builds their indexes while the other worker is still writing. On PostgreSQL
``COPY``. The seed writes the report facts itself, so the
triggers that keep them for every other writer are off for its own transactions only (dropped
and re-created inside the transaction on SQLite; ``SET LOCAL socialops.bulk_load`` on
PostgreSQL).
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import multiprocessing.connection
import signal
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from itertools import repeat
from pathlib import Path
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


Tables = dict[type[storage.Base], list[Columns]]


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


def _pragmas(mentions: int) -> list[str]:
    """The load's PRAGMAs, for the seed's own connections only."""
    return [
        "foreign_keys=OFF",  # consistent by construction: no per-row look-ups
        "synchronous=OFF",  # a seed that dies is rolled back and seeded again
        # Pages in memory (KiB): 3 KiB per seeded mention (the file grows about 2 KiB per
        # mention, and each cached page has its own overhead), 256 MiB to 4 GiB, so the
        # tables stay cached while their indexes are built and nothing is written twice
        # (spilled mid-transaction, then again at the commit).
        f"cache_size=-{min(max(3 * mentions, 262_144), 4_194_304)}",
        "temp_store=MEMORY",
    ]


def _executemany(
    raw: sqlite3.Connection, tables: Tables, next_ids: dict[str, int], counts: dict[str, int]
) -> None:
    """One batch's rows, table by table, counted in ``counts``; a table named in ``next_ids``
    whose rows come without their ids gets them from there (the ids SQLite would give them in
    the target: one past the largest, in the order written)."""
    for model in SEEDED:
        name = model.__tablename__
        for columns in tables.get(model, []):
            n = row_count(columns)
            if not n:
                continue
            if name in next_ids and "id" not in columns:
                columns = {"id": list(range(next_ids[name], next_ids[name] + n)), **columns}
                next_ids[name] += n
            sql, bound = sqlite_insert(name, columns)
            raw.executemany(sql, zip(*bound, strict=True))
            counts[name] = counts.get(name, 0) + n


def _write_part(
    path: str, setup: list[str], next_ids: dict[str, int], rows: Callable[[], Iterable[Tables]]
) -> None:
    """In a worker process: the batches ``rows()`` makes, into a SQLite file of their own
    (``setup``: its PRAGMAs and the target's CREATE TABLE statements; no journal: a worker
    that dies leaves a file that nobody reads). It dies with the seed's process."""
    with contextlib.suppress(AttributeError, OSError):  # Linux: PR_SET_PDEATHSIG, SIGKILL
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    raw = sqlite3.connect(path, isolation_level=None)
    for sql in setup:
        raw.execute(sql)
    raw.execute("BEGIN")
    for tables in rows():
        _executemany(raw, tables, next_ids, {})
    raw.execute("COMMIT")
    raw.close()


class Loader:
    """Writes the seed; the report-facts triggers are off for the seed's own writes.

    SQLite: one transaction for the whole seed on the raw driver connection (autocommit mode,
    explicit ``BEGIN IMMEDIATE`` / ``COMMIT``: the driver would otherwise commit the DDL on its
    own), with the load's PRAGMAs for this connection only, put back afterwards. The seeded
    tables' triggers are dropped for the transaction (the report-facts ones: the seed writes
    the facts itself; the audit log's guards against updates and deletes: the copy from a
    worker's file is only the fast transfer into a table without triggers) and created again
    before the commit. When the seed at least doubles the mentions table, the seeded tables'
    secondary indexes are dropped too and built again once each table is filled (one sort per
    index instead of a million scattered inserts). A failure rolls it all back, indexes and
    triggers included, and the workers' files are deleted. PostgreSQL: ``COPY``, one
    transaction per batch.
    """

    def __init__(self, engine: Engine, *, mentions: int) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.mentions = mentions
        self.saved: list[tuple[str, str, str]] = []  # (kind, table, DDL) to run again
        self.parts: list[str] = []  # the workers' files attached to the connection

    raw: Any  # the driver's connection (sqlite3 or psycopg)

    def __enter__(self) -> Loader:
        self.conn = self.engine.connect()
        self.raw = self.conn.connection.dbapi_connection
        if self.dialect != "sqlite":
            return self
        self.saved_isolation = self.raw.isolation_level
        self.raw.isolation_level = None
        for pragma in _pragmas(self.mentions):
            self.raw.execute(f"PRAGMA {pragma}")
        self.restore_wal = self._leave_wal()
        self.raw.execute("BEGIN IMMEDIATE")
        try:
            self._drop_for_load()
        except BaseException:
            self.raw.execute("ROLLBACK")
            raise
        return self

    def _drop_for_load(self) -> None:
        raw = self.raw
        have = raw.execute("SELECT count(*) FROM mentions").fetchone()[0]
        names = [model.__tablename__ for model in SEEDED]
        marks = ", ".join("?" * len(names))
        kinds = "('trigger', 'index')" if have < self.mentions else "('trigger')"
        # Every trigger but one another writer's insert would need (none today: the
        # report-facts ones are the seed's own work, the audit log's fire on UPDATE/DELETE).
        found = raw.execute(
            f"SELECT type, tbl_name, name, sql FROM sqlite_master WHERE type IN {kinds} "
            f"AND sql IS NOT NULL AND tbl_name IN ({marks}) AND (type = 'index' "
            "OR name LIKE 'report_facts%' OR upper(sql) NOT LIKE '%INSERT%ON%')",
            names,
        ).fetchall()
        for kind, table, name, sql in found:
            raw.execute(f'DROP {kind.upper()} "{name}"')
            self.saved.append((kind, table, sql))

    def _build(self, kind: str, tables: set[str] | None = None) -> None:
        """The dropped indexes (of ``tables``) or triggers, created again."""
        for saved in [s for s in self.saved if s[0] == kind and (tables is None or s[1] in tables)]:
            self.raw.execute(saved[2])
            self.saved.remove(saved)

    def __exit__(self, kind: object, *exc: object) -> None:
        try:
            if self.dialect == "sqlite":
                if kind is None:
                    self._build("index")
                    self._build("trigger")
                    self.raw.execute("COMMIT")
                else:
                    self.raw.execute("ROLLBACK")
                for k in range(len(self.parts)):
                    self.raw.execute(f"DETACH DATABASE part{k}")
                for pragma in ("foreign_keys=ON", "synchronous=NORMAL", "cache_size=-2000"):
                    self.raw.execute(f"PRAGMA {pragma}")
                if self.restore_wal:
                    self._back_to_wal()
                self.raw.isolation_level = self.saved_isolation
        finally:
            self.conn.close()

    def write_apart(
        self,
        groups: Sequence[tuple[type[storage.Base], ...]],
        rows: Callable[[tuple[type[storage.Base], ...]], Iterable[Tables]],
    ) -> dict[type[storage.Base], int]:
        """SQLite, on every core: the first group of tables written here while each other
        group is written by a worker process of its own (forked before anything is drawn:
        ``rows(group)`` makes that group's batches in it) into a file, copied in once done;
        how many rows each table got. A worker that fails fails the seed (rolled back by
        ``__exit__``); its file and the others are deleted."""
        with tempfile.TemporaryDirectory(prefix="socialops-seed-") as tmp:
            running = {}
            try:
                for k, group in enumerate(groups[1:]):
                    worker = self._start(str(Path(tmp) / f"part{k}.db"), group, rows)
                    running[worker[0].sentinel] = worker
                counts = self._write_here(groups[0], rows)
                while running:
                    for done in multiprocessing.connection.wait(list(running)):
                        process, path, group = running.pop(done)
                        process.join()
                        if process.exitcode != 0:
                            names = ", ".join(m.__tablename__ for m in group)
                            raise RuntimeError(
                                f"the seed's worker for {names} failed (exit code "
                                f"{process.exitcode}); nothing was written"
                            )
                        counts |= self._take(path, group)
            finally:
                for process, _, _ in running.values():
                    process.kill()
                    process.join()
        return {model: counts[model.__tablename__] for group in groups for model in group}

    def _start(
        self,
        path: str,
        group: tuple[type[storage.Base], ...],
        rows: Callable[[tuple[type[storage.Base], ...]], Iterable[Tables]],
    ) -> tuple[Any, str, tuple[type[storage.Base], ...]]:
        """A worker writing ``group`` into ``path``, started."""
        setup = [f"PRAGMA {p}" for p in ("journal_mode=OFF", *_pragmas(self.mentions))]
        process = multiprocessing.get_context("fork").Process(
            target=_write_part,
            args=(path, setup + self._schema(group), self._next_ids(group), partial(rows, group)),
            daemon=True,
        )
        process.start()
        return process, path, group

    def _write_here(
        self,
        group: tuple[type[storage.Base], ...],
        rows: Callable[[tuple[type[storage.Base], ...]], Iterable[Tables]],
    ) -> dict[str, int]:
        """``group``'s batches written into the target, then its dropped indexes built."""
        counts = dict.fromkeys((model.__tablename__ for model in group), 0)
        next_ids = self._next_ids(group)
        for tables in rows(group):
            _executemany(self.raw, tables, next_ids, counts)
        self._build("index", set(counts))
        return counts

    def _schema(self, group: tuple[type[storage.Base], ...]) -> list[str]:
        """The CREATE TABLE statements of ``group`` as the target has them (the same columns,
        types and constraints: a copy into an empty table can then be the plain transfer of
        records). No secondary index: the target builds its own."""
        names = [model.__tablename__ for model in group]
        found = self.raw.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' "
            f"AND name IN ({', '.join('?' * len(names))})",
            names,
        ).fetchall()
        return [sql for (sql,) in found]

    def next_id(self, model: type[storage.Base]) -> int:
        """The next id of ``model``'s table (one past the largest), read in the seed's own
        transaction on SQLite."""
        sql = f"SELECT COALESCE(MAX(id), 0) + 1 FROM {model.__tablename__}"
        if self.dialect == "sqlite":
            return int(self.raw.execute(sql).fetchone()[0])
        with self.conn.begin():
            return int(self.conn.exec_driver_sql(sql).scalar_one())

    def _next_ids(self, group: tuple[type[storage.Base], ...]) -> dict[str, int]:
        """Per table of ``group`` with an ``id``: the next id SQLite would give a row here."""
        return {
            model.__tablename__: self.next_id(model) for model in group if "id" in model.__table__.c
        }

    def _take(self, path: str, group: tuple[type[storage.Base], ...]) -> dict[str, int]:
        """A worker's tables copied in (its file stays attached until the transaction ends),
        and their dropped indexes built."""
        part = f"part{len(self.parts)}"
        self.raw.execute(f"ATTACH DATABASE ? AS {part}", (path,))
        self.parts.append(path)
        counts = {}
        for model in group:
            name = model.__tablename__
            copied = self.raw.execute(f"INSERT INTO main.{name} SELECT * FROM {part}.{name}")
            counts[name] = copied.rowcount
        self._build("index", set(counts))
        return counts

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

    def batch(self, tables: Tables) -> None:
        """PostgreSQL: one batch's rows by ``COPY``, in a transaction of its own."""
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
