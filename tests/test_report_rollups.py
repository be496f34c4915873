"""The hourly roll-ups and the queue facts (migrations 0016, 0017) follow every change exactly.

Each roll-up is recounted from ``report_facts`` with the migration's own backfill query into a
scratch table and compared with what the triggers (or the seed) left, ignoring rows whose
count fell to 0: after every step of a mention's life (the facts test's own steps), and after
seeding a week twice over.
"""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import text

import tests.test_report_facts as facts_tests
from socialops.config import load_config
from socialops.db import get_engine, session_scope
from socialops.report import queries, responses
from socialops.report.seed import seed_week
from socialops.report.week import IsoWeek
from socialops.rota.schedule import RotaEngine
from tests.conftest import REPO

MIGRATION = REPO / "socialops" / "migrations" / "versions" / "0016_report_rollups.py"


def _migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("report_rollups_0016", MIGRATION)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_rollups_match_facts(url: str) -> dict[str, int]:
    """Every roll-up equals its recount from the facts; returns the mentions each counts."""
    m16 = _migration()
    engine = get_engine(url)
    dialect = engine.dialect.name
    totals = {}
    with engine.begin() as conn:
        for table, (keys, _where) in m16.ROLLUPS.items():
            names = ", ".join(k for k, _ in keys)
            conn.execute(text("DROP TABLE IF EXISTS expected_rollup"))
            if dialect == "postgresql":
                conn.execute(
                    text(f"CREATE TEMP TABLE expected_rollup (LIKE {table} INCLUDING ALL)")
                )
            else:  # a copy with the same key (the upsert needs it)
                ddl = conn.execute(
                    text("SELECT sql FROM sqlite_master WHERE name = :t"), {"t": table}
                ).scalar_one()
                conn.execute(text(ddl.replace(f"TABLE {table}", "TEMP TABLE expected_rollup")))
            conn.execute(text(m16.backfill(table, dialect).replace(table, "expected_rollup")))
            found = f"SELECT {names}, n FROM {table} WHERE n <> 0"
            expected = f"SELECT {names}, n FROM expected_rollup"
            missing = conn.execute(text(f"{expected} EXCEPT {found}")).all()
            extra = conn.execute(text(f"{found} EXCEPT {expected}")).all()
            assert (missing, extra) == ([], []), f"{table}: expected {missing}, found {extra}"
            totals[table] = int(
                conn.execute(text(f"SELECT coalesce(sum(n), 0) FROM {table}")).scalar_one()
            )
            conn.execute(text("DROP TABLE expected_rollup"))
        # The queue facts: the queued assignments' times, recounted the same way.
        columns = m16.QUEUE_COLUMNS
        conn.execute(text("DROP TABLE IF EXISTS expected_queue"))
        conn.execute(
            text(
                f"CREATE TEMP TABLE expected_queue AS SELECT {columns} FROM report_queue_facts "
                + ("WITH NO DATA" if dialect == "postgresql" else "WHERE 0 = 1")
            )
        )
        conn.execute(
            text(
                m16.queue_backfill(dialect).replace(
                    "INSERT INTO report_queue_facts", "INSERT INTO expected_queue"
                )
            )
        )
        found = f"SELECT {columns} FROM report_queue_facts"
        expected = f"SELECT {columns} FROM expected_queue"
        missing = conn.execute(text(f"{expected} EXCEPT {found}")).all()
        extra = conn.execute(text(f"{found} EXCEPT {expected}")).all()
        assert (missing, extra) == ([], []), f"queue facts: expected {missing}, found {extra}"
        # Their UTC week (migration 0017), as report_facts.week counts them.
        wrong_week = conn.execute(
            text(
                "SELECT count(*) FROM report_queue_facts "
                "WHERE week IS NULL OR week <> (received_ts + 259200) / 604800"
            )
        ).scalar_one()
        assert wrong_week == 0
        totals["report_queue_facts"] = int(
            conn.execute(text("SELECT count(*) FROM report_queue_facts")).scalar_one()
        )
        conn.execute(text("DROP TABLE expected_queue"))
    return totals


def test_rollups_follow_every_step_of_a_mentions_life(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[dict[str, int]] = []
    facts_match = facts_tests.assert_facts_match_base_tables

    def facts_and_rollups_match(url: str) -> int:
        count = facts_match(url)
        checked.append(assert_rollups_match_facts(url))
        return count

    monkeypatch.setattr(facts_tests, "assert_facts_match_base_tables", facts_and_rollups_match)
    facts_tests.test_facts_follow_classification_routing_action_and_deletion(database_url)
    # Classified, routed, reclassified, re-routed, acted on and assigned by hand, deleted.
    assert len(checked) == 6
    assert checked[0] == {
        "report_volume_hours": 4,
        "report_response_hours": 0,
        "report_person_hours": 0,
        "report_queue_facts": 0,
    }
    assert checked[-1]["report_volume_hours"] == 3  # the deleted mention taken away


def test_a_seed_adds_to_the_rollups_and_the_report_reads_them(database_url: str) -> None:
    org = load_config(Path(REPO / "config" / "northwind.yaml"))
    engine = RotaEngine(org)
    week = IsoWeek.parse("2026-W47", org.organisation.timezone)
    now = datetime(2026, 11, 21, 15, tzinfo=UTC)
    for seed in (1, 2):  # the second adds to what the first wrote
        seed_week(
            engine=get_engine(database_url),
            org=org,
            week=week,
            mentions=1500,
            rota=engine,
            now=now,
            seed=seed,
        )
        totals = assert_rollups_match_facts(database_url)
        assert totals["report_volume_hours"] == 1500 * seed
        assert totals["report_queue_facts"] > 0
    with session_scope(database_url) as session:
        cells = queries.volume_cube(session=session, week=week)
        assert sum(c.count for c in cells) == 3000
        # Northwind's business hours start or end at half past in some departments: those
        # hours are read from the facts, the rest from the roll-up.
        periods = {
            d: list(cal.open_periods(week.start, week.end)) for d, cal in engine.calendars.items()
        }
        hours = queries.whole_hours(week)
        assert hours is not None
        by_department = responses.open_hours(periods, *hours)
        assert by_department["marketing"].partial and not by_department["hr"].partial
