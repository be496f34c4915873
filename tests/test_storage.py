from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from socialops import storage
from socialops.db import current_revision, get_engine, head_revision, migrate, session_scope
from socialops.mentions import InvalidItem
from tests.fakes import mention

T0 = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def test_migrations_reach_head_and_are_idempotent(database_url: str) -> None:
    assert current_revision(get_engine(database_url)) == head_revision()
    migrate(database_url)  # a second start changes nothing
    assert current_revision(get_engine(database_url)) == head_revision()


def _import_every_model() -> None:
    """Tables are declared beside their code (backfill days, conversations...): import every
    module of the package so the metadata holds them all, as a full run's would."""
    import importlib
    import pkgutil

    import socialops

    for module in pkgutil.walk_packages(socialops.__path__, "socialops."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)


def test_models_match_the_migrations(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    _import_every_model()
    with get_engine(database_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), storage.Base.metadata)
    assert diff == []


def test_upsert_stores_each_mention_once(database_url: str) -> None:
    with session_scope(database_url) as session:
        assert storage.store_mentions(session=session, mentions=[mention("1"), mention("2")]) == 2
    with session_scope(database_url) as session:
        again = [mention("2", text="edited later"), mention("3")]
        assert storage.store_mentions(session=session, mentions=again) == 1
    with session_scope(database_url) as session:
        rows = session.execute(select(storage.MentionRow).order_by("external_id")).scalars().all()
        assert [r.external_id for r in rows] == ["1", "2", "3"]
        assert rows[1].text == "hello @northwind 2"  # the first stored version is kept


def test_text_and_timestamps_round_trip_verbatim_in_utc(database_url: str) -> None:
    hostile = "<script>alert('x')</script>\n'; DROP TABLE mentions; -- \"quoted\" ☕ 𝕏"
    paris = T0.astimezone(ZoneInfo("Europe/Paris"))
    with session_scope(database_url) as session:
        storage.store_mentions(
            session=session, mentions=[mention("9", text=hostile, created_at=paris)]
        )
    with session_scope(database_url) as session:
        row = session.execute(select(storage.MentionRow)).scalar_one()
        assert row.text == hostile
        assert row.created_at == T0 and row.created_at.utcoffset() == timedelta(0)
        assert row.raw == {"id": "9", "nested": {"ok": True}}
        assert storage.count_rows(session=session, model=storage.MentionRow) == 1


def test_same_external_id_on_another_platform_is_another_mention(database_url: str) -> None:
    with session_scope(database_url) as session:
        stored = storage.store_mentions(
            session=session, mentions=[mention("7"), mention("7", platform="bluesky")]
        )
    assert stored == 2


def test_quarantine_keeps_reason_once(database_url: str) -> None:
    bad = [InvalidItem(raw={"id": "x"}, reason="status.account: field required")]
    for _ in range(2):
        with session_scope(database_url) as session:
            storage.quarantine_items(
                session=session, channel="c", platform="mastodon", stage="parse", items=bad
            )
    with session_scope(database_url) as session:
        rows = session.execute(select(storage.QuarantineRow)).scalars().all()
    assert [(r.reason, r.raw, r.stage) for r in rows] == [
        ("status.account: field required", {"id": "x"}, "parse")
    ]


def test_channel_state_upsert(database_url: str) -> None:
    for cursor in ("10", "20"):
        with session_scope(database_url) as session:
            storage.save_channel_state(
                session=session,
                channel="c",
                platform="mastodon",
                newest_cursor=cursor,
                backfill_cursor=None,
                backfill_newest=None,
            )
    with session_scope(database_url) as session:
        state = storage.get_channel_state(session=session, channel="c")
        assert state is not None and state.newest_cursor == "20"


def test_a_failed_transaction_moves_nothing(database_url: str) -> None:
    with pytest.raises(RuntimeError), session_scope(database_url) as session:
        storage.store_mentions(session=session, mentions=[mention("1")])
        storage.save_channel_state(
            session=session,
            channel="c",
            platform="mastodon",
            newest_cursor="99",
            backfill_cursor=None,
            backfill_newest=None,
        )
        raise RuntimeError("crash before commit")
    with session_scope(database_url) as session:
        assert storage.count_rows(session=session, model=storage.MentionRow) == 0
        assert storage.get_channel_state(session=session, channel="c") is None


def test_audit_log_is_append_only(database_url: str) -> None:
    with session_scope(database_url) as session:
        storage.audit(
            session=session,
            actor="ann",
            action="assign",
            subject_type="mention",
            subject_id="1",
            details={"to": "bob"},
        )
    for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), session_scope(database_url) as s:
            s.execute(text(statement))
    with session_scope(database_url) as session:
        row = session.execute(select(storage.AuditRow)).scalar_one()
        assert (row.actor, row.details) == ("ann", {"to": "bob"})


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(sqlite_url: str) -> None:
    migrate(sqlite_url)
    with get_engine(sqlite_url).connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
