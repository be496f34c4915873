"""Publishing on Reddit and X against the sandbox, what is particular to each: the platform's
reason for a refused reply, the longest text a draft may hold, how authors are addressed, a
planned Reddit post, X's monthly write budget and its duplicate-content refusal, and drafting
across channels in turn. The exactly-once scenarios every platform shares are in
test_publish_exactly_once.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sandbox.server import SandboxServer
from socialops import storage
from socialops.config import OrgConfig
from socialops.db import session_scope
from socialops.rota.schedule import engine_for
from socialops.signoff import approvals, drafts
from socialops.signoff.templates import LIMITS
from tasks.publish import publish_pending
from tests.signoff.fixtures import T_DAY, draft_all
from tests.signoff.platform_fixtures import (
    ENV,
    add_platform_mention,
    mention_ids,
    org_for,
    posted,
    written_ids,
)
from tests.signoff.publish_cases import CASES, prepare_for, publish_until_done, sandbox_config

pytestmark = pytest.mark.e2e
PLATFORMS = ["reddit", "x"]


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    with SandboxServer(sandbox_config(120)) as server:
        yield server


def _prepare(
    url: str, org: OrgConfig, platform: str, mentions: list[tuple[str, str]], approve: int
) -> tuple[list[str], list[str]]:
    """Draft a reply to each mention; approve the first ``approve`` by the policy's people."""
    return prepare_for(url, CASES[platform], org, list(mentions), approve)


def _state(server: SandboxServer, platform: str) -> Any:
    return CASES[platform].state(server)


@pytest.mark.parametrize(
    ("platform", "gone", "message"),
    [
        ("reddit", "t1_zzzzzz", "DELETED_COMMENT: that comment has been deleted"),
        ("x", "1999999999999999999", "deleted or not visible to you"),
    ],
)
def test_a_refused_reply_fails_with_the_platforms_reason_and_tells_the_assignee(
    database_url: str, sandbox: SandboxServer, platform: str, gone: str, message: str
) -> None:
    org = org_for(sandbox.url)
    state = _state(sandbox, platform)
    _prepare(database_url, org, platform, [(gone, "ann")], approve=1)
    run = publish_pending(url=database_url, org=org, max_wait=0)
    assert run.failed == 1 and run.published == 0
    with session_scope(database_url) as session:
        row = session.execute(select(storage.DraftRow)).scalar_one()
        assert row.status == "failed" and message in (row.last_error or "")
        note = session.execute(
            select(storage.NotificationRow).where(storage.NotificationRow.event == "publish_failed")
        ).scalar_one()
        assert note.recipient == "amelia.hart"
    assert not posted(state, platform)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_the_longest_text_the_draft_limit_allows_is_published(
    database_url: str, sandbox: SandboxServer, platform: str
) -> None:
    org = org_for(sandbox.url)
    state = _state(sandbox, platform)
    _prepare(database_url, org, platform, mention_ids(state, platform, 1), approve=0)
    limit = LIMITS[platform]
    longest = ("word " * limit)[: limit - 2] + "ok"
    link = "https://northwind.example/" + "a" * 200  # X counts any link as 23
    with session_scope(database_url) as session:
        draft = session.execute(select(storage.DraftRow)).scalar_one()
        text = longest if platform == "reddit" else f"{link} " + longest[: limit - 24]
        approvals.edit(
            session=session,
            org=org,
            engine=engine_for(org),
            draft_id=draft.id,
            who="amelia.hart",
            text=text,
            now=T_DAY,
        )
        approvals.approve_as_eligible(
            session=session, org=org, engine=engine_for(org), draft_id=draft.id, now=T_DAY
        )
    run = publish_pending(url=database_url, org=org, max_wait=0)
    assert run.published == 1, run.errors
    assert len(written_ids(state, platform)) == 1


def test_reddit_drafts_address_the_author_as_u_name_and_x_drafts_as_at_name(
    database_url: str, sandbox: SandboxServer
) -> None:
    org = org_for(sandbox.url)
    reddit, x = sandbox.platform("reddit"), sandbox.platform("x")
    _prepare(database_url, org, "reddit", mention_ids(reddit, "reddit", 1), approve=0)
    _prepare(database_url, org, "x", mention_ids(x, "x", 1), approve=0)
    with session_scope(database_url) as session:
        rows = session.execute(
            select(
                storage.MentionRow.platform, storage.MentionRow.author_handle, storage.DraftRow.text
            ).join(storage.DraftRow, storage.DraftRow.mention_id == storage.MentionRow.id)
        ).all()
    by_platform = {platform: (author, text) for platform, author, text in rows}
    author, text = by_platform["reddit"]
    assert text.startswith(f"u/{author} ") and f"@{author}" not in text
    author, text = by_platform["x"]
    assert text.startswith(f"@{author} ")


