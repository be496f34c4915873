"""Shared fixtures: real SQLite and PostgreSQL databases, one Prefect harness per session."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

# Prefect reads its settings when first imported: quiet and isolated before any test imports it.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_LOGGING_TO_API_BATCH_INTERVAL", "0.3")

from socialops.db import dispose_engines, migrate
from socialops.settings import reset_settings_cache

POSTGRES_URL = os.environ.get("SOCIALOPS_TEST_POSTGRES_URL")
REPO = Path(__file__).resolve().parent.parent


def _postgres_or_skip() -> str:
    if POSTGRES_URL:
        return POSTGRES_URL
    if os.environ.get("CI") == "true":
        pytest.fail("SOCIALOPS_TEST_POSTGRES_URL is not set: CI must run the PostgreSQL tests")
    pytest.skip("SOCIALOPS_TEST_POSTGRES_URL is not set (run via .ci/run or scripts/postgres.sh)")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path / 'socialops.db'}"
    dispose_engines()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    base = _postgres_or_skip()
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        dispose_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """The same test on real SQLite and on real PostgreSQL, migrated to head."""
    url: str = request.getfixturevalue(
        "sqlite_url" if request.param == "sqlite" else "postgres_url"
    )
    migrate(url)
    return url


@pytest.fixture
def socialops_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> Iterator[Path]:
    """Settings for one test: its own home and database, the default organisation file."""
    monkeypatch.setenv("SOCIALOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SOCIALOPS_DATABASE_URL", database_url)
    monkeypatch.setenv("SOCIALOPS_CONFIG", str(REPO / "config" / "northwind.yaml"))
    monkeypatch.delenv("SOCIALOPS_CHANNELS", raising=False)
    reset_settings_cache()
    yield tmp_path
    reset_settings_cache()


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    """A started Prefect server when PREFECT_API_URL is set, else one test harness."""
    if os.environ.get("PREFECT_API_URL"):
        yield
        return
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield
