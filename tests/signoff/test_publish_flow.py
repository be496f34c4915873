"""The publish-replies flow on every platform that can publish: its ``publishing-summary``
artifact counts per platform, channel and department (published, found after an unknown
outcome, failed with the platform's reason), none for a run that did nothing; and the run's
log line gives each platform's figures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from sandbox.server import SandboxServer
from sandbox.world import SandboxConfig
from socialops import storage
from socialops.db import session_scope
from socialops.rota.schedule import engine_for
from socialops.settings import reset_settings_cache
from socialops.signoff import approvals
from socialops.signoff.publishing import Claimed, PublishRun
from tests.signoff.fixtures import T_DAY, add_assigned, draft_all
from tests.signoff.platform_fixtures import ENV, add_platform_mention, mention_ids, org_for

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_api")]


@pytest.fixture
def sandbox(
    socialops_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[SandboxServer]:
    for name, value in {**ENV, "SOCIALOPS_MASTODON_TOKEN": "sandbox-test-token"}.items():
        monkeypatch.setenv(name, value)
    config = SandboxConfig(seed=11, rate_per_hour=120, history_hours=1, bad_item_rate=0)
    with SandboxServer(config) as server:
        channels = [c.model_dump(exclude_none=True) for c in org_for(server.url).channels]
        channels.append(
            {
                "name": "mastodon-main",
                "platform": "mastodon",
                "base_url": server.url,
                "token_env": "SOCIALOPS_MASTODON_TOKEN",
            }
        )
        path = tmp_path / "channels.yaml"
        path.write_text(yaml.safe_dump({"channels": channels}), encoding="utf-8")
        monkeypatch.setenv("SOCIALOPS_CHANNELS", str(path))
        reset_settings_cache()
        yield server
        reset_settings_cache()


def _artifacts(flow_run_id: object) -> dict[str, str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
    return {a.key: str(a.data) for a in found if a.key}


def test_the_flow_publishes_on_every_platform_and_leaves_a_summary(
    database_url: str, sandbox: SandboxServer
) -> None:
    from flows.publish_replies import publish_replies

    org = org_for(sandbox.url)
    reddit, x = sandbox.platform("reddit"), sandbox.platform("x")
    with session_scope(database_url) as session:
        for ext, author in mention_ids(reddit, "reddit", 2):
            add_platform_mention(session, platform="reddit", external_id=ext, author=author)
        for ext, author in mention_ids(x, "x", 2):
            add_platform_mention(
                session, platform="x", external_id=ext, author=author, department="marketing"
            )
        add_assigned(  # a Mastodon status that is gone: refused with the server's 404
            session, external_id="999999999", department="customer_relations", assignee="ben.carter"
        )
        draft_all(session, org, now=T_DAY)
        for draft_id in session.execute(select(storage.DraftRow.id)).scalars().all():
            approvals.approve_as_eligible(
                session=session, org=org, engine=engine_for(org), draft_id=draft_id, now=T_DAY
            )
    x.writes.fail_after_write_rate = 1.0  # made, answered 502: found among the account's posts

    state = publish_replies(return_state=True)
    assert state.is_completed(), state.message
    run = state.result()
    assert (run.published, run.reconciled, run.failed) == (4, 2, 1)
    summary = _artifacts(state.state_details.flow_run_id)["publishing-summary"]
    assert "4 published (2 of them found on the platform after an unknown outcome" in summary
    assert "| reddit | reddit-main | customer_relations | 2 | 0 | 0 | 0 |" in summary
    assert "| x | x-main | marketing | 2 | 2 | 0 | 0 |" in summary
    assert "| mastodon | mastodon-main | customer_relations | 0 | 0 | 1 | 0 |" in summary
    assert "## Failed (1)" in summary and "HTTP 404" in summary
    assert "sandbox-test-token" not in summary
    assert "reddit: 2 published; x: 2 published (2 found)" in run.log_line()
    assert run.log_line().startswith("published 4 (2 found on the platform")
    assert len(reddit.comments) == 2 and len(x.posts) == 2

    again = publish_replies(return_state=True)
    assert again.is_completed()
    assert "publishing-summary" not in _artifacts(again.state_details.flow_run_id)


def test_the_summary_lists_what_waits_with_its_reason_and_escapes_table_cells() -> None:
    run = PublishRun()
    item = Claimed(
        id=7,
        kind="reply",
        channel="x-main",
        platform="x",
        text="hi",
        in_reply_to_id="1",
        visibility="public",
        idempotency_key="k",
        claim_token="t",
        post_started_at=None,
        mention_id=1,
        assignee="amelia.hart",
        department="legal",
        urgent=False,
    )
    run.count("retry", "X monthly write budget reached | wait\x1b[31m", item)
    assert run.did_something
    text = run.markdown()
    assert "| x | x-main | legal | 0 | 0 | 0 | 1 |" in text
    assert "## To retry later (1)" in text
    assert "- draft 7 on x-main (legal): X monthly write budget reached \\| wait␛[31m" in text
    assert run.log_line().endswith("; x: 0 published, 1 to retry")
    assert not PublishRun().did_something
