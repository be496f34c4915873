"""The report facts (migration 0013) follow every write, and the report over them stays exact.

The facts are compared with a recomputation from the base tables (the migration's own
backfill query into a scratch table) after each step of a mention's life: classified, routed,
reclassified, re-routed, acted on, withdrawn, assigned by hand, deleted. A seeded week is then
counted again in Python, row by row, and every figure of the report must match.
"""

from __future__ import annotations

import importlib.util
import math
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy import select, text

from socialops import routing, storage
from socialops.config import load_config
from socialops.db import get_engine, session_scope
from socialops.report.metrics import build_report
from socialops.report.seed import seed_week
from socialops.report.week import IsoWeek
from socialops.rota.schedule import RotaEngine
from tests.conftest import REPO
from tests.routing_fixtures import add_classified, org_from, reclassify, small_org

MIGRATION = REPO / "socialops" / "migrations" / "versions" / "0013_report_facts.py"


def _migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("report_facts_0013", MIGRATION)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_facts_match_base_tables(url: str) -> int:
    """The facts table equals what the migration's backfill computes from the base tables."""
    m12 = _migration()
    engine = get_engine(url)
    pg = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS expected_facts"))
        conn.execute(
            text(
                "CREATE TEMP TABLE expected_facts AS SELECT * FROM report_facts "
                + ("WITH NO DATA" if pg else "WHERE 0 = 1")
            )
        )
        backfill = m12._BACKFILL_PG if pg else m12._BACKFILL_SQLITE
        conn.execute(
            text(backfill.replace("INSERT INTO report_facts", "INSERT INTO expected_facts"))
        )
        missing = conn.execute(
            text("SELECT * FROM expected_facts EXCEPT SELECT * FROM report_facts")
        ).all()
        extra = conn.execute(
            text("SELECT * FROM report_facts EXCEPT SELECT * FROM expected_facts")
        ).all()
        count = conn.execute(text("SELECT count(*) FROM report_facts")).scalar_one()
        conn.execute(text("DROP TABLE expected_facts"))
    assert (missing, extra) == ([], []), f"facts differ: expected {missing}, found {extra}"
    return int(count)


def fact(url: str, mention_id: int) -> storage.ReportFactRow | None:
    with session_scope(url) as session:
        row = session.get(storage.ReportFactRow, mention_id)
        if row is not None:
            session.expunge(row)
        return row


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_facts_follow_classification_routing_action_and_deletion(database_url: str) -> None:
    org = org_from(small_org())
    engine = RotaEngine(org)
    url = database_url

    def route(now: datetime) -> routing.RouteRun:
        with session_scope(url) as session:
            return routing.route_classified(session=session, org=org, engine=engine, now=now)

    with session_scope(url) as session:
        moved = add_classified(
            session, external_id="f1", department="legal", fetched_at=at(2026, 11, 30, 9, 50)
        )
        spam = add_classified(
            session, external_id="f2", department="legal", fetched_at=at(2026, 11, 30, 9, 55)
        )
        by_hand = add_classified(
            session,
            external_id="f3",
            department="customer_relations",
            fetched_at=at(2026, 11, 30, 9, 58),
        )
        unrouted = storage.MentionRow(
            platform="mastodon",
            external_id="f4",
            channel="mastodon-main",
            author_handle="zoe@social.example",
            text="not classified yet",
            created_at=at(2026, 11, 30, 9, 59, 59, 999_999),
            fetched_at=at(2026, 11, 30, 10),
            raw={},
        )
        session.add(unrouted)
        session.flush()
        unrouted_id = unrouted.id
    first = fact(url, moved)
    assert first is not None
    assert (first.department, first.a_department, first.channel) == (
        "legal",
        None,
        "mastodon-main",
    )
    assert first.created_ts == int(at(2026, 11, 30, 9, 50).timestamp())
    assert first.hour == first.created_ts // 3600
    late = fact(url, unrouted_id)
    assert late is not None and late.department is None and late.urgent is None
    assert late.created_ts == int(at(2026, 11, 30, 9, 59, 59).timestamp())  # not rounded up
    assert_facts_match_base_tables(url)

    route(at(2026, 11, 30, 10))
    routed = fact(url, moved)
    assert routed is not None
    assert (routed.a_department, routed.assignee, routed.a_status, routed.sla) == (
        "legal",
        "ann",
        "open",
        None,
    )
    assert routed.due_us is not None and routed.response_seconds is None
    assert_facts_match_base_tables(url)

    # Reclassified: the classification part moves at once, the assignment once re-routed.
    with session_scope(url) as session:
        reclassify(session, moved, department="customer_relations", urgent=True)
        reclassify(session, spam, department="none")
    reclassified = fact(url, moved)
    assert reclassified is not None
    assert (reclassified.department, reclassified.urgent, reclassified.sentiment) == (
        "customer_relations",
        True,
        "negative",
    )
    assert reclassified.a_department == "legal"
    assert_facts_match_base_tables(url)
    route(at(2026, 11, 30, 10, 30))
    rerouted = fact(url, moved)
    assert rerouted is not None
    assert (rerouted.a_department, rerouted.a_urgent, rerouted.assignee) == (
        "customer_relations",
        True,
        "eve",
    )
    withdrawn = fact(url, spam)
    assert withdrawn is not None and (withdrawn.a_status, withdrawn.sla) == (
        "withdrawn",
        "withdrawn",
    )
    assert_facts_match_base_tables(url)

    # Acted on, and assigned by hand.
    with session_scope(url) as session:
        assert routing.mark_acted(
            session=session, mention_id=moved, actor="eve", now=at(2026, 11, 30, 10, 45, 0, 500_000)
        )
        routing.assign_manually(
            session=session,
            org=org,
            engine=engine,
            mention_id=by_hand,
            handle="ann",
            actor="lead",
            now=at(2026, 11, 30, 10, 50),
        )
    acted = fact(url, moved)
    assert acted is not None and acted.a_status == "acted"
    assert acted.response_seconds == 55 * 60 + 1  # 55 min 0.5 s, rounded half up
    assert acted.response_minute == 55
    assert acted.sla == "breached"  # urgent now: 30 minutes from 09:50
    hand = fact(url, by_hand)
    assert hand is not None and hand.assignee == "ann"
    assert_facts_match_base_tables(url)

    # Deleted mentions take their facts with them.
    with session_scope(url) as session:
        session.execute(storage.MentionRow.__table__.delete().where(storage.MentionRow.id == spam))
    assert fact(url, spam) is None
    assert assert_facts_match_base_tables(url) == 3


