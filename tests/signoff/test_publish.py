"""Publishing exactly once against the sandbox: injected faults (including writes answered
502), a server that ignores Idempotency-Key, concurrent publishers, a killed publisher."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from connectors import mastodon
from sandbox.server import SandboxServer
from sandbox.world import SandboxConfig
from socialops import storage
from socialops.config import OrgConfig
from socialops.db import session_scope
from socialops.rota.schedule import engine_for
from socialops.settings import DEFAULT_CONFIG
from socialops.signoff import approvals, drafts
from socialops.signoff.templates import ReplyTemplates, templates_folder
from tasks.publish import publish_pending
from tests.signoff.fixtures import T_DAY, add_assigned, northwind

pytestmark = pytest.mark.e2e
TOKEN = "sandbox-test-token"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    monkeypatch.setenv("SOCIALOPS_MASTODON_TOKEN", TOKEN)
    config = SandboxConfig(
        seed=11,
        rate_per_hour=120,
        history_hours=1,
        bad_item_rate=0,
        rate_limit=100_000,
        latency_seconds=0.05,
        fault_reset_seconds=0.2,
    )
    with SandboxServer(config) as server:
        yield server


def _mentions(server: SandboxServer, n: int) -> list[str]:
    with mastodon.MastodonClient(
        base_url=server.url, token=SecretStr(TOKEN), channel="mastodon-main"
    ) as client:
        page = client.fetch_mentions_page(limit=80)
    ids = [m.external_id for m in page.mentions][:n]
    assert len(ids) == n
    return ids


def _prepare(url: str, org: OrgConfig, ids: list[str], approve: int) -> tuple[list[str], list[str]]:
    """Draft a reply to each mention; approve the first ``approve`` by the policy's people."""
    engine = engine_for(org)
    with session_scope(url) as session:
        for ext in ids:
            add_assigned(
                session, external_id=ext, department="customer_relations", assignee="amelia.hart"
            )
        drafts.draft_replies(
            session=session,
            org=org,
            engine=engine,
            templates=ReplyTemplates(templates_folder(DEFAULT_CONFIG)),
            now=T_DAY,
        )
    approved, pending = [], []
    with session_scope(url) as session:
        rows = session.execute(select(storage.DraftRow).order_by(storage.DraftRow.id)).scalars()
        for i, draft in enumerate(list(rows)):
            if i < approve:
                who = approvals.approve_as_eligible(
                    session=session, org=org, engine=engine, draft_id=draft.id, now=T_DAY
                )
                assert who, "nobody could approve"
                approved.append(draft.in_reply_to_id)
            else:
                pending.append(draft.in_reply_to_id)
    return [a for a in approved if a], [p for p in pending if p]


def _posted(server: SandboxServer) -> Counter[str | None]:
    feed = server.world.feed()
    return Counter(status["in_reply_to_id"] for status in feed.posted.values())


def _publish_until_done(url: str, org: OrgConfig, rounds: int = 6) -> None:
    for _ in range(rounds):
        publish_pending(url=url, org=org, max_wait=3.0, rounds=60)
        with session_scope(url) as session:
            left = session.execute(
                select(storage.DraftRow.id).where(
                    storage.DraftRow.status.in_((approvals.APPROVED, approvals.PUBLISHING))
                )
            ).all()
        if not left:
            return
    raise AssertionError(f"{len(left)} approved items were never published")


def _check_exactly_once(
    url: str, server: SandboxServer, approved: list[str], pending: list[str]
) -> None:
    posted = _posted(server)
    assert {k: v for k, v in posted.items() if v != 1} == {}, "a reply was posted twice"
    assert set(posted) == set(approved), "missing replies, or unapproved ones posted"
    assert not set(posted) & set(pending)
    with session_scope(url) as session:
        rows = (
            session.execute(
                select(storage.DraftRow).where(storage.DraftRow.status == approvals.PUBLISHED)
            )
            .scalars()
            .all()
        )
        feed = server.world.feed()
        assert sorted(r.in_reply_to_id or "" for r in rows) == sorted(approved)
        for row in rows:
            assert row.external_id is not None
            assert feed.posted[int(row.external_id)]["in_reply_to_id"] == row.in_reply_to_id
        acted = session.execute(
            select(storage.AssignmentRow.status, storage.AssignmentRow.acted_by)
        ).all()
        assert sum(1 for s, _by in acted if s == "acted") == len(approved)


