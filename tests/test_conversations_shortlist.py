"""Conversations: routing compares a new mention only with a shortlist of candidates (those filed
under a key ``same_person`` can match on), read by time window once per pass. These are the
cases a shortlist could miss: accounts with nothing in common but the directory or a profile,
a candidate routed earlier in the same pass, a backfilled mention older than the pass's window.
Real SQLite and PostgreSQL, the real routing pass."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

import pytest

from sandbox import content
from socialops import conversations, storage
from socialops.config import OrgConfig
from socialops.db import session_scope
from socialops.rota.schedule import RotaEngine
from tests.test_conversations import (
    COMPLAINT,
    CROSS_POST,
    MONDAY_10,
    OTHER_ISSUE,
    _org,
    add,
    count,
    route,
)

REPHRASED = "@northwind.bsky.social still waiting on my oat latte app order at Deansgate"


@pytest.fixture(scope="module")
def org() -> OrgConfig:
    return _org()


@pytest.fixture(scope="module")
def engine(org: OrgConfig) -> RotaEngine:
    return RotaEngine(org)


def _evidence(url: str) -> list[tuple[int, str, str | None]]:
    with session_scope(url) as session:
        [view] = conversations.conversation_views(session=session)
    return [(m["mention_id"], m["role"], m["evidence"]) for m in view.mentions]


def test_the_directory_links_x_and_reddit_accounts_with_nothing_in_common_in_one_pass(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    """Both new in one pass: the first is routed alone and is at once a candidate for the
    second, which shares no handle, name or profile with it: only the directory links them."""
    with session_scope(database_url) as session:
        conversations.link_people(
            session=session,
            accounts=["x:@jd1987", "reddit:u/plantlover"],
            actor="liz",
            label="Jane",
            now=MONDAY_10,
        )
        first = add(
            session,
            platform="x",
            handle="jd1987",
            display="J.",
            text=COMPLAINT,
            at=MONDAY_10 - timedelta(hours=4),
        )
        second = add(
            session,
            platform="reddit",
            handle="plantlover",
            text=REPHRASED,
            at=MONDAY_10 - timedelta(hours=1),
        )
    run = route(database_url, org, engine)
    assert (run.routed, run.linked) == (1, 1)
    assert _evidence(database_url) == [(first, "opener", None), (second, "linked", "directory")]


def test_a_new_mention_whose_profile_names_an_account_routed_in_an_earlier_pass(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    """The profile evidence the other way round: the *new* mention's author names the earlier
    account (read from the database at the pass's start), handles and names all different."""
    with session_scope(database_url) as session:
        first = add(
            session,
            platform="mastodon",
            handle="jd@mastodon.social",
            display="J",
            text=COMPLAINT,
            at=MONDAY_10 - timedelta(hours=6),
        )
    assert route(database_url, org, engine).routed == 1
    raw = {"author": {"description": "plants, coffee. also at @jd@mastodon.social"}}
    with session_scope(database_url) as session:
        second = add(
            session,
            platform="bluesky",
            handle="plantlady.bsky.social",
            display="Plant Lady",
            text=REPHRASED,
            raw=raw,
            at=MONDAY_10 - timedelta(hours=1),
        )
    run = route(database_url, org, engine, now=MONDAY_10 + timedelta(minutes=1))
    assert (run.routed, run.linked) == (0, 1)
    assert _evidence(database_url) == [(first, "opener", None), (second, "linked", "profile")]


def test_a_backfilled_mention_older_than_the_pass_window_finds_its_counterpart(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    """The pass reads candidates from its first mention's window on; a backfilled mention a
    week older, routed later in the same pass, makes it read the earlier part too."""
    week_ago = MONDAY_10 - timedelta(days=7)
    with session_scope(database_url) as session:
        old = add(
            session,
            platform="mastodon",
            handle="jane_doe@mastodon.social",
            display="Jane Doe",
            text=COMPLAINT,
            at=week_ago - timedelta(hours=2),
        )
    assert route(database_url, org, engine, now=week_ago).routed == 1
    with session_scope(database_url) as session:
        # Urgent, so routed first: the pool is read around now, not a week ago.
        add(
            session,
            platform="bluesky",
            handle="sam-okafor.bsky.social",
            display="Sam Okafor",
            text=OTHER_ISSUE,
            urgent=True,
            at=MONDAY_10 - timedelta(minutes=30),
        )
        backfilled = add(
            session,
            platform="bluesky",
            handle="jane-doe.bsky.social",
            display="Jane Doe",
            text=CROSS_POST,
            at=week_ago - timedelta(hours=1),
        )
    run = route(database_url, org, engine)
    assert (run.routed, run.linked) == (1, 1)
    assert _evidence(database_url) == [(old, "opener", None), (backfilled, "linked", "same_handle")]
    assert count(database_url, storage.AssignmentRow) == 2


def test_a_mention_routing_left_unassigned_is_not_a_candidate(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    """A mention routed alone joins the pool at once but counts only once it has an open or
    queued item. Here the best match of the Bluesky post is a Mastodon one routing could not
    give to anyone (nobody covers the desk in this pass): it is passed over, and the post
    joins the next best, an X post from an earlier pass, as if the pool had been read from
    the database."""
    with session_scope(database_url) as session:
        on_x = add(
            session,
            platform="x",
            handle="jane_doe",
            display="Jane Doe",
            text=COMPLAINT + " and still nothing",
            at=MONDAY_10 - timedelta(hours=100),
        )
    first = route(database_url, org, engine)
    assert first.routed + first.queued == 1
    rota_less = RotaEngine(org)
    rota_less.calendars.pop("customer_relations")
    with session_scope(database_url) as session:
        on_bluesky = add(
            session,
            platform="bluesky",
            handle="jane-doe.bsky.social",
            display="Jane Doe",
            text=CROSS_POST,
            at=MONDAY_10 - timedelta(hours=40),
        )
        # Urgent, so routed first; 99 h after the X post: outside its window.
        add(
            session,
            platform="mastodon",
            handle="jane_doe@mastodon.social",
            display="Jane Doe",
            text=CROSS_POST,
            urgent=True,
            at=MONDAY_10 - timedelta(hours=1),
        )
    run = route(database_url, org, rota_less)
    assert (run.routed, run.linked, run.unassigned) == (0, 1, 1)
    assert _evidence(database_url) == [
        (on_x, "opener", None),
        (on_bluesky, "linked", "same_handle"),
    ]


def test_the_shortlist_keys_cover_every_pair_same_person_accepts() -> None:
    """For every pair of identities :func:`same_person` takes for one person (directory,
    profile either way, handle, display name), the new one looks up a key the other is filed
    under: the shortlist never hides a candidate the full comparison would have found."""
    rng = random.Random(11)
    people = [
        content.persona(random.Random(f"11|{i}"), population="public", index=i) for i in range(400)
    ]
    identities = []
    for who in people:
        for platform in ("mastodon", "bluesky"):
            handle = (
                f"{who.username}@{who.domain or 'social.example'}"
                if platform == "mastodon"
                else f"{who.username.lower().replace('_', '-')}.bsky.social"
            )
            raw: dict[str, object] = {}
            if rng.random() < 0.1:  # some profiles name another account of someone
                other = rng.choice(people)
                named = f"@{other.username}@{other.domain or 'social.example'}"
                raw = {"author": {"description": f"also {named}"}}
            identities.append(
                conversations.identity_of(
                    storage.MentionRow(
                        platform=platform,
                        author_handle=handle,
                        author_display_name=who.display_name,
                        raw=raw,
                        text="",
                    )
                )
            )
    accounts = [i.account for i in identities]
    directory = {account: n // 3 for n, account in enumerate(rng.sample(accounts, 300))}
    by_person: dict[int, list[tuple[str, str]]] = {}
    for account, person in directory.items():
        by_person.setdefault(person, []).append(account)
    accepted = 0
    for a, b in itertools.permutations(identities, 2):
        if a.platform == b.platform:
            continue
        if conversations.same_person(a, b, directory=directory) is None:
            continue
        accepted += 1
        mates = by_person.get(directory[a.account], []) if a.account in directory else []
        looked_up = set(conversations.keys_to_look_up(a, directory_accounts=mates))
        assert looked_up & set(conversations.identity_keys(b)), (a, b)
    assert accepted > 400  # the population has every kind of match in numbers
