"""Publishing on Mastodon against the sandbox: a post the server refuses fails with its reason
and tells the assignee. The exactly-once scenarios every platform shares (faults, writes answered
502, a server ignoring Idempotency-Key, concurrent and killed publishers) are in
test_publish_exactly_once.py."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from sandbox.server import SandboxServer
from socialops import storage
from socialops.db import session_scope
from socialops.rota.schedule import engine_for
from socialops.signoff import approvals
from tasks.publish import publish_pending
from tests.signoff.fixtures import T_DAY, add_assigned, draft_all, northwind
from tests.signoff.publish_cases import CASES, sandbox_config

pytestmark = pytest.mark.e2e


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    case = CASES["mastodon"]
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    with SandboxServer(sandbox_config(case.rate_per_hour)) as server:
        yield server


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
        draft_all(session, org, now=T_DAY)
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
    assert CASES["mastodon"].posted(sandbox) == Counter()
