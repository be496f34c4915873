"""Engines, sessions and schema migrations (Alembic, applied on start).

Every process brings the schema up to date before its first session on a database
(:func:`session_scope` calls :func:`ensure_schema` once per URL): a worker's first flow run on a
fresh database works. Two processes starting at once take a lock first (a PostgreSQL advisory
lock held by the migrating transaction; on SQLite an exclusive ``flock`` on a file beside the
database), so one migrates and the other then finds the schema at head. With
``SOCIALOPS_AUTO_MIGRATE=false`` a database behind the code fails with one line naming
``socialops db upgrade`` instead.
"""

from __future__ import annotations

import fcntl
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from socialops.mentions import RawJSON

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # The busy timeout makes concurrent writers wait for the lock instead of failing with
    # "database is locked"; WAL lets readers (the CLI, the report) run while a flow writes.
    cursor.execute("PRAGMA busy_timeout=30000")
    _wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _wal(cursor: Any, *, wait: float = 30.0) -> None:
    """Switch a database to WAL once. Switching needs the database to itself, and SQLite answers
    "database is locked" at once, without its busy handler, while another process writes (two
    workers starting on a fresh file, one of them migrating it): wait for it, as for a lock."""
    deadline = time.monotonic() + wait
    while True:
        if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
            return
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def get_engine(url: str) -> Engine:
    """One engine per database URL per process (tasks open sessions on it)."""
    with _ENGINES_LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = _ENGINES[url] = _create(url)
        return engine


def _fragment(value: object) -> orjson.Fragment:
    if isinstance(value, RawJSON):
        return orjson.Fragment(value.json)  # serialised once, in the connector: written as is
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _json(value: object) -> str:
    # orjson serialises the raw payloads several times faster than the stdlib.
    return orjson.dumps(
        value,
        default=_fragment,
        option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY,
    ).decode()


def _create(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, json_serializer=_json)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True, json_serializer=_json)


def dispose_engines() -> None:
    """Close every cached engine's connections (tests, and the CLI before it exits)."""
    with _ENGINES_LOCK:
        engines = list(_ENGINES.values())
        _ENGINES.clear()
        _READY.clear()
    for engine in engines:
        engine.dispose()


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on any error.

    The first session on a URL in this process brings its schema up to date (see the module
    docstring).
    """
    ensure_schema(url)
    factory = sessionmaker(get_engine(url), expire_on_commit=False)
    with factory.begin() as session:
        yield session


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


class SchemaOutOfDate(RuntimeError):
    """The database is behind the code and automatic migration is off."""


# A fixed key: every socialops process migrating the same PostgreSQL database queues on it.
_ADVISORY_LOCK_KEY = 7_405_233_001
_READY: set[str] = set()
_READY_LOCK = threading.Lock()


def _auto_migrate() -> bool:
    from socialops.settings import get_settings

    return get_settings().auto_migrate


def ensure_schema(url: str) -> None:
    """Bring the schema to head once per URL per process (locked against other processes);
    with automatic migration off, fail with one line when the database is behind."""
    if url in _READY:
        return
    with _READY_LOCK:
        if url in _READY:
            return
        if _auto_migrate():
            migrate(url)
        else:
            found = current_revision(get_engine(url))
            if found != head_revision():
                raise SchemaOutOfDate(
                    f"the database is at schema {found or 'none (empty)'}, the code needs "
                    f"{head_revision()}: run `socialops db upgrade` "
                    "(or unset SOCIALOPS_AUTO_MIGRATE)"
                )
        _READY.add(url)


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # blocks until the other process has migrated
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _sqlite_lock_path(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None  # private to this process: nobody else can migrate it
    return Path(f"{database}.migrate.lock")


def _upgrade(connection: Connection) -> None:
    # Checked again under the lock: another process may have migrated while we waited.
    if MigrationContext.configure(connection).get_current_revision() == head_revision():
        return
    cfg = _alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


def migrate(url: str) -> None:
    """Bring the database schema to the newest migration (a no-op when it is there).

    Safe when several processes start at once: they take a lock, one migrates, the others
    then find the schema at head.
    """
    engine = get_engine(url)
    if current_revision(engine) == head_revision():
        return
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            # Held until this transaction ends: after the migration is committed.
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY}
            )
            _upgrade(connection)
        return
    lock = _sqlite_lock_path(url) if engine.dialect.name == "sqlite" else None
    if lock is None:
        with engine.begin() as connection:
            _upgrade(connection)
        return
    with _file_lock(lock), engine.begin() as connection:
        _upgrade(connection)
