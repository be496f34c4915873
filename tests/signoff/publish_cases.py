"""One publishing case per platform, for the exactly-once scenarios every platform must pass
(tests/signoff/test_publish_exactly_once.py): how the organisation points at the sandbox, which
served mentions to answer, how to inject faults and writes answered 502, what the platform ended
up holding, and how to kill a publisher just after its fifth write. The scenarios are the same
for all; only these facts differ."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import SecretStr
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from connectors import bluesky, mastodon
from connectors.state import MemoryStateStore
from sandbox.server import SandboxServer
from sandbox.world import SandboxConfig
from socialops import storage
from socialops.config import OrgConfig
from socialops.db import session_scope
from socialops.rota.schedule import engine_for
from socialops.signoff import approvals
from tasks.publish import publish_pending
from tests.signoff.fixtures import T_DAY, add_assigned, draft_all, northwind
from tests.signoff.platform_fixtures import (
    ENV as REDDIT_X_ENV,
)
from tests.signoff.platform_fixtures import (
    add_platform_mention,
    mention_ids,
    org_for,
    posted,
    written_ids,
)

MASTODON_TOKEN = "sandbox-test-token"
BLUESKY_PASSWORD = "sandbox-app-password"
BLUESKY_CHANNEL = "bluesky-main"
FAULTS = ("500", "503", "429", "truncated", "latency")


def bluesky_org(base_url: str) -> OrgConfig:
    """The default organisation with one Bluesky channel on the sandbox."""
    data = northwind().model_dump()
    data["channels"] = [
        {
            "name": BLUESKY_CHANNEL,
            "platform": "bluesky",
            "base_url": base_url,
            "token_env": "SOCIALOPS_BLUESKY_PASSWORD",
            "identifier": "northwind.bsky.social",
        }
    ]
    return OrgConfig.model_validate(data)


def sandbox_config(rate_per_hour: int) -> SandboxConfig:
    return SandboxConfig(
        seed=11,
        rate_per_hour=rate_per_hour,
        history_hours=1,
        bad_item_rate=0,
        rate_limit=100_000,
        latency_seconds=0.05,
        fault_reset_seconds=0.2,
    )


@dataclass
class PublishCase:
    """What one platform (or one behaviour of it) needs for the shared scenarios; each
    platform's class below says only where it differs."""

    name: str
    platform: str
    env: dict[str, str]
    rate_per_hour: int = 120
    #: Whether publishes found by reconciling are recorded (Bluesky rewrites the same record
    #: key instead, so its retries are no-ops, not reconciliations).
    reconciles: ClassVar[bool] = True

    # -- the organisation and the mentions to answer ----------------------------------------
    def org_url(self, server: SandboxServer) -> str:
        return server.url

    def org(self, url: str) -> OrgConfig:
        raise NotImplementedError

    def state(self, server: SandboxServer) -> Any:
        return server.platform(self.platform)

    def served(self, server: SandboxServer, n: int) -> list[tuple[str, str | None]]:
        """``(external id, author)`` of mentions the sandbox serves, newest first."""
        raise NotImplementedError

    def mentions(self, server: SandboxServer, n: int) -> list[tuple[str, str | None]]:
        found = self.served(server, n)
        assert len(found) >= n, f"only {len(found)} mentions on {self.platform}"
        return found[:n]

    def add_mention(self, session: Session, external_id: str, author: str | None) -> None:
        """A routed mention of this platform (customer relations, assigned to Amelia)."""
        add_assigned(
            session,
            external_id=external_id,
            department="customer_relations",
            assignee="amelia.hart",
        )

    # -- faults -------------------------------------------------------------------------------
    def worst_case(self, server: SandboxServer) -> None:
        """What makes a blind retry dangerous on this platform, switched on."""

    def writes(self, server: SandboxServer) -> Any:
        """The sandbox's write faults and counts for this platform."""
        return self.state(server).publishing

    def writes_answered_502(self, server: SandboxServer, rate: float) -> None:
        """This share of writes is made, then answered 502: the outcome is unknown."""
        self.writes(server).fail_after_write_rate = rate

    def answered_502_after_writing(self, server: SandboxServer) -> int:
        return int(self.writes(server).failed_after_write)

    def request_faults(self, server: SandboxServer) -> None:
        self.state(server).plan.set_faults(0.2, FAULTS)

    def inject_faults(self, server: SandboxServer) -> None:
        """20% of requests fail, and 20% of writes are made but answered 502."""
        self.worst_case(server)
        self.writes_answered_502(server, 0.2)
        self.request_faults(server)

    def extra_checks(self, server: SandboxServer, approved: list[str]) -> None:
        """What else the platform must show after the faults scenario."""

    # -- what the platform holds --------------------------------------------------------------
    def posted(self, server: SandboxServer) -> Counter[str | None]:
        """How many times the brand answered each post."""
        raise NotImplementedError

    def check_published_row(self, server: SandboxServer, row: storage.DraftRow) -> None:
        """The platform holds the row's post, answering the row's mention, with its text."""
        raise NotImplementedError

    # -- a publisher killed just after its fifth write ---------------------------------------
    def kill_after_fifth_write(
        self, server: SandboxServer, kill: Callable[[], None]
    ) -> Callable[[], None]:
        """Call ``kill`` once the platform has made its fifth post; returns the undo."""
        raise NotImplementedError


