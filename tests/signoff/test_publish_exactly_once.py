"""Publishing exactly once, on every platform, against the sandbox: 20% injected faults with
writes answered 502 after they were made, two publishers at once, and a publisher killed just
after a write then run again. The scenarios are the same for every platform; what differs (how
to inject a fault, what the platform holds) is in tests/signoff/publish_cases.py. Mastodon runs
twice, honouring and ignoring Idempotency-Key; Reddit and X take no idempotency key at all, so
reconciliation against the account's own posts is all that stands between an unknown outcome
and a double post; Bluesky writes under a record key chosen before the first attempt."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from sandbox.server import SandboxServer
from socialops import storage
from socialops.db import session_scope
from socialops.signoff import approvals
from tasks.publish import publish_pending
from tests.signoff.publish_cases import (
    CASES,
    PublishCase,
    check_exactly_once,
    prepare,
    publish_until_done,
    sandbox_config,
)

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
# Two publishers at once and a killed publisher need only the worst case of each platform.
WORST_CASES = ["mastodon-ignores-key", "bluesky", "reddit", "x"]


@pytest.fixture
def case(request: pytest.FixtureRequest) -> PublishCase:
    return CASES[request.param]


@pytest.fixture
def sandbox(case: PublishCase, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    with SandboxServer(sandbox_config(case.rate_per_hour)) as server:
        yield server


@pytest.mark.parametrize("case", list(CASES), indirect=True)
def test_faults_publish_each_approved_reply_exactly_once(
    database_url: str, case: PublishCase, sandbox: SandboxServer
) -> None:
    org, approved, pending = prepare(database_url, case, sandbox, 30, approve=22)
    case.inject_faults(sandbox)

    publish_until_done(database_url, org)

    check_exactly_once(database_url, case, sandbox, approved, pending)
    assert case.answered_502_after_writing(sandbox) > 0, "no write answered 502: the test is weak"
    case.extra_checks(sandbox, approved)
    if case.reconciles:
        with session_scope(database_url) as session:
            found = (
                session.execute(
                    select(storage.AuditRow).where(storage.AuditRow.action == "publish")
                )
                .scalars()
                .all()
            )
        assert any(row.details["found_by_reconciling"] for row in found)


@pytest.mark.parametrize("case", WORST_CASES, indirect=True)
def test_two_publishers_at_once_publish_once(
    database_url: str, case: PublishCase, sandbox: SandboxServer
) -> None:
    org, approved, pending = prepare(database_url, case, sandbox, 24, approve=24)
    case.worst_case(sandbox)
    case.writes_answered_502(sandbox, 0.2)
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
    publish_until_done(database_url, org)
    check_exactly_once(database_url, case, sandbox, approved, pending)


_CHILD = """
import sys
from datetime import timedelta
from tasks.publish import publish_pending
from tests.signoff.publish_cases import CASES
org = CASES[sys.argv[2]].org(sys.argv[3])
publish_pending(url=sys.argv[1], org=org, max_wait=0, lease=timedelta(seconds=1))
"""


@pytest.mark.parametrize("case", WORST_CASES, indirect=True)
def test_killed_publisher_then_rerun_publishes_exactly_once(
    database_url: str, case: PublishCase, sandbox: SandboxServer
) -> None:
    org, approved, pending = prepare(database_url, case, sandbox, 12, approve=12)
    child: dict[str, subprocess.Popen[bytes]] = {}
    # Written, and the publisher dies before it hears back.
    undo = case.kill_after_fifth_write(sandbox, lambda: os.kill(child["p"].pid, signal.SIGKILL))
    child["p"] = subprocess.Popen(
        [sys.executable, "-c", _CHILD, database_url, case.name, case.org_url(sandbox)],
        cwd=REPO,
        env={**os.environ, **case.env},
    )
    assert child["p"].wait(120) == -signal.SIGKILL
    undo()
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
    if case.platform == "bluesky":
        with session_scope(database_url) as session:
            # The worst case: the kept record keys are gone too (a restored database, say), so
            # a retry would write under a new key. Reconciling with the repository must catch it.
            gone = session.execute(
                delete(storage.ConnectorStateRow).where(
                    storage.ConnectorStateRow.key.like("post:%")
                )
            )
            assert gone.rowcount == 5  # type: ignore[attr-defined]
    time.sleep(1.2)  # the dead publisher's lease runs out
    publish_until_done(database_url, org)
    check_exactly_once(database_url, case, sandbox, approved, pending)


@pytest.mark.parametrize("case", ["mastodon", "bluesky"], indirect=True)
def test_a_reply_is_labelled_with_its_drafts_language(
    database_url: str, case: PublishCase, sandbox: SandboxServer
) -> None:
    """Mastodon's ``language`` and Bluesky's ``langs`` say what language the reply is in (the
    draft's): readers' language filters and translation buttons depend on it. The sandbox, as
    a server does, labels a Mastodon status unsent a language with the account's default
    (``en``), so the drafts here are Portuguese."""
    org, approved, pending = prepare(database_url, case, sandbox, 3, approve=3)
    with session_scope(database_url) as session:
        session.execute(update(storage.DraftRow).values(lang="pt"))
    publish_until_done(database_url, org)
    check_exactly_once(database_url, case, sandbox, approved, pending)  # each row's language
    if case.platform == "mastodon":
        labels = [s["language"] for s in sandbox.world.feed().posted.values()]
    else:
        labels = [(r.value.get("langs") or [None])[0] for r in case.state(sandbox).repo.values()]
    assert labels.count("pt") == 3, labels
