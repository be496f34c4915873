"""Publishing exactly once on Bluesky, against the sandbox's PDS emulation: 20% injected faults
with writes answered 502 after they happened, concurrent publishers, a killed publisher, and a
publisher that lost its record keys (reconciliation from the repository alone)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import delete, select, update

from connectors import bluesky
from connectors.state import MemoryStateStore
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
PASSWORD = "sandbox-app-password"
CHANNEL = "bluesky-main"
REPO = Path(__file__).resolve().parents[2]


def bluesky_org(base_url: str) -> OrgConfig:
    """The default organisation with one Bluesky channel on the sandbox."""
    data = northwind().model_dump()
    data["channels"] = [
        {
            "name": CHANNEL,
            "platform": "bluesky",
            "base_url": base_url,
            "token_env": "SOCIALOPS_BLUESKY_PASSWORD",
            "identifier": "northwind.bsky.social",
        }
    ]
    return OrgConfig.model_validate(data)


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    monkeypatch.setenv("SOCIALOPS_BLUESKY_PASSWORD", PASSWORD)
    config = SandboxConfig(
        seed=11,
        rate_per_hour=240,
        history_hours=1,
        bad_item_rate=0,
        rate_limit=100_000,
        latency_seconds=0.05,
        fault_reset_seconds=0.2,
    )
    with SandboxServer(config) as server:
        yield server


def pds(server: SandboxServer) -> Any:
    return server.platform("bluesky")


def _mentions(server: SandboxServer, n: int) -> list[str]:
    with bluesky.BlueskyClient(
        base_url=server.platform_url("bluesky"),
        identifier="northwind.bsky.social",
        password=SecretStr(PASSWORD),
        channel=CHANNEL,
        store=MemoryStateStore(),
    ) as client:
        page = client.fetch_mentions_page(limit=100)
    uris = [m.external_id for m in page.mentions][:n]
    assert len(uris) == n
    return uris


def _prepare(
    url: str, org: OrgConfig, uris: list[str], approve: int
) -> tuple[list[str], list[str]]:
    """A routed Bluesky mention and a reply draft for each; the first ``approve`` approved."""
    engine = engine_for(org)
    with session_scope(url) as session:
        for uri in uris:
            mention_id = add_assigned(
                session, external_id=uri, department="customer_relations", assignee="amelia.hart"
            )
            session.execute(
                update(storage.MentionRow)
                .where(storage.MentionRow.id == mention_id)
                .values(platform="bluesky", channel=CHANNEL, author_handle="ann.bsky.social")
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
            assert draft.platform == "bluesky"
            if i < approve:
                who = approvals.approve_as_eligible(
                    session=session, org=org, engine=engine, draft_id=draft.id, now=T_DAY
                )
                assert who, "nobody could approve"
                approved.append(draft.in_reply_to_id)
            else:
                pending.append(draft.in_reply_to_id)
    return [a for a in approved if a], [p for p in pending if p]


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
    state = pds(server)
    posted = state.replies_to()
    assert {k: v for k, v in posted.items() if v != 1} == {}, "a reply was posted twice"
    assert set(posted) == set(approved), "missing replies, or unapproved ones posted"
    assert not set(posted) & set(pending)
    by_uri = {stored.uri: stored for stored in state.repo.values()}
    with session_scope(url) as session:
        rows = (
            session.execute(
                select(storage.DraftRow).where(storage.DraftRow.status == approvals.PUBLISHED)
            )
            .scalars()
            .all()
        )
        assert sorted(r.in_reply_to_id or "" for r in rows) == sorted(approved)
        for row in rows:
            stored = by_uri[str(row.external_id)]
            assert stored.value["reply"]["parent"]["uri"] == row.in_reply_to_id
            assert stored.value["text"] == row.text
            assert row.external_url and row.external_url.startswith("https://bsky.app/profile/")
        acted = session.execute(select(storage.AssignmentRow.status)).scalars().all()
        assert acted.count("acted") == len(approved)


def test_faults_and_502_after_write_publish_each_approved_reply_exactly_once(
    database_url: str, sandbox: SandboxServer
) -> None:
    org = bluesky_org(sandbox.platform_url("bluesky"))
    approved, pending = _prepare(database_url, org, _mentions(sandbox, 30), approve=22)
    state = pds(sandbox)
    state.plan.set_faults(0.2, ("500", "503", "429", "truncated", "latency"))
    state.publishing.fail_after_write_rate = 0.2

    _publish_until_done(database_url, org)

    _check_exactly_once(database_url, sandbox, approved, pending)
    assert state.publishing.failed_after_write > 0, "no write answered 502: the test is weak"
    # Retries of a write that had happened rewrote the identical record: nothing new.
    assert state.publishing.noops > 0 and state.publishing.overwrites == 0
    assert state.publishing.writes == len(approved)


def test_two_publishers_at_once_publish_once(database_url: str, sandbox: SandboxServer) -> None:
    org = bluesky_org(sandbox.platform_url("bluesky"))
    approved, pending = _prepare(database_url, org, _mentions(sandbox, 24), approve=24)
    pds(sandbox).publishing.fail_after_write_rate = 0.2
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


def test_writes_answered_502_are_found_in_the_repository_not_written_again(
    database_url: str, sandbox: SandboxServer
) -> None:
    """Every write happens and is answered 502 (every in-place retry too): each item is an
    unknown outcome, found by listing the repository before any further attempt."""
    org = bluesky_org(sandbox.platform_url("bluesky"))
    approved, pending = _prepare(database_url, org, _mentions(sandbox, 6), approve=6)
    state = pds(sandbox)
    state.publishing.fail_after_write_rate = 1.0
    run = publish_pending(url=database_url, org=org, max_wait=0, rounds=1)
    assert run.published == run.reconciled == 6
    assert state.publishing.writes == 6 and state.publishing.noops == 12  # 2 retries each
    _check_exactly_once(database_url, sandbox, approved, pending)
    with session_scope(database_url) as session:
        found = (
            session.execute(select(storage.AuditRow).where(storage.AuditRow.action == "publish"))
            .scalars()
            .all()
        )
    assert [bool(row.details["found_by_reconciling"]) for row in found] == [True] * 6


_CHILD = """
import sys
from datetime import timedelta
from tasks.publish import publish_pending
from tests.signoff.test_publish_bluesky import bluesky_org
publish_pending(url=sys.argv[1], org=bluesky_org(sys.argv[2]), max_wait=0,
                lease=timedelta(seconds=1))
