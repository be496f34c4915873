"""Helpers for publishing on Reddit and X against the sandbox: the default organisation with a
channel on each, the sandbox's mentions as stored, routed rows, and what the sandbox holds."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy.orm import Session

from socialops import storage
from socialops.config import OrgConfig, load_config
from socialops.settings import DEFAULT_CONFIG
from tests.signoff.fixtures import add_assigned

X_USER_ID = "1500000000000000001"
ENV = {
    "SOCIALOPS_REDDIT_TOKEN": "reddit-refresh-token",
    "SOCIALOPS_X_TOKEN": "x-user-context-token",
}
CHANNEL = {"reddit": "reddit-main", "x": "x-main"}


def org_for(sandbox_url: str, **reddit_options: Any) -> OrgConfig:
    """The default organisation answering from a Reddit and an X channel on the sandbox."""
    data = load_config(DEFAULT_CONFIG).model_dump()
    data["channels"] = [
        {
            "name": "reddit-main",
            "platform": "reddit",
            "base_url": f"{sandbox_url}/reddit",
            "auth_url": f"{sandbox_url}/reddit",
            "token_env": "SOCIALOPS_REDDIT_TOKEN",
            "client_id": "sbx-client",
            **reddit_options,
        },
        {
            "name": "x-main",
            "platform": "x",
            "base_url": f"{sandbox_url}/x",
            "token_env": "SOCIALOPS_X_TOKEN",
            "user_id": X_USER_ID,
        },
    ]
    return OrgConfig.model_validate(data)


def mention_ids(state: Any, platform: str, n: int) -> list[tuple[str, str]]:
    """``(external id, author)`` of the ``n`` newest served mentions on the platform."""
    out: list[tuple[str, str]] = []
    for k in state.facts.newest_first():
        fact = state.facts.fact(k)
        if not fact.served or fact.bad is not None:
            continue
        if platform == "reddit":
            out.append((state.fullname(fact), fact.username))
        else:
            out.append((str(state.tweet_id(k)), fact.username[:15]))
        if len(out) == n:
            return out
    raise AssertionError(f"only {len(out)} mentions on {platform}")


def add_platform_mention(
    session: Session, *, platform: str, external_id: str, author: str, **options: Any
) -> int:
    """A routed mention of the platform (customer relations, assigned to Amelia)."""
    mention_id = add_assigned(
        session,
        external_id=external_id,
        department=options.pop("department", "customer_relations"),
        assignee=options.pop("assignee", "amelia.hart"),
        author=author,
        **options,
    )
    row = session.get(storage.MentionRow, mention_id)
    assert row is not None
    row.platform = platform
    row.channel = CHANNEL[platform]
    session.flush()
    return mention_id


def posted(state: Any, platform: str) -> Counter[str | None]:
    """How many times the brand answered each post (``None``: a post answering nothing)."""
    if platform == "reddit":
        replies = Counter(c["parent_id"] for c in state.comments.values())
        replies.update(None for _ in state.submissions)
        return replies
    return Counter(
        next((r["id"] for r in p.get("referenced_tweets", []) if r["type"] == "replied_to"), None)
        for p in state.posts.values()
    )


def written_ids(state: Any, platform: str) -> set[str]:
    if platform == "reddit":
        return set(state.comments) | set(state.submissions)
    return set(state.posts)