@dataclass
class MastodonCase(PublishCase):
    #: Mastodon can ignore Idempotency-Key, the worst case for a retried write.
    ignore_key: bool = False

    def org(self, url: str) -> OrgConfig:
        return northwind(url)

    def state(self, server: SandboxServer) -> Any:
        return server.sandbox

    def served(self, server: SandboxServer, n: int) -> list[tuple[str, str | None]]:
        with mastodon.MastodonClient(
            base_url=server.url, token=SecretStr(MASTODON_TOKEN), channel="mastodon-main"
        ) as client:
            page = client.fetch_mentions_page(limit=80)
        return [(m.external_id, None) for m in page.mentions]

    def worst_case(self, server: SandboxServer) -> None:
        self.writes(server).ignore_idempotency_key = self.ignore_key

    def request_faults(self, server: SandboxServer) -> None:
        state = self.state(server)
        state.fault_rate = 0.2
        state.fault_kinds = FAULTS

    def posted(self, server: SandboxServer) -> Counter[str | None]:
        feed = server.world.feed()
        return Counter(status["in_reply_to_id"] for status in feed.posted.values())

    def check_published_row(self, server: SandboxServer, row: storage.DraftRow) -> None:
        assert row.external_id is not None
        status = server.world.feed().posted[int(row.external_id)]
        assert status["in_reply_to_id"] == row.in_reply_to_id
        assert status["language"] == row.lang

    def kill_after_fifth_write(
        self, server: SandboxServer, kill: Callable[[], None]
    ) -> Callable[[], None]:
        self.worst_case(server)
        feed = server.world.feed()
        original_post = feed.post

        def post_then_die(**kwargs: object) -> object:
            status = original_post(**kwargs)  # type: ignore[arg-type]
            if len(feed.posted) == 5:
                kill()
            return status

        feed.post = post_then_die  # type: ignore[method-assign]
        return lambda: setattr(feed, "post", original_post)


@dataclass
class BlueskyCase(PublishCase):
    reconciles: ClassVar[bool] = False

    def org_url(self, server: SandboxServer) -> str:
        return server.platform_url("bluesky")

    def org(self, url: str) -> OrgConfig:
        return bluesky_org(url)

    def served(self, server: SandboxServer, n: int) -> list[tuple[str, str | None]]:
        with bluesky.BlueskyClient(
            base_url=server.platform_url("bluesky"),
            identifier="northwind.bsky.social",
            password=SecretStr(BLUESKY_PASSWORD),
            channel=BLUESKY_CHANNEL,
            store=MemoryStateStore(),
        ) as client:
            page = client.fetch_mentions_page(limit=100)
        return [(m.external_id, None) for m in page.mentions]

    def add_mention(self, session: Session, external_id: str, author: str | None) -> None:
        mention_id = add_assigned(
            session,
            external_id=external_id,
            department="customer_relations",
            assignee="amelia.hart",
        )
        session.execute(
            update(storage.MentionRow)
            .where(storage.MentionRow.id == mention_id)
            .values(platform="bluesky", channel=BLUESKY_CHANNEL, author_handle="ann.bsky.social")
        )

    def extra_checks(self, server: SandboxServer, approved: list[str]) -> None:
        # Retries of a write that had happened rewrote the identical record: nothing new.
        publishing = self.writes(server)
        assert publishing.noops > 0 and publishing.overwrites == 0
        assert publishing.writes == len(approved)

    def posted(self, server: SandboxServer) -> Counter[str | None]:
        return Counter(self.state(server).replies_to())

    def check_published_row(self, server: SandboxServer, row: storage.DraftRow) -> None:
        by_uri = {s.uri: s for s in self.state(server).repo.values()}
        stored = by_uri[str(row.external_id)]
        assert stored.value["reply"]["parent"]["uri"] == row.in_reply_to_id
        assert stored.value["text"] == row.text
        assert stored.value["langs"] == [row.lang]
        assert row.external_url and row.external_url.startswith("https://bsky.app/profile/")

    def kill_after_fifth_write(
        self, server: SandboxServer, kill: Callable[[], None]
    ) -> Callable[[], None]:
        publishing = self.writes(server)
        killed: list[bool] = []

        def die_after_fifth(records: int) -> None:
            if records == 5 and not killed:
                killed.append(True)
                kill()

        publishing.after_write = die_after_fifth
        return lambda: setattr(publishing, "after_write", None)


