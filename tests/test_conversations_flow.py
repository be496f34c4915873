"""Issue 11's must-hold, end to end: a conversation spanning Mastodon and Bluesky is linked.

The sandbox over loopback HTTP serves a Mastodon instance and Bluesky, where a share of the
Bluesky posts are someone's Mastodon mention posted again by the same person
(``cross_post_share``); the real ingest, classify and route flows run on the Prefect engine and
the real database. Ground truth comes from the sandbox's own facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from flows import run_sync
from flows.classify_mentions import classify_mentions
from flows.ingest_mentions import ingest_mentions
from flows.route_mentions import route_mentions
from sandbox.server import SandboxServer
from sandbox.world import SandboxConfig
from socialops import conversations, storage
from socialops.db import session_scope
from socialops.settings import get_settings, reset_settings_cache

SECRET = "sbx-app-password-7f3e9a"
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_api")]


@pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)
def test_a_conversation_spanning_mastodon_and_bluesky_is_linked(
    socialops_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    config = SandboxConfig(
        instances=("main",),
        seed=11,
        rate_per_hour=60,
        history_hours=3,
        bad_item_rate=0.0,
        cross_post_share=0.2,
        tokens=frozenset({SECRET}),
        now=lambda: at,
    )
    with SandboxServer(config) as sandbox:
        entries = [
            {
                "name": "mastodon-main",
                "platform": "mastodon",
                "base_url": sandbox.instance_url("main"),
                "token_env": "E2E_TOKEN",
                "backfill_hours": 4,
            },
            {
                "name": "bluesky-main",
                "platform": "bluesky",
                "base_url": sandbox.platform_url("bluesky"),
                "token_env": "E2E_TOKEN",
                "identifier": "northwind.bsky.social",
                "backfill_hours": 4,
            },
        ]
        path = socialops_env / "channels.yaml"
        path.write_text(yaml.safe_dump({"channels": entries}), encoding="utf-8")
        monkeypatch.setenv("SOCIALOPS_CHANNELS", str(path))
        monkeypatch.setenv("E2E_TOKEN", SECRET)
        reset_settings_cache()
        assert run_sync(ingest_mentions(return_state=True)).is_completed()
        assert classify_mentions(return_state=True).is_completed()
        assert route_mentions(return_state=True).is_completed()
        bluesky = sandbox.platform("bluesky")
        truth = {
            bluesky.uri(fact): fact.cross_post_of
            for fact in map(bluesky.facts.fact, bluesky.facts.visible())
            if fact.cross_post_of is not None and fact.role == "mention"
        }
    m, c, a = storage.MentionRow, storage.ClassificationRow, storage.AssignmentRow
    cm = conversations.ConversationMentionRow
    with session_scope(get_settings().resolved_database_url()) as session:
        rows = session.execute(
            select(m.id, m.platform, m.external_id, m.author_handle, c.department).join(
                c, (c.mention_id == m.id) & c.is_current
            )
        ).all()
        members = {r.mention_id: r for r in session.execute(select(cm)).scalars()}
        assigned = set(session.execute(select(a.mention_id)).scalars())
    by_key = {(r.platform, r.external_id): r for r in rows}
    # Nothing lost: every mention that needs someone has an assignment or joined one.
    needing = {r.id for r in rows if r.department != "none"}
    assert needing and needing <= assigned | {i for i, r in members.items() if r.role == "linked"}
    expected, linked = 0, 0
    for uri, status_id in truth.items():
        post, original = by_key.get(("bluesky", uri)), by_key.get(("mastodon", status_id))
        if post is None or original is None or post.department != original.department:
            continue  # not stored (not a notification) or classified apart: not the same issue
        if post.department == "none":
            continue  # chit-chat and spam need nobody: no conversation either
        expected += 1
        member, opener = members.get(post.id), members.get(original.id)
        assert member is not None and opener is not None, (post, original)
        assert member.conversation_id == opener.conversation_id
        # Whichever was routed first opened it and holds the one assignment.
        assert {opener.role, member.role} == {"opener", "linked"}
        assert len({post.id, original.id} & assigned) == 1
        linked += 1
    assert expected >= 5 and linked == expected
    # Nothing else was linked: every link in the database is one of the sandbox's cross-posts.
    external = {r.id: r.external_id for r in rows}
    pairs = {
        frozenset((external[mid], external[_opener(members, row)]))
        for mid, row in members.items()
        if row.role == "linked"
    }
    cross_posts = {frozenset(pair) for pair in truth.items()}
    assert pairs <= cross_posts, pairs - cross_posts
    assert len(pairs) == linked


def _opener(
    members: dict[int, conversations.ConversationMentionRow],
    row: conversations.ConversationMentionRow,
) -> int:
    conversation = row.conversation_id
    return next(
        mid
        for mid, r in members.items()
        if r.conversation_id == conversation and r.role == "opener"
    )
