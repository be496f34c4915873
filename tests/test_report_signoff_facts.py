"""The report's approvals from the per-version sign-off facts (migration 0019) give exactly
what the query over the audit log's steps gave, on SQLite and PostgreSQL.

The old query (``old_approvals`` below, as it stood before the facts) is the oracle: for
hand-built sign-off histories (edits, re-approvals, rejections, expiries, a request before the
week decided in it, decisions after the week, drafts that needed no sign-off, a week across the
end of summer time, out-of-order stamps), for what the sign-off stage itself writes, and for
two seeds, the report's figures of every week around them are compared with it. The facts the
triggers (or the seed) left are compared with the migration's own backfill query, recomputed
into a scratch table, and with a real downgrade and upgrade of the migration.
"""

from __future__ import annotations

import importlib.util
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from alembic import command
from sqlalchemy import and_, case, cast, delete, func, literal, or_, select, text, update
from sqlalchemy.orm import Session

from socialops import storage
from socialops.config import load_config
from socialops.db import _alembic_config, get_engine, session_scope
from socialops.report import durations, signoff, signoff_facts
from socialops.report.seed import seed_week
from socialops.report.week import IsoWeek
from socialops.rota.schedule import RotaEngine
from tests.conftest import REPO
from tests.test_report import seed_by_hand
from tests.test_report_content import seed_signoff

MIGRATION = REPO / "socialops" / "migrations" / "versions" / "0019_report_signoff_facts.py"
TZ = "Europe/London"
COLUMNS = signoff_facts.COLUMNS


def _migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("report_signoff_facts_0019", MIGRATION)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- The oracle: the approvals query over the audit log, as it was before the facts ---------

au = storage.AuditRow.__table__
d = storage.DraftRow.__table__
OLD_STEPS = ("draft", "plan_post", "edit", "approve", "reject", "expire")


def _in_week(column: Any, week: IsoWeek) -> Any:
    return and_(column >= week.start, column < week.end)


def old_approvals(*, session: Session, week: IsoWeek) -> dict[str, Any]:
    """``socialops.report.signoff.approvals`` before migration 0019, verbatim."""
    if not signoff.recorded(session):
        return {"status": "not recorded", "requested": None, "approved": None, "turnaround": None}
    dialect = session.get_bind().dialect.name
    status = au.c.details["status"].as_string()
    before = au.c.details["before"].as_string()
    version = au.c.details["version"].as_integer()
    is_draft = au.c.subject_type == "draft"
    is_request = and_(
        _in_week(au.c.at, week),
        or_(
            and_(au.c.action.in_(("draft", "plan_post")), status == "pending"),
            au.c.action == "edit",
        ),
    )
    is_decision = or_(
        and_(au.c.action == "approve", status == "approved"),
        and_(au.c.action.in_(("reject", "expire")), before == "pending"),
    )
    versions = (
        select(
            au.c.subject_id.label("subject_id"),
            func.min(case((is_request, au.c.at))).label("requested_at"),
            func.min(case((is_decision, au.c.at))).label("decided_at"),
            func.min(case((is_decision, au.c.action))).label("action"),
        )
        .where(is_draft, au.c.at >= week.start, au.c.action.in_(OLD_STEPS))
        .group_by(au.c.subject_id, version)
        .subquery("versions")
    )
    joined = versions.join(d, d.c.id == cast(versions.c.subject_id, storage.BigIntId))
    outcome = func.coalesce(versions.c.action, literal("pending")).label("outcome")
    timed = versions.c.action.in_(("approve", "reject"))
    seconds = case(
        (timed, durations.seconds_between(dialect, versions.c.decided_at, versions.c.requested_at))
    ).label("seconds")
    by: dict[str, dict[str, Any]] = defaultdict(lambda: dict.fromkeys(signoff.OUTCOMES, 0))
    hists: dict[str, dict[int, int]] = defaultdict(dict)
    for department, action, secs, count in session.execute(
        select(d.c.department, outcome, seconds, func.count())
        .select_from(joined)
        .where(versions.c.requested_at.is_not(None))
        .group_by(d.c.department, outcome, seconds)
    ):
        label = {"approve": "approved", "reject": "rejected", "expire": "expired"}.get(
            str(action), "pending"
        )
        by[str(department)][label] += int(count)
        if secs is not None:
            hist = hists[str(department)]
            hist[int(secs)] = hist.get(int(secs), 0) + int(count)
    turnaround = durations.from_histograms(hists)
    without: dict[str, int] = {
        str(dept): int(count)
        for dept, count in session.execute(
            select(d.c.department, func.count())
            .select_from(au.join(d, d.c.id == cast(au.c.subject_id, storage.BigIntId)))
            .where(
                is_draft,
                _in_week(au.c.at, week),
                au.c.action.in_(("draft", "plan_post")),
                status == "approved",
            )
            .group_by(d.c.department)
        )
    }
    departments = sorted(set(by) | set(without))
    by_department = {
        dept: {
            "requested": sum(by[dept].values()) if dept in by else 0,
            **(by[dept] if dept in by else dict.fromkeys(signoff.OUTCOMES, 0)),
            "without_sign_off": without.get(dept, 0),
            "turnaround": turnaround.get(dept, durations.empty()),
        }
        for dept in departments
    }
    totals = {k: sum(v[k] for v in by_department.values()) for k in signoff.OUTCOMES}
    return {
        "status": "recorded",
        "definition": signoff.DEFINITION,
        "requested": sum(totals.values()),
        **totals,
        "without_sign_off": sum(without.values()),
        "turnaround": turnaround[durations.ALL],
        "by_department": by_department,
    }


