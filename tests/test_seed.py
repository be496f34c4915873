"""``socialops seed``: the rows it writes, their rhythm, and the pieces that make it fast."""

from __future__ import annotations

import re
import statistics
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from socialops import storage
from socialops.config import load_config
from socialops.db import session_scope
from socialops.report import seed
from socialops.report.metrics import build_report
from socialops.report.seed_draw import Shape
from socialops.report.seed_load import SEEDED, Loader, Tables, row_count, sqlite_insert
from socialops.report.seed_rows import Stamper
from socialops.report.week import IsoWeek
from socialops.rota.schedule import engine_for
from socialops.settings import DEFAULT_CONFIG

WEEK = "2026-W47"  # Europe/London: UTC+0, so a UTC hour is the local hour
TABLES = {
    "mentions": "mentions",
    "classifications": "classifications",
    "assignments": "assignments",
    "escalation steps": "escalation_steps",
    "notifications": "notifications",
    "drafts": "drafts",
    "approvals": "draft_approvals",
    "report facts": "report_facts",
    "audit steps": "audit_log",
}


def test_stamps_are_the_text_each_database_reads_as_the_instant() -> None:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    instants = [
        datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=UTC),  # leap day, last microsecond
        datetime(2026, 12, 31, 23, 0, 0, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
        datetime(2026, 11, 16, 9, 30, 5, 120_000, tzinfo=UTC),
    ]
    rng = np.random.default_rng(3)
    start = datetime(2026, 11, 16, tzinfo=UTC)
    instants += [start + timedelta(microseconds=int(x)) for x in rng.integers(0, 2e13, 200)]
    micros = np.array([(at - epoch) // timedelta(microseconds=1) for at in instants])
    sqlite = Stamper("sqlite")(micros).tolist()
    postgres = Stamper("postgresql")(micros).tolist()
    assert sqlite == [at.strftime("%Y-%m-%d %H:%M:%S.%f") for at in instants]
    assert postgres == [at.isoformat(timespec="microseconds") for at in instants]
    assert all(type(s) is str for s in sqlite)
    assert Stamper("sqlite")(np.array([], dtype=np.int64)).tolist() == []


def test_an_insert_binds_only_what_differs_from_row_to_row() -> None:
    stamps = ["2026-11-16 09:30:00.000000", "2026-11-16 09:31:00.000000"]
    sql, bound = sqlite_insert(
        "notifications",
        {"id": [1, 2], "body": "it's seeded", "attempts": 1, "urgent": True,
         "next_attempt_at": None, "created_at": stamps, "sent_at": stamps, "score": 0.5},
    )  # fmt: skip
    assert sql == (
        "INSERT INTO notifications (id, body, attempts, urgent, next_attempt_at, created_at, "
        "sent_at, score) VALUES (?1, 'it''s seeded', 1, 1, NULL, ?2, ?2, 0.5)"
    )
    assert bound == [[1, 2], stamps] and bound[1] is stamps


def _seed(url: str, mentions: int) -> dict[str, int]:
    from cli.main import app

    result = CliRunner().invoke(
        app, ["seed", "--mentions", str(mentions), "--week", WEEK, "--database-url", url]
    )
    assert result.exit_code == 0, result.stderr
    line = " ".join(result.stdout.split())
    printed = {
        name: int(n.replace(",", "")) for n, name in re.findall(r"([\d,]+) ([a-z ]+?)[,:]", line)
    }
    assert f"seeded {WEEK}" in line and "rows/s" in line
    return printed


def test_seed_command_writes_a_believable_week(socialops_env: Path, database_url: str) -> None:
    printed = _seed(database_url, 4000)
    engine = create_engine(database_url)
    with engine.connect() as conn:

        def one(sql: str) -> int:
            return int(conn.execute(text(sql)).scalar_one())

        for label, table in TABLES.items():
            assert printed[label] == one(f"SELECT count(*) FROM {table}"), label
        assert printed["mentions"] == 4000 == printed["report facts"]
        # Every mention has its current classification and its facts row; assignments point
        # at their mention's classification.
        linked = one(
            "SELECT count(*) FROM mentions m JOIN report_facts f ON f.mention_id = m.id"
            " JOIN classifications c ON c.mention_id = m.id AND c.is_current"
        )
        assert linked == 4000
        assert one("SELECT count(*) FROM assignments a JOIN classifications c"
                   " ON c.id = a.classification_id AND c.mention_id = a.mention_id") == printed[
            "assignments"
        ]  # fmt: skip
        # A day and night rhythm: lunchtime is far busier than 3 a.m.; night items wait for
        # the morning, so they are answered later than the ones that arrive by day.
        facts = conn.execute(text("SELECT hour % 24, response_seconds FROM report_facts")).all()
        by_hour = [sum(1 for h, _ in facts if h == hour) for hour in range(24)]
        assert by_hour[12] > 4 * by_hour[3]
        night = [s for h, s in facts if s is not None and (h < 6 or h >= 22)]
        day = [s for h, s in facts if s is not None and 9 <= h < 17]
        assert statistics.median(night) > 3 * statistics.median(day)
        # Sign-off: replies and planned posts, published and otherwise, with their approvals.
        statuses = {s for (s,) in conn.execute(text("SELECT DISTINCT status FROM drafts"))}
        assert {"published", "rejected", "failed"} <= statuses
        assert one("SELECT count(*) FROM drafts WHERE kind = 'post'") >= 21
        assert one("SELECT count(*) FROM drafts d WHERE d.status IN ('published', 'failed')"
                   " AND NOT EXISTS (SELECT 1 FROM draft_approvals a"
                   " WHERE a.draft_id = d.id)") == 0  # fmt: skip
        # The audit trail the sign-off stage writes, one step per thing that happened: the
        # weekly report counts requests, turnaround and failures from it.
        steps = dict(
            conn.execute(text("SELECT action, count(*) FROM audit_log GROUP BY action")).all()
        )
        drafts = dict(
            conn.execute(text("SELECT status, count(*) FROM drafts GROUP BY status")).all()
        )
        kinds = dict(conn.execute(text("SELECT kind, count(*) FROM drafts GROUP BY kind")).all())
        assert steps["draft"] == kinds["reply"] and steps["plan_post"] == kinds["post"]
        assert steps["approve"] == one("SELECT count(*) FROM draft_approvals")
        assert steps["reject"] == drafts["rejected"]
        assert steps["publish"] == drafts["published"]
        assert steps["publish_failed"] == drafts["failed"]
        assert steps.get("expire", 0) == drafts.get("expired", 0)
    engine.dispose()
    with session_scope(database_url) as session:
        org = load_config(DEFAULT_CONFIG)
        week = IsoWeek.parse(WEEK, org.organisation.timezone)
        report = build_report(
            session=session, engine=engine_for(org), week=week, organisation="test"
        )
    approvals, publishing = report.approvals, report.publishing
    assert approvals["requested"] > 0.9 * printed["drafts"]
    assert 0 < approvals["rejected"] < 0.1 * approvals["requested"]
    assert 60 < approvals["turnaround"]["median_seconds"] < 7200
    assert 0 < publishing["failures"] < 0.1 * publishing["replies"]
    again = _seed(database_url, 1000)  # a second seed adds to the first, after its ids
    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM mentions")).scalar_one() == 5000
        if engine.dialect.name == "sqlite":  # seeded with a rollback journal, WAL put back
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
    engine.dispose()
    assert again["mentions"] == 1000


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_seed_refuses_a_bad_week(socialops_env: Path, database_url: str) -> None:
    from cli.main import app

    result = CliRunner().invoke(app, ["seed", "--week", "2026-W99", "--database-url", database_url])
    assert result.exit_code == 1 and "no ISO week 99" in result.stderr


def _drawn(wanted: tuple[type[storage.Base], ...], first: int = 1) -> list[Tables]:
    """A 2,500-mention seed's batches of 1,000 (the ``wanted`` tables), as a worker draws them;
    ``first``: the first id of each table."""
    org = load_config(DEFAULT_CONFIG)
    week = IsoWeek.parse(WEEK, org.organisation.timezone)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    shape = Shape.of(dialect="sqlite", org=org, week=week, rota=engine_for(org), now=now)
    rng = np.random.default_rng(7)
    timeline = shape.timeline(rng, 2500)
    ids = dict.fromkeys(("m", "c", "a", "d", "first_m", "first_a"), first) | {"mentions": 2500}
    return list(seed._rows(rng, shape, timeline, ids, 1000, wanted))


def test_each_worker_makes_the_rows_one_process_would() -> None:
    """The tables are split between two processes, each drawing the whole seed: the rows of
    each table are the ones a single process making every table makes, batch by batch."""
    everything = _drawn(SEEDED)
    assert len(everything) == 3
    assert sum(row_count(c) for b in everything for c in b[storage.AuditRow]) > 0
    for group in seed._GROUPS:
        apart = _drawn(group)
        assert [set(b) for b in apart] == [set(group)] * 3
        for whole, part in zip(everything, apart, strict=True):
            assert {m: whole[m] for m in group} == part


def _state(url: str) -> tuple[list[tuple[str, ...]], dict[str, int], str]:
    """The schema (tables, indexes, triggers), each seeded table's rows, the journal mode."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT type, name, sql FROM sqlite_master ORDER BY name")
        schema = [tuple(r) for r in rows]
        counts = {
            t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one()
            for t in TABLES.values()
        }
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar_one()
    engine.dispose()
    return schema, counts, mode


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_worker_that_fails_leaves_the_database_as_it_was(
    socialops_env: Path,
    database_url: str,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scratch = socialops_env / "scratch"  # where the workers' files go (and must not stay)
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    _seed(database_url, 500)
    before = _state(database_url)
    assert before[1]["mentions"] == 500 and before[2] == "wal"

    def rows(group: tuple[type[storage.Base], ...]) -> Iterator[Tables]:
        if storage.AuditRow in group:  # the worker's tables: it dies half-way
            yield {storage.AuditRow: [{"at": ["2026-11-16 09:00:00.000000"], "actor": "x",
                                       "action": "y", "subject_type": "draft",
                                       "subject_id": ["1"], "details": "{}"}]}  # fmt: skip
            raise OSError("disk full")
        yield from _drawn(group, 10_000)  # the target's own tables: written, then rolled back

    engine = create_engine(database_url)
    with pytest.raises(RuntimeError, match=r"worker for assignments, .* failed"):  # noqa: SIM117
        with Loader(engine, mentions=2500) as loader:
            loader.write_apart(seed._GROUPS, rows)
    engine.dispose()
    assert "OSError: disk full" in capfd.readouterr().err
    assert _state(database_url) == before  # no row, indexes and triggers back, WAL again
    assert not list(scratch.iterdir())