def test_a_planned_reddit_post_needs_a_subreddit_and_then_is_posted_there_once(
    database_url: str, sandbox: SandboxServer
) -> None:
    org = org_for(sandbox.url)
    state = sandbox.platform("reddit")
    text = "Winter blend is back\nFrom today in every Northwind shop, and online."
    with session_scope(database_url) as session:
        drafts.add_post(
            session=session,
            org=org,
            engine=engine_for(org),
            channel="reddit-main",
            text=text,
            at=T_DAY + timedelta(hours=1),
            who="amelia.hart",
            department="marketing",
            now=T_DAY,
        )
    _approve_all(database_url, org)
    run = publish_pending(url=database_url, org=org, max_wait=0)
    assert run.failed == 1
    assert "set `subreddit:` on the channel" in run.errors[0]
    assert not state.submissions

    org = org_for(sandbox.url, subreddit="northwindcoffee")
    with session_scope(database_url) as session:
        drafts.add_post(
            session=session,
            org=org,
            engine=engine_for(org),
            channel="reddit-main",
            text=text,
            at=T_DAY + timedelta(hours=1),
            who="amelia.hart",
            department="marketing",
            now=T_DAY,
        )
    _approve_all(database_url, org)
    state.writes.fail_after_write_rate = 1.0  # made, then answered 502: found, not re-posted
    publish_until_done(database_url, org)
    [post] = state.submissions.values()
    assert post["subreddit"] == "northwindcoffee"
    assert (post["title"], post["selftext"]) == (
        "Winter blend is back",
        "From today in every Northwind shop, and online.",
    )


def _approve_all(url: str, org: OrgConfig) -> None:
    with session_scope(url) as session:
        for draft in session.execute(
            select(storage.DraftRow).where(storage.DraftRow.status == approvals.PENDING)
        ).scalars():
            approvals.approve_as_eligible(
                session=session, org=org, engine=engine_for(org), draft_id=draft.id, now=T_DAY
            )


def test_x_stops_at_the_monthly_write_budget_and_keeps_the_item_for_next_month(
    database_url: str, sandbox: SandboxServer
) -> None:
    state = _state(sandbox, "x")
    org = org_for(sandbox.url)
    data = org.model_dump()
    data["channels"][1]["monthly_write_budget"] = 2
    org = OrgConfig.model_validate(data)
    _prepare(database_url, org, "x", mention_ids(state, "x", 3), approve=3)
    run = publish_pending(url=database_url, org=org, max_wait=0)
    assert run.published == 2 and run.failed == 0 and run.retried_later == 1
    assert len(state.posts) == 2
    with session_scope(database_url) as session:
        row = session.execute(
            select(storage.DraftRow).where(storage.DraftRow.status == approvals.APPROVED)
        ).scalar_one()
    assert "X monthly write budget reached: 2 of 2" in (row.last_error or "")
    assert "it was not sent" in (row.last_error or "")
    now = datetime.now(UTC)
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    next_month = (first + timedelta(days=32)).replace(day=1)
    assert row.next_attempt_at is not None
    assert row.next_attempt_at.replace(tzinfo=UTC) == next_month


def test_x_duplicate_content_after_a_lost_answer_is_the_reply_already_made(
    database_url: str, sandbox: SandboxServer
) -> None:
    state = sandbox.platform("x")  # refuses duplicate texts, as X does
    org = org_for(sandbox.url)
    mentions = mention_ids(state, "x", 2)
    _prepare(database_url, org, "x", mentions, approve=2)
    with session_scope(database_url) as session:
        first, second = session.execute(
            select(storage.DraftRow).order_by(storage.DraftRow.id)
        ).scalars()
        # The first one is already on X, though the publisher never heard (a lost answer), and
        # the second has the very same text as a post made earlier.
        made = state.add_post(text=first.text, parent=state.find(first.in_reply_to_id))
        state.add_post(text=second.text, parent=None)
    run = publish_pending(url=database_url, org=org, max_wait=0)
    assert run.published == 1 and run.failed == 1
    with session_scope(database_url) as session:
        first, second = session.execute(
            select(storage.DraftRow).order_by(storage.DraftRow.id)
        ).scalars()
        assert (first.status, first.external_id) == ("published", made["id"])
        assert second.status == "failed" and "already posted" in (second.last_error or "")
    assert len(state.posts) == 2


def test_a_drafting_run_takes_channels_in_turn_within_its_limit(
    database_url: str, sandbox: SandboxServer
) -> None:
    """A flood on one channel (here Mastodon, due first) does not crowd Reddit and X out."""
    from tests.signoff.fixtures import add_assigned

    org = org_for(sandbox.url)
    with session_scope(database_url) as session:
        for i in range(5):
            add_assigned(
                session,
                external_id=f"10{i}",
                department="customer_relations",
                assignee="amelia.hart",
                due_in=timedelta(minutes=i),
            )
        for platform in PLATFORMS:
            state = sandbox.platform(platform)
            [(ext, author)] = mention_ids(state, platform, 1)
            add_platform_mention(session, platform=platform, external_id=ext, author=author)
        run = draft_all(session, org, now=T_DAY, limit=3)
        assert run.drafted == 3
        made = session.execute(select(storage.DraftRow.channel)).scalars().all()
    assert sorted(made) == ["mastodon-main", "reddit-main", "x-main"]