def assert_same_as_old(url: str, weeks: list[str]) -> dict[str, dict[str, Any]]:
    """The report's approvals equal the old query's for each week; returns them."""
    out = {}
    with session_scope(url) as session:
        for name in weeks:
            week = IsoWeek.parse(name, TZ)
            new = signoff.approvals(session=session, week=week)
            assert new == old_approvals(session=session, week=week), name
            out[name] = new
    return out


def assert_facts_match_backfill(url: str) -> int:
    """The facts equal the migration's backfill query recounted from the audit log into a
    scratch table; returns how many there are."""
    m19 = _migration()
    engine = get_engine(url)
    dialect = engine.dialect.name
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS expected_signoff"))
        conn.execute(
            text(
                f"CREATE TEMP TABLE expected_signoff AS SELECT {COLUMNS} "
                "FROM report_signoff_facts "
                + ("WITH NO DATA" if dialect == "postgresql" else "WHERE 0 = 1")
            )
        )
        backfill = m19.facts_sql(dialect, "1 = 1", scan=True)
        conn.execute(
            text(
                backfill.replace("INSERT INTO report_signoff_facts", "INSERT INTO expected_signoff")
            )
        )
        found = f"SELECT {COLUMNS} FROM report_signoff_facts"
        expected = f"SELECT {COLUMNS} FROM expected_signoff"
        missing = conn.execute(text(f"{expected} EXCEPT {found}")).all()
        extra = conn.execute(text(f"{found} EXCEPT {expected}")).all()
        assert (missing, extra) == ([], []), f"expected {missing}, found {extra}"
        count = int(conn.execute(text("SELECT count(*) FROM report_signoff_facts")).scalar_one())
        # (the step id is the key: no row twice in either)
        assert count == conn.execute(text("SELECT count(*) FROM expected_signoff")).scalar_one()
        conn.execute(text("DROP TABLE expected_signoff"))
    return count


def _facts(url: str) -> list[tuple[Any, ...]]:
    with get_engine(url).connect() as conn:
        return sorted(
            tuple(r) for r in conn.execute(text(f"SELECT {COLUMNS} FROM report_signoff_facts"))
        )


# ---- Hand-built histories ----------------------------------------------------------------------