"""


def test_killed_publisher_then_rerun_publishes_exactly_once(
    database_url: str, sandbox: SandboxServer
) -> None:
    org = bluesky_org(sandbox.platform_url("bluesky"))
    approved, pending = _prepare(database_url, org, _mentions(sandbox, 12), approve=12)
    state = pds(sandbox)
    child: dict[str, subprocess.Popen[bytes]] = {}

    def die_after_fifth(records: int) -> None:
        if records == 5 and "killed" not in child:  # written; the publisher never hears back
            child["killed"] = child["p"]
            os.kill(child["p"].pid, signal.SIGKILL)

    state.publishing.after_write = die_after_fifth
    env = {**os.environ, "SOCIALOPS_BLUESKY_PASSWORD": PASSWORD}
    child["p"] = subprocess.Popen(
        [sys.executable, "-c", _CHILD, database_url, sandbox.platform_url("bluesky")],
        cwd=REPO,
        env=env,
    )
    assert child["p"].wait(120) == -signal.SIGKILL
    state.publishing.after_write = None
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
    with session_scope(database_url) as session:
        # The worst case: the kept record keys are gone too (a restored database, say), so a
        # retry would write under a new key. Reconciling with the repository must catch it.
        gone = session.execute(
            delete(storage.ConnectorStateRow).where(storage.ConnectorStateRow.key.like("post:%"))
        )
        assert gone.rowcount == 5  # type: ignore[attr-defined]
    time.sleep(1.2)  # the dead publisher's lease runs out
    _publish_until_done(database_url, org)
    _check_exactly_once(database_url, sandbox, approved, pending)