@pytest.mark.parametrize("ignore_key", [False, True], ids=["honours-key", "ignores-key"])
def test_faults_publish_each_approved_reply_exactly_once(
    database_url: str, sandbox: SandboxServer, ignore_key: bool
) -> None:
    org = northwind(sandbox.url)
    approved, pending = _prepare(database_url, org, _mentions(sandbox, 30), approve=22)
    state = sandbox.sandbox
    state.fault_rate = 0.2
    state.fault_kinds = ("500", "503", "429", "truncated", "latency")
    state.publishing.fail_after_write_rate = 0.2
    state.publishing.ignore_idempotency_key = ignore_key

    _publish_until_done(database_url, org)

    _check_exactly_once(database_url, sandbox, approved, pending)
    assert state.publishing.failed_after_write > 0, "no write answered 502: the test is weak"
    with session_scope(database_url) as session:
        found = (
            session.execute(select(storage.AuditRow).where(storage.AuditRow.action == "publish"))
            .scalars()
            .all()
        )
    assert any(row.details["found_by_reconciling"] for row in found)


def test_two_publishers_at_once_publish_once(database_url: str, sandbox: SandboxServer) -> None:
    org = northwind(sandbox.url)
    approved, pending = _prepare(database_url, org, _mentions(sandbox, 24), approve=24)
    sandbox.sandbox.publishing.ignore_idempotency_key = True
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            publish_pending(url=database_url, org=org, max_wait=2.0)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    _publish_until_done(database_url, org)
    _check_exactly_once(database_url, sandbox, approved, pending)


def test_rejected_post_fails_and_tells_the_assignee(
    database_url: str, sandbox: SandboxServer
) -> None:
    org = northwind(sandbox.url)
    with session_scope(database_url) as session:
        add_assigned(
            session,
            external_id="999999999",
            department="customer_relations",
            assignee="amelia.hart",
        )
        drafts.draft_replies(
            session=session,
            org=org,
            engine=engine_for(org),
            templates=ReplyTemplates(templates_folder(DEFAULT_CONFIG)),
            now=T_DAY,
        )
        draft = session.execute(select(storage.DraftRow)).scalar_one()
        approvals.approve_as_eligible(
            session=session, org=org, engine=engine_for(org), draft_id=draft.id, now=T_DAY
        )
    run = publish_pending(url=database_url, org=org, max_wait=0)
    assert run.failed == 1 and run.published == 0
    with session_scope(database_url) as session:
        row = session.execute(select(storage.DraftRow)).scalar_one()
        assert row.status == "failed" and "404" in (row.last_error or "")
        note = session.execute(
            select(storage.NotificationRow).where(storage.NotificationRow.event == "publish_failed")
        ).scalar_one()
        assert note.recipient == "amelia.hart"
    assert _posted(sandbox) == Counter()


_CHILD = """
import sys
from datetime import timedelta
from tasks.publish import publish_pending
from tests.signoff.fixtures import northwind
org = northwind(sys.argv[2])
publish_pending(url=sys.argv[1], org=org, max_wait=0, lease=timedelta(seconds=1))
"""


def test_killed_publisher_then_rerun_publishes_exactly_once(
    database_url: str, sandbox: SandboxServer, tmp_path: Path
) -> None:
    org = northwind(sandbox.url)
    approved, pending = _prepare(database_url, org, _mentions(sandbox, 12), approve=12)
    sandbox.sandbox.publishing.ignore_idempotency_key = True  # the worst case
    feed = sandbox.world.feed()
    original = feed.post
    child: dict[str, subprocess.Popen[bytes]] = {}

    def post_then_die(**kwargs: object) -> object:
        status = original(**kwargs)  # type: ignore[arg-type]
        if len(feed.posted) == 5:  # written, and the publisher dies before it hears back
            os.kill(child["p"].pid, signal.SIGKILL)
        return status

    feed.post = post_then_die  # type: ignore[method-assign]
    env = {**os.environ, "SOCIALOPS_MASTODON_TOKEN": TOKEN}
    child["p"] = subprocess.Popen(
        [sys.executable, "-c", _CHILD, database_url, sandbox.url], cwd=REPO, env=env
    )
    assert child["p"].wait(120) == -signal.SIGKILL
    feed.post = original  # type: ignore[method-assign]
    with session_scope(database_url) as session:
        stuck = (
            session.execute(
                select(storage.DraftRow).where(storage.DraftRow.status == approvals.PUBLISHING)
            )
            .scalars()
            .all()
        )
    # The batch it had claimed is stuck in `publishing`; one of them was being posted.
    assert len(stuck) == 12 - 4
    assert [r.post_started_at is not None for r in stuck].count(True) == 1
    import time

    time.sleep(1.2)  # the dead publisher's lease runs out
    _publish_until_done(database_url, org)
    _check_exactly_once(database_url, sandbox, approved, pending)