def _at(day: int, hour: int, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    """A UTC instant in November 2026 (the test week 2026-W47 is 16-22 November, GMT)."""
    return datetime(2026, 11, day, hour, minute, second, micro, tzinfo=UTC)


def _draft(s: Session, department: str, *, kind: str = "post", draft_id: int | None = None) -> int:
    row = storage.DraftRow(
        id=draft_id,
        kind=kind,
        mention_id=None,
        channel="chan-a",
        platform="mastodon",
        department=department,
        urgent=False,
        intent="post",
        lang="en",
        text="draft text",
        version=1,
        author="ann",
        assignee="ann",
        visibility="public",
        status="pending",
        approvals_required=1,
        idempotency_key=uuid.uuid4().hex,
        attempts=0,
        created_at=_at(16, 0),
        updated_at=_at(16, 0),
    )
    s.add(row)
    s.flush()
    return row.id


def _step(s: Session, draft: int, when: datetime, action: str, **details: Any) -> None:
    s.add(
        storage.AuditRow(
            at=when,
            actor="test",
            action=action,
            subject_type="draft",
            subject_id=str(draft),
            details={"version": details.pop("version", 1), **details},
        )
    )
    s.flush()  # one step at a time, as the sign-off stage writes them


def edge_histories(url: str) -> dict[str, int]:
    """Sign-off histories around 2026-W47 that the seeded and hand-counted weeks lack."""
    ids: dict[str, int] = {}
    with session_scope(url) as s:
        # Re-approval: v1 needs two approvals; approved, then rejected while approved (not a
        # decision: it was no longer pending); v2 (an edit) approved.
        e1 = ids["reapproved"] = _draft(s, "hr")
        _step(s, e1, _at(17, 9), "plan_post", status="pending")
        _step(s, e1, _at(17, 9, 5), "approve", status="pending")
        _step(s, e1, _at(17, 9, 10, 0, 250_000), "approve", status="approved")
        _step(s, e1, _at(17, 11), "reject", status="rejected", before="approved")
        _step(s, e1, _at(17, 12), "edit", version=2, status="pending", status_before="rejected")
        _step(s, e1, _at(17, 12, 0, 10, 750_000), "approve", version=2, status="approved")
        # Rejected, edited, and the edit expired while pending; then an expiry of an
        # approved version (not a decision).
        e2 = ids["expired_edit"] = _draft(s, "marketing")
        _step(s, e2, _at(18, 8), "plan_post", status="pending")
        _step(s, e2, _at(18, 8, 30), "reject", status="rejected", before="pending")
        _step(s, e2, _at(18, 9), "edit", version=2, status="pending")
        _step(s, e2, _at(19, 9), "expire", version=2, status="expired", before="pending")
        e3 = ids["approved_then_expired"] = _draft(s, "marketing")
        _step(s, e3, _at(18, 10), "plan_post", status="pending")
        _step(s, e3, _at(18, 10, 1), "approve", status="approved")
        _step(s, e3, _at(20, 10), "expire", status="expired", before="approved")
        # Requested on the Sunday before the week, approved on its Monday: a request of the
        # week before (its decision after that week), not of this one.
        e4 = ids["before_the_week"] = _draft(s, "legal", kind="reply")
        _step(s, e4, _at(15, 23, 59, 59, 999_999), "draft", status="pending")
        _step(s, e4, _at(16, 0, 0, 0, 1), "approve", status="approved")
        # Requested on the week's last second, decided two weeks later.
        e5 = ids["decided_later"] = _draft(s, "legal", kind="reply")
        _step(s, e5, _at(22, 23, 59, 59, 999_999), "draft", status="pending")
        _step(s, e5, _at(22, 23, 59, 59, 999_999) + timedelta(days=14), "reject",
              status="rejected", before="pending")  # fmt: skip
        # Out-of-order stamps (a clock behind): a decision stamped before its request, once
        # inside the week (counted, turnaround 0) and once before the week (pending).
        e6 = ids["decided_before_request"] = _draft(s, "hr")
        _step(s, e6, _at(18, 12), "plan_post", status="pending")
        _step(s, e6, _at(18, 11, 55), "approve", status="approved")
        e7 = ids["decided_before_week"] = _draft(s, "hr")
        _step(s, e7, _at(16, 0, 5), "plan_post", status="pending")
        _step(s, e7, _at(15, 23, 55), "approve", status="approved")
        # No sign-off needed, twice in the week and once the week after.
        for day in (17, 21, 24):
            e = _draft(s, "customer_relations")
            _step(s, e, _at(day, 13), "plan_post", status="approved")
        # Half seconds: 10.5 s and 2.4995 s.
        e8 = ids["half_second"] = _draft(s, "legal")
        _step(s, e8, _at(19, 15, 0, 0, 250_000), "plan_post", status="pending")
        _step(s, e8, _at(19, 15, 0, 10, 750_000), "approve", status="approved")
        e9 = _draft(s, "legal")
        _step(s, e9, _at(19, 16, 0, 0, 500_500), "plan_post", status="pending")
        _step(s, e9, _at(19, 16, 0, 3), "reject", status="rejected", before="pending")
        # Publishing steps and another subject's steps count for nothing here.
        _step(s, e9, _at(19, 17), "publish", status="published")
        s.add(
            storage.AuditRow(
                at=_at(19, 17),
                actor="x",
                action="edit",
                subject_type="rota",
                subject_id=str(e9),
                details={"version": 2},
            )
        )
        # Across the end of summer time (Sunday 25 October 2026, 01:00 UTC): London's
        # 2026-W43 starts on 18 October 23:00 UTC, in the UTC week before.
        dst = ids["dst_first_hour"] = _draft(s, "hr")
        _step(s, dst, datetime(2026, 10, 18, 23, 30, tzinfo=UTC), "plan_post", status="pending")
        _step(s, dst, datetime(2026, 10, 19, 0, 10, tzinfo=UTC), "approve", status="approved")
        dst2 = _draft(s, "hr")
        _step(s, dst2, datetime(2026, 10, 18, 22, 30, tzinfo=UTC), "plan_post", status="pending")
        dst3 = _draft(s, "hr")
        _step(s, dst3, datetime(2026, 10, 25, 23, 30, tzinfo=UTC), "plan_post", status="pending")
        _step(s, dst3, datetime(2026, 10, 26, 0, 30, tzinfo=UTC), "approve", status="approved")
    return ids


WEEKS = ["2026-W42", "2026-W43", "2026-W44", "2026-W46", "2026-W47", "2026-W48", "2026-W49"]


def test_hand_built_histories_give_what_the_old_query_gave(database_url: str) -> None:
    ids = seed_by_hand(database_url)
    with session_scope(database_url) as session:  # nothing written by the sign-off stage yet
        week = IsoWeek.parse("2026-W47", TZ)
        assert signoff.approvals(session=session, week=week)["status"] == "not recorded"
    seed_signoff(database_url, ids)
    edges = edge_histories(database_url)
    assert assert_facts_match_backfill(database_url) > 20
    figures = assert_same_as_old(database_url, WEEKS)

    # Not vacuous: the hand counts of test_report_content (7 requests: 4 approved, 1
    # rejected, 1 expired, 1 pending) plus the edge histories' requests of W47.
    w47 = figures["2026-W47"]
    # hr: reapproved v1, v2 approved; decided before request (approved, 0 s); decided
    # before the week (pending); the waiting post of test_report_content.
    hr = w47["by_department"]["hr"]
    assert (hr["requested"], hr["approved"], hr["pending"]) == (5, 3, 2)
    # marketing: expired edit (v1 rejected, v2 expired), approved-then-expired (approved),
    # and test_report_content's expired post.
    mk = w47["by_department"]["marketing"]
    assert (mk["requested"], mk["approved"], mk["rejected"], mk["expired"]) == (4, 1, 1, 2)
    # legal: test_report_content's D5, decided later (rejected 14 days on), half seconds.
    legal = w47["by_department"]["legal"]
    assert (legal["requested"], legal["approved"], legal["rejected"]) == (4, 2, 2)
    assert legal["turnaround"]["p90_seconds"] == 14 * 86400
    assert w47["by_department"]["customer_relations"]["without_sign_off"] == 3
    assert w47["without_sign_off"] == 4
    # The Sunday-before request is the week before's, approved one microsecond after the
    # week turned (0 s).
    w46 = figures["2026-W46"]
    assert w46["by_department"]["legal"]["approved"] == 1
    assert w46["requested"] == 2  # with test_report_content's D7
    # Across the change of time: the request at 23:30 UTC on 18 October is Monday 00:30 in
    # London (W43); the one at 22:30 is Sunday (W42); 25 October 23:30 UTC is in W43.
    assert figures["2026-W43"]["by_department"]["hr"]["requested"] == 2
    assert figures["2026-W43"]["turnaround"] == {
        "count": 2,
        "median_seconds": 2400,
        "p90_seconds": 3600,
    }
    assert figures["2026-W42"]["by_department"]["hr"]["pending"] == 1
    assert figures["2026-W48"]["without_sign_off"] == 1

    # A draft moved to another department takes its requests along; a deleted one (its
    # mention gone, or itself) takes them away; both as the old query saw it.
    with session_scope(database_url) as session:
        session.execute(
            update(storage.DraftRow)
            .where(storage.DraftRow.id == edges["reapproved"])
            .values(department="legal")
        )
        session.execute(delete(storage.DraftRow).where(storage.DraftRow.id == edges["half_second"]))
    assert assert_facts_match_backfill(database_url) > 20
    moved = assert_same_as_old(database_url, ["2026-W47"])["2026-W47"]
    assert moved["by_department"]["hr"]["requested"] == 3
    assert moved["by_department"]["legal"]["requested"] == 5

    # Steps written before the draft they name: its insert fills its facts.
    with session_scope(database_url) as session:
        _step(session, 900_001, _at(20, 9), "plan_post", status="pending")
        _step(session, 900_001, _at(20, 9, 30), "approve", status="approved")
    assert assert_same_as_old(database_url, ["2026-W47"])["2026-W47"]["requested"] == 16
    with session_scope(database_url) as session:
        _draft(session, "security", draft_id=900_001)
    assert assert_facts_match_backfill(database_url) > 20
    late = assert_same_as_old(database_url, ["2026-W47"])["2026-W47"]
    assert late["by_department"]["security"]["approved"] == 1
    assert late["requested"] == 17


def test_the_migration_backfill_makes_what_the_triggers_made(database_url: str) -> None:
    ids = seed_by_hand(database_url)
    seed_signoff(database_url, ids)
    edge_histories(database_url)
    kept = _facts(database_url)
    assert len(kept) > 20
    config = _alembic_config()
    with get_engine(database_url).begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0018")
        assert "report_signoff_facts" not in {
            r[0]
            for r in conn.execute(
                text(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                    if conn.dialect.name == "sqlite"
                    else "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                )
            )
        }
        command.upgrade(config, "head")
    assert _facts(database_url) == kept
    assert_same_as_old(database_url, WEEKS)


def test_the_module_writes_what_the_migration_copied() -> None:
    m19 = _migration()
    for dialect in ("sqlite", "postgresql"):
        for where in ("1 = 1", "s.subject_id = NEW.subject_id"):
            for scan in (False, True):
                mine = signoff_facts.facts_sql(dialect, where, scan=scan)
                assert mine == m19.facts_sql(dialect, where, scan=scan)
    assert signoff_facts.COLUMNS == m19.COLUMNS
    index = next(i for i in signoff_facts.facts.indexes if i.name == m19.WEEK_INDEX[0])
    assert [c.name for c in index.columns] == m19.WEEK_INDEX[1]


def test_steps_of_one_draft_written_at_once_are_all_counted(postgres_url: str) -> None:
    """Two transactions write steps of the same draft at the same time (PostgreSQL): the
    second waits for the first's recount, then counts both steps."""
    import threading

    from socialops.db import migrate

    migrate(postgres_url)
    with session_scope(postgres_url) as session:
        draft = _draft(session, "hr")
    engine = get_engine(postgres_url)
    first = engine.connect()
    first.begin()
    first.execute(
        storage.AuditRow.__table__.insert().values(
            at=_at(17, 9),
            actor="a",
            action="plan_post",
            subject_type="draft",
            subject_id=str(draft),
            details={"version": 1, "status": "pending"},
        )
    )

    def second() -> None:
        with engine.begin() as conn:
            conn.execute(
                storage.AuditRow.__table__.insert().values(
                    at=_at(17, 9, 10),
                    actor="b",
                    action="approve",
                    subject_type="draft",
                    subject_id=str(draft),
                    details={"version": 1, "status": "approved"},
                )
            )

    other = threading.Thread(target=second)
    other.start()
    other.join(timeout=1.0)
    assert other.is_alive()  # waiting for the first transaction's lock on the draft
    first.commit()
    first.close()
    other.join(timeout=30)
    assert not other.is_alive()
    assert assert_facts_match_backfill(postgres_url) == 1
    figures = assert_same_as_old(postgres_url, ["2026-W47"])["2026-W47"]
    assert (figures["requested"], figures["approved"]) == (1, 1)


# ---- What the sign-off stage writes ------------------------------------------------------------


def test_the_sign_off_stage_keeps_the_facts(socialops_env: Path, database_url: str) -> None:
    """Drafts, approvals, a rejection of an approved draft, an edit, a planned post that
    expires, all through :mod:`socialops.signoff` (the audit log stamps the wall clock)."""
    from socialops.rota.schedule import engine_for
    from socialops.signoff import approvals, drafts
    from tests.signoff.fixtures import T_DAY, add_assigned, draft_all, northwind

    org = northwind()
    engine = engine_for(org)
    url = database_url
    with session_scope(url) as session:
        for ext in ("301", "302", "303", "304"):
            add_assigned(
                session, external_id=ext, department="customer_relations", assignee="amelia.hart"
            )
        draft_all(session, org, now=T_DAY, engine=engine)
        ids = sorted(x.id for x in session.query(storage.DraftRow))
    assert len(ids) == 4
    assert assert_facts_match_backfill(url) == 4

    def approve_all(session: Session, draft_id: int) -> str:
        who = approvals.approve_as_eligible(
            session=session, org=org, engine=engine, draft_id=draft_id, now=T_DAY
        )
        assert approvals.get_draft(session, draft_id).status == "approved"
        return who[0]

    def reject(session: Session, draft_id: int, who: str | None = None) -> None:
        if who is None:
            draft = approvals.get_draft(session, draft_id)
            who = approvals.eligible_approvers(session, org, engine, draft, T_DAY)[0].handle
        approvals.reject(
            session=session,
            org=org,
            engine=engine,
            draft_id=draft_id,
            who=who,
            reason="tone",
            now=T_DAY,
        )

    with session_scope(url) as session:
        approve_all(session, ids[0])
        reject(session, ids[1])
        approvals.edit(
            session=session,
            org=org,
            engine=engine,
            draft_id=ids[1],
            who="amelia.hart",
            text="A better answer",
            now=T_DAY,
        )
        approve_all(session, ids[1])  # v2 approved
        approver = approve_all(session, ids[2])
        reject(session, ids[2], approver)  # rejected while approved: its approval stands
        post = drafts.add_post(
            session=session,
            org=org,
            engine=engine,
            channel=org.channels[0].name,
            at=T_DAY + timedelta(hours=2),
            text="Our winter opening hours",
            who="amelia.hart",
            department="marketing",
            now=T_DAY,
        )
        assert approvals.expire_due(session=session, now=T_DAY + timedelta(hours=3)) == 1
    assert assert_facts_match_backfill(url) == 6
    now = datetime.now(UTC)
    weeks = sorted({IsoWeek.containing(now + timedelta(days=k), TZ).label for k in (-7, 0, 7)})
    figures = assert_same_as_old(url, weeks)
    this = figures[IsoWeek.containing(now, TZ).label]
    # 4 replies and the edit: approved 3 (one rejected afterwards, while approved: its
    # approval stands), rejected 1 (then edited), pending 1; the post expired.
    assert (this["requested"], this["approved"], this["rejected"]) == (6, 3, 1)
    assert (this["pending"], this["expired"]) == (1, 1)
    assert this["turnaround"]["count"] == 4  # approvals and rejections are timed
    with session_scope(url) as session:
        facts = session.execute(
            select(signoff_facts.facts.c.outcome, func.count()).group_by(
                signoff_facts.facts.c.outcome
            )
        ).all()
        assert dict(facts) == {"approved": 3, "pending": 1, "rejected": 1, "expired": 1}
        assert approvals.get_draft(session, post.id).status == "expired"


# ---- What the seed writes -----------------------------------------------------------------------


def test_a_seed_fills_the_facts_the_backfill_makes(database_url: str) -> None:
    org = load_config(Path(REPO / "config" / "northwind.yaml"))
    rota = RotaEngine(org)
    week = IsoWeek.parse("2026-W47", org.organisation.timezone)
    now = datetime(2026, 11, 21, 15, tzinfo=UTC)
    counts = []
    for seed in (1, 2):  # the second adds to what the first wrote
        seed_week(
            engine=get_engine(database_url),
            org=org,
            week=week,
            mentions=1500,
            rota=rota,
            now=now,
            seed=seed,
        )
        counts.append(assert_facts_match_backfill(database_url))
    assert 0 < counts[0] < counts[1]
    figures = assert_same_as_old(database_url, ["2026-W46", "2026-W47", "2026-W48"])
    w47 = figures["2026-W47"]
    assert w47["requested"] > 1000 and w47["rejected"] > 0 and w47["without_sign_off"] >= 0
    assert w47["turnaround"]["count"] > 0
    # The seed's triggers are back: a step written now is counted.
    with session_scope(database_url) as session:
        draft = _draft(session, "hr")
        _step(session, draft, now, "plan_post", status="pending")
    after = assert_same_as_old(database_url, ["2026-W47"])["2026-W47"]
    assert after["requested"] == w47["requested"] + 1