@dataclass
class ListingCase(PublishCase):
    """Reddit and X: no idempotency key at all; the sandbox keeps what was written."""

    write_method: str = "add_post"  # the sandbox method that makes a post

    def org(self, url: str) -> OrgConfig:
        return org_for(url)

    def served(self, server: SandboxServer, n: int) -> list[tuple[str, str | None]]:
        return list(mention_ids(self.state(server), self.platform, n))

    def add_mention(self, session: Session, external_id: str, author: str | None) -> None:
        assert author is not None
        add_platform_mention(
            session, platform=self.platform, external_id=external_id, author=author
        )

    def writes(self, server: SandboxServer) -> Any:
        return self.state(server).writes

    def posted(self, server: SandboxServer) -> Counter[str | None]:
        return posted(self.state(server), self.platform)

    def check_published_row(self, server: SandboxServer, row: storage.DraftRow) -> None:
        assert row.external_id in written_ids(self.state(server), self.platform)
        assert row.external_url and row.external_url.startswith("https://")

    def kill_after_fifth_write(
        self, server: SandboxServer, kill: Callable[[], None]
    ) -> Callable[[], None]:
        state = self.state(server)
        original = getattr(state, self.write_method)

        def write_then_die(**kwargs: object) -> object:
            made = original(**kwargs)
            if len(written_ids(state, self.platform)) == 5:
                kill()
            return made

        setattr(state, self.write_method, write_then_die)
        return lambda: setattr(state, self.write_method, original)


@dataclass
class RedditCase(ListingCase):
    write_method: str = "add_comment"

    def request_faults(self, server: SandboxServer) -> None:
        super().request_faults(server)
        self.writes(server).refusal_rate = 0.1  # RATELIMIT in an HTTP 200


@dataclass
class XCase(ListingCase):
    def worst_case(self, server: SandboxServer) -> None:
        self.state(server)  # duplicate texts accepted

    def state(self, server: SandboxServer) -> Any:
        state = server.platform("x")
        # X refuses a text it has seen: that would hide a blind second send. Off, so that
        # only reconciliation can prevent the double post.
        state.writes.refuse_duplicates = False
        return state


CASES: dict[str, PublishCase] = {
    case.name: case
    for case in (
        MastodonCase("mastodon", "mastodon", {"SOCIALOPS_MASTODON_TOKEN": MASTODON_TOKEN}),
        MastodonCase(
            "mastodon-ignores-key",
            "mastodon",
            {"SOCIALOPS_MASTODON_TOKEN": MASTODON_TOKEN},
            ignore_key=True,
        ),
        BlueskyCase(
            "bluesky",
            "bluesky",
            {"SOCIALOPS_BLUESKY_PASSWORD": BLUESKY_PASSWORD},
            rate_per_hour=240,
        ),
        RedditCase("reddit", "reddit", dict(REDDIT_X_ENV)),
        XCase("x", "x", dict(REDDIT_X_ENV)),
    )
}


# -- the steps every scenario takes ----------------------------------------------------------
def prepare(
    url: str, case: PublishCase, server: SandboxServer, n: int, approve: int
) -> tuple[OrgConfig, list[str], list[str]]:
    """``n`` of the sandbox's mentions routed, each with a reply draft; the first ``approve``
    approved by the people the policy names."""
    org = case.org(case.org_url(server))
    approved, pending = prepare_for(url, case, org, case.mentions(server, n), approve)
    return org, approved, pending


def prepare_for(
    url: str,
    case: PublishCase,
    org: OrgConfig,
    mentions: list[tuple[str, str | None]],
    approve: int,
) -> tuple[list[str], list[str]]:
    """These ``(external id, author)`` mentions routed, each with a reply draft; of this
    platform's drafts, the first ``approve`` approved. Returns the answered posts' ids,
    approved and pending."""
    engine = engine_for(org)
    with session_scope(url) as session:
        for external_id, author in mentions:
            case.add_mention(session, external_id, author)
        draft_all(session, org, now=T_DAY, engine=engine)
    approved, pending = [], []
    with session_scope(url) as session:
        rows = session.execute(
            select(storage.DraftRow)
            .where(storage.DraftRow.platform == case.platform)
            .order_by(storage.DraftRow.id)
        ).scalars()
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


def publish_until_done(url: str, org: OrgConfig, rounds: int = 6) -> None:
    for _ in range(rounds):
        publish_pending(url=url, org=org, max_wait=3.0, rounds=60)
        if not _left(url):
            return
    raise AssertionError(f"{_left(url)} approved items were never published")


def check_exactly_once(
    url: str, case: PublishCase, server: SandboxServer, approved: list[str], pending: list[str]
) -> None:
    replies = case.posted(server)
    assert {k: v for k, v in replies.items() if v != 1} == {}, "a reply was posted twice"
    assert set(replies) == set(approved), "missing replies, or unapproved ones posted"
    assert not set(replies) & set(pending)
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
            case.check_published_row(server, row)
        acted = session.execute(select(storage.AssignmentRow.status)).scalars().all()
        assert acted.count("acted") == len(approved)
