"""A worker's first flow run on a fresh database: the schema comes up to date by itself, also
when two processes start at once (a lock, on SQLite and PostgreSQL)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from socialops import storage
from socialops.db import (
    SchemaOutOfDate,
    current_revision,
    dispose_engines,
    ensure_schema,
    get_engine,
    head_revision,
    session_scope,
)
from socialops.settings import reset_settings_cache
from tests.conftest import REPO

# Each process waits for the same instant, then opens its first session on the database.
OPEN_AT_ONCE = """
import sys, time
from sqlalchemy import func, select
from socialops import storage
from socialops.db import session_scope
start = float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
with session_scope(sys.argv[1]) as session:
    print(session.scalar(select(func.count()).select_from(storage.MentionRow)))
"""


def _two_processes_at_once(url: str) -> None:
    start = time.time() + 4.0  # both are importing by then, on a busy machine too
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AT_ONCE, url, str(start)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=180) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err[-2000:]
        assert out.strip() == "0"
    assert current_revision(get_engine(url)) == head_revision()


def test_two_processes_migrate_a_fresh_sqlite_database_at_once(sqlite_url: str) -> None:
    _two_processes_at_once(sqlite_url)


@pytest.mark.postgres
def test_two_processes_migrate_a_fresh_postgresql_database_at_once(postgres_url: str) -> None:
    _two_processes_at_once(postgres_url)


def test_the_first_session_on_a_fresh_database_brings_the_schema(sqlite_url: str) -> None:
    with session_scope(sqlite_url) as session:
        assert session.execute(select(storage.ChannelState)).all() == []
    assert current_revision(get_engine(sqlite_url)) == head_revision()


def test_without_auto_migration_a_fresh_database_fails_with_one_line_naming_the_command(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCIALOPS_AUTO_MIGRATE", "false")
    reset_settings_cache()
    try:
        with pytest.raises(SchemaOutOfDate) as info:
            ensure_schema(sqlite_url)
    finally:
        monkeypatch.delenv("SOCIALOPS_AUTO_MIGRATE")
        reset_settings_cache()
    message = str(info.value)
    assert "\n" not in message
    assert "socialops db upgrade" in message and head_revision() in message


def test_socialops_db_upgrade_migrates(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    env = {"SOCIALOPS_DATABASE_URL": url, "SOCIALOPS_HOME": str(tmp_path), "PATH": "/usr/bin"}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("socialops")), "db", "upgrade"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"empty -> {head_revision()}" in done.stdout
    assert current_revision(get_engine(url)) == head_revision()
    dispose_engines()
