"""Publishing exactly once on Reddit and X against the sandbox: the scenarios of
test_publish.py (20% injected faults with writes answered 502 after they were made, two
publishers at once, a publisher killed mid-post then run again), on platforms that take no
idempotency key, so reconciliation against the account's own posts is all that stands between
an unknown outcome and a double post. Plus what is particular to each platform."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sandbox.server import SandboxServer
from sandbox.world import SandboxConfig
from socialops import storage
from socialops.config import OrgConfig
from socialops.db import session_scope
from socialops.rota.schedule import engine_for
from socialops.settings import DEFAULT_CONFIG
from socialops.signoff import approvals, drafts
from socialops.signoff.templates import LIMITS, ReplyTemplates, templates_folder
from tasks.publish import publish_pending
from tests.signoff.fixtures import T_DAY
from tests.signoff.platform_fixtures import (
    ENV,
    add_platform_mention,
    mention_ids,
    org_for,
    posted,
    written_ids,
)

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
PLATFORMS = ["reddit", "x"]


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
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


def _prepare(
    url: str, org: OrgConfig, platform: str, mentions: list[tuple[str, str]], approve: int
) -> tuple[list[str], list[str]]:
    """Draft a reply to each mention; approve the first ``approve`` by the policy's people."""
    engine = engine_for(org)
    with session_scope(url) as session:
        for ext, author in mentions:
            add_platform_mention(session, platform=platform, external_id=ext, author=author)
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
            assert draft.in_reply_to_id
            if i < approve:
                who = approvals.approve_as_eligible(
                    session=session, org=org, engine=engine, draft_id=draft.id, now=T_DAY
                )
                assert who, "nobody could approve"
                approved.append(draft.in_reply_to_id)
            else:
                pending.append(draft.in_reply_to_id)
    return approved, pending


def _left(url: str) -> int:
    with session_scope(url) as session:
        return len(
            session.execute(
                select(storage.DraftRow.id).where(
                    storage.DraftRow.status.in_((approvals.APPROVED, approvals.PUBLISHING))
                )
            ).all()
        )


def _publish_until_done(url: str, org: OrgConfig, rounds: int = 6) -> None:
    for _ in range(rounds):
        publish_pending(url=url, org=org, max_wait=3.0, rounds=60)
        if not _left(url):
            return
    raise AssertionError(f"{_left(url)} approved items were never published")


def _check_exactly_once(
    url: str, state: Any, platform: str, approved: list[str], pending: list[str]
) -> None:
    replies = posted(state, platform)
    assert {k: v for k, v in replies.items() if v != 1} == {}, "a reply was posted twice"
    assert set(replies) == set(approved), "missing replies, or unapproved ones posted"
    with session_scope(url) as session:
        rows = (
            session.execute(
                select(storage.DraftRow).where(storage.DraftRow.status == approvals.PUBLISHED)
            )
            .scalars()
            .all()
        )
        assert sorted(r.in_reply_to_id or "" for r in rows) == sorted(approved)
        written = written_ids(state, platform)
        for row in rows:
            assert row.external_id in written
            assert row.external_url and row.external_url.startswith("https://")
        acted = session.execute(select(storage.AssignmentRow.status)).scalars().all()
        assert acted.count("acted") == len(approved)


def _state(server: SandboxServer, platform: str) -> Any:
    state = server.platform(platform)
    if platform == "x":
        # X refuses a text it has seen: that would hide a blind second send. Off, so that only
        # reconciliation can prevent the double post.
        state.writes.refuse_duplicates = False
    return state


@pytest.mark.parametrize("platform", PLATFORMS)
def test_faults_publish_each_approved_reply_exactly_once(
    database_url: str, sandbox: SandboxServer, platform: str
) -> None:
    org = org_for(sandbox.url)
    state = _state(sandbox, platform)
    approved, pending = _prepare(
        database_url, org, platform, mention_ids(state, platform, 30), approve=22
    )
    state.plan.set_faults(0.2, ("500", "503", "429", "truncated", "latency"))
    state.writes.fail_after_write_rate = 0.2
    if platform == "reddit":
        state.writes.refusal_rate = 0.1  # RATELIMIT in an HTTP 200

    _publish_until_done(database_url, org)

    _check_exactly_once(database_url, state, platform, approved, pending)
    assert state.writes.failed_after_write > 0, "no write answered 502: the test is weak"
    with session_scope(database_url) as session:
        found = (
            session.execute(select(storage.AuditRow).where(storage.AuditRow.action == "publish"))
            .scalars()
            .all()
        )
    assert any(row.details["found_by_reconciling"] for row in found)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_two_publishers_at_once_publish_once(
    database_url: str, sandbox: SandboxServer, platform: str
) -> None:
    org = org_for(sandbox.url)
    state = _state(sandbox, platform)
    approved, pending = _prepare(
        database_url, org, platform, mention_ids(state, platform, 20), approve=20
    )
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
    _check_exactly_once(database_url, state, platform, approved, pending)


_CHILD = """
import sys
from datetime import timedelta
from tasks.publish import publish_pending
from tests.signoff.platform_fixtures import org_for
publish_pending(url=sys.argv[1], org=org_for(sys.argv[2]), max_wait=0, lease=timedelta(seconds=1))
"""


@pytest.mark.parametrize("platform", PLATFORMS)
def test_killed_publisher_then_rerun_publishes_exactly_once(
    database_url: str, sandbox: SandboxServer, platform: str
) -> None:
    org = org_for(sandbox.url)
    state = _state(sandbox, platform)
    approved, pending = _prepare(
        database_url, org, platform, mention_ids(state, platform, 12), approve=12
    )
    name = "add_comment" if platform == "reddit" else "add_post"
    original = getattr(state, name)
    child: dict[str, subprocess.Popen[bytes]] = {}

    def write_then_die(**kwargs: object) -> object:
        made = original(**kwargs)
        if len(written_ids(state, platform)) == 5:  # written; the publisher dies before it hears
            os.kill(child["p"].pid, signal.SIGKILL)
        return made

    setattr(state, name, write_then_die)
    env = {**os.environ, **ENV}
    child["p"] = subprocess.Popen(
        [sys.executable, "-c", _CHILD, database_url, sandbox.url], cwd=REPO, env=env
    )
    assert child["p"].wait(120) == -signal.SIGKILL
    setattr(state, name, original)
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
    time.sleep(1.2)  # the dead publisher's lease runs out
    _publish_until_done(database_url, org)
    _check_exactly_once(database_url, state, platform, approved, pending)


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
    _publish_until_done(database_url, org)
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
        run = drafts.draft_replies(
            session=session,
            org=org,
            engine=engine_for(org),
            templates=ReplyTemplates(templates_folder(DEFAULT_CONFIG)),
            now=T_DAY,
            limit=3,
        )
        assert run.drafted == 3
        made = session.execute(select(storage.DraftRow.channel)).scalars().all()
    assert sorted(made) == ["mastodon-main", "reddit-main", "x-main"]
