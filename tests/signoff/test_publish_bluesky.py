"""Publishing on Bluesky, what is particular to it: a publisher whose every write is made and
answered 502 finds each record in the repository, not written again. The exactly-once scenarios
every platform shares (faults, concurrent and killed publishers, lost record keys) are in
test_publish_exactly_once.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from sandbox.server import SandboxServer
from socialops import storage
from socialops.db import session_scope
from tasks.publish import publish_pending
from tests.signoff.publish_cases import CASES, check_exactly_once, prepare, sandbox_config

pytestmark = pytest.mark.e2e
CASE = CASES["bluesky"]


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    for name, value in CASE.env.items():
        monkeypatch.setenv(name, value)
    with SandboxServer(sandbox_config(CASE.rate_per_hour)) as server:
        yield server


def test_writes_answered_502_are_found_in_the_repository_not_written_again(
    database_url: str, sandbox: SandboxServer
) -> None:
    """Every write happens and is answered 502 (every in-place retry too): each item is an
    unknown outcome, found by listing the repository before any further attempt."""
    org, approved, pending = prepare(database_url, CASE, sandbox, 6, approve=6)
    state = sandbox.platform("bluesky")
    state.publishing.fail_after_write_rate = 1.0
    run = publish_pending(url=database_url, org=org, max_wait=0, rounds=1)
    assert run.published == run.reconciled == 6
    assert state.publishing.writes == 6 and state.publishing.noops == 12  # 2 retries each
    check_exactly_once(database_url, CASE, sandbox, approved, pending)
    with session_scope(database_url) as session:
        found = (
            session.execute(select(storage.AuditRow).where(storage.AuditRow.action == "publish"))
            .scalars()
            .all()
        )
    assert [bool(row.details["found_by_reconciling"]) for row in found] == [True] * 6