def _nearest_rank(values: list[int], num: int, den: int) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(len(ordered) * num / den) - 1]


def test_a_seeded_week_counted_again_row_by_row_matches_every_figure(database_url: str) -> None:
    org = load_config(Path(REPO / "config" / "northwind.yaml"))
    engine = RotaEngine(org)
    week = IsoWeek.parse("2026-W47", org.organisation.timezone)
    now = datetime(2026, 11, 21, 15, tzinfo=UTC)  # mid-week: some items still open or queued
    seeded = seed_week(
        engine=get_engine(database_url), org=org, week=week, mentions=3000, rota=engine, now=now
    )
    assert seeded.drafts > 0 and seeded.approvals > 0 and seeded.facts == 3000
    assert assert_facts_match_base_tables(database_url) == 3000
    with session_scope(database_url) as session:
        report = build_report(
            session=session,
            engine=engine,
            week=week,
            organisation="Northwind",
            channels=[c.name for c in org.channels],
            now=now,
        )
        m, c, a = storage.MentionRow, storage.ClassificationRow, storage.AssignmentRow
        rows: list[Any] = list(
            session.execute(
                select(m.id, m.channel, m.created_at, c.department, c.urgent, a)
                .outerjoin(c, (c.mention_id == m.id) & c.is_current.is_(True))
                .outerjoin(a, a.mention_id == m.id)
            )
        )
    periods = {
        d: list(cal.open_periods(week.start, week.end)) for d, cal in engine.calendars.items()
    }
    in_week = [r for r in rows if week.start <= r.created_at < week.end]
    assert report.total == len(in_week) == 3000
    assert report.volume_by_channel == dict(Counter(r.channel for r in in_week)) | {
        ch.name: 0 for ch in org.channels if ch.name not in {r.channel for r in in_week}
    }
    assert report.volume_by_department == dict(
        sorted(
            Counter(r.department or "unclassified" for r in in_week).items(),
            key=lambda x: (-x[1], x[0]),
        )
    )
    assert report.urgent == sum(1 for r in in_week if r.urgent)
    times: dict[str, list[int]] = defaultdict(list)
    outcomes: dict[str, Counter[str]] = defaultdict(Counter)
    for r in in_week:
        item = r.AssignmentRow
        if item is None:
            continue
        inside = any(p.start <= r.created_at < p.end for p in periods.get(item.department, []))
        if item.acted_at is not None:
            micros = (item.acted_at - r.created_at) // timedelta(microseconds=1)
            seconds = (micros + 500_000) // 1_000_000
            for group in ("all", "bh" if inside else "ooh", f"dept:{item.department}"):
                times[group].append(seconds)
        if item.status == "withdrawn":
            outcome = "withdrawn"
        elif item.acted_at is not None:
            outcome = "met" if item.acted_at <= item.due_at else "breached"
        else:
            outcome = "breached" if item.due_at < now else "pending"
        outcomes[item.department][outcome] += 1
    overall = report.response_time["overall"]
    for key, group in (("all", "all"), ("business_hours", "bh"), ("out_of_hours", "ooh")):
        assert overall[key] == {
            "count": len(times[group]),
            "median_seconds": _nearest_rank(times[group], 1, 2),
            "p90_seconds": _nearest_rank(times[group], 9, 10),
        }, key
    for department, figures in report.response_time["by_department"].items():
        values = times[f"dept:{department}"]
        assert figures["all"]["median_seconds"] == _nearest_rank(values, 1, 2), department
        assert figures["all"]["p90_seconds"] == _nearest_rank(values, 9, 10), department
    for department, counted in outcomes.items():
        sla = report.sla["by_department"][department]
        assert {k: sla[k] for k in ("met", "breached", "pending", "withdrawn")} == {
            k: counted[k] for k in ("met", "breached", "pending", "withdrawn")
        }, department
    assert sum(o["pending"] for o in outcomes.values()) > 0  # the clock matters here
    handled: Counter[str] = Counter(
        r.AssignmentRow.assignee for r in in_week if r.AssignmentRow is not None
    )
    for person in report.oncall_load.people:
        assert person.items == handled.get(person.handle, 0), person.handle
