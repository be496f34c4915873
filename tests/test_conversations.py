"""Conversations (issue 11): the same person raising the same issue on two platforms is one
conversation with one assignment. Real SQLite and PostgreSQL, the real routing and drafting
passes, a fixed clock (Monday 10:00 London: the care desk is open)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from socialops import conversations, routing, storage
from socialops.config import ConfigError, OrgConfig, load_config
from socialops.db import session_scope
from socialops.rota.schedule import RotaEngine
from tests.routing_fixtures import org_from, small_org, write_org
from tests.signoff.fixtures import draft_all

MONDAY_10 = datetime(2026, 11, 30, 10, tzinfo=UTC)
COMPLAINT = (
    "@northwind ordered an oat latte on the app 25 min ago at Deansgate, still says "
    '"preparing". nobody at the counter knows where it is'
)
CROSS_POST = (
    "@northwind.bsky.social ordered an oat latte on the app 25 min ago at Deansgate, still "
    'says "preparing". nobody at the counter knows where it is'
)
OTHER_ISSUE = "@northwind the loyalty points from last week never showed up in my account"


def _org(policy: str = "each") -> OrgConfig:
    data = small_org()
    data["departments"]["customer_relations"]["replies_across_platforms"] = policy
    return org_from(data)


@pytest.fixture(scope="module")
def org() -> OrgConfig:
    return _org()


@pytest.fixture(scope="module")
def engine(org: OrgConfig) -> RotaEngine:
    return RotaEngine(org)


def add(
    session: Any,
    *,
    platform: str,
    handle: str,
    text: str,
    at: datetime,
    department: str = "customer_relations",
    urgent: bool = False,
    display: str | None = None,
    raw: dict[str, Any] | None = None,
) -> int:
    """A stored, classified mention (the real tables), as ingest and classify leave it."""
    mention = storage.MentionRow(
        platform=platform,
        external_id=f"{platform}-{handle}-{at.isoformat()}-{len(text)}",
        channel=f"{platform}-main",
        url=f"https://{platform}.example/{handle}",
        author_handle=handle,
        author_display_name=display,
        text=text,
        created_at=at,
        fetched_at=at + timedelta(minutes=1),
        raw=raw or {},
    )
    session.add(mention)
    session.flush()
    session.add(
        storage.ClassificationRow(
            mention_id=mention.id,
            department=department,
            urgent=urgent,
            sentiment="negative",
            confidence=0.9,
            explanation={"summary": "test"},
            model_version="test",
            classified_at=at,
            is_current=True,
        )
    )
    session.flush()
    return mention.id


def route(url: str, org: OrgConfig, engine: RotaEngine, now: datetime = MONDAY_10) -> Any:
    with session_scope(url) as session:
        return routing.route_classified(session=session, org=org, engine=engine, now=now)


def count(url: str, model: Any, **filters: Any) -> int:
    with session_scope(url) as session:
        return storage.count_rows(session=session, model=model, **filters)


def members(url: str) -> list[tuple[int, int, str, str]]:
    cm = conversations.ConversationMentionRow
    with session_scope(url) as session:
        return [
            (r.conversation_id, r.mention_id, r.role, r.status)
            for r in session.execute(select(cm).order_by(cm.mention_id)).scalars()
        ]


def jane_on_two_platforms(url: str, **bluesky: Any) -> tuple[int, int]:
    with session_scope(url) as session:
        first = add(
            session,
            platform="mastodon",
            handle="jane_doe@mastodon.social",
            display="Jane Doe",
            text=COMPLAINT,
            at=MONDAY_10 - timedelta(hours=3),
        )
        second = add(
            session,
            platform="bluesky",
            handle="jane-doe.bsky.social",
            display="Jane Doe",
            text=CROSS_POST,
            at=MONDAY_10 - timedelta(hours=2),
            **bluesky,
        )
    return first, second


# --------------------------------------------------------------------------------------------
# Linking
# --------------------------------------------------------------------------------------------


def test_same_person_same_issue_on_two_platforms_is_one_conversation_with_one_assignment(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    first, second = jane_on_two_platforms(database_url)
    run = route(database_url, org, engine)
    assert (run.routed, run.linked) == (1, 1)
    assert count(database_url, storage.AssignmentRow) == 1
    [(conv, m1, r1, _s1), (conv2, m2, r2, _s2)] = members(database_url)
    assert conv == conv2 and (m1, r1, m2, r2) == (first, "opener", second, "linked")
    with session_scope(database_url) as session:
        n = storage.NotificationRow
        events = session.execute(select(n.event, n.recipient, n.mention_id, n.title)).all()
        assignment = session.execute(select(storage.AssignmentRow)).scalar_one()
        audit = session.execute(
            select(storage.AuditRow).where(storage.AuditRow.action == "linked")
        ).scalar_one()
    # One page ("yours"), then "also raised on Bluesky" to the same owner.
    assert sorted(e for e, *_ in events) == ["assigned", "linked"]
    linked = next(row for row in events if row[0] == "linked")
    assert linked[1] == assignment.assignee and linked[2] == second
    assert "also raised on Bluesky" in linked[3]
    # The link says why: the evidence and the similarity.
    assert audit.details["kind"] == "same_handle" and audit.details["similarity"] >= 0.9
    assert audit.details["conversation_id"] == conv
    # Routing again changes nothing: idempotent.
    again = route(database_url, org, engine)
    assert (again.routed, again.linked) == (0, 0)
    assert count(database_url, storage.AssignmentRow) == 1
    assert len(members(database_url)) == 2
    # Views: the inbox's membership and the conversation itself.
    with session_scope(database_url) as session:
        links = conversations.links_for(session=session, mention_ids=[first, second])
        [view] = conversations.conversation_views(session=session)
    assert links[second].as_json()["similarity"] == audit.details["similarity"]
    assert links[second].as_json()["opener_mention_id"] == first
    assert view.platforms == ["bluesky", "mastodon"] and view.assignee == assignment.assignee


def test_two_people_with_the_same_complaint_are_not_linked(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    with session_scope(database_url) as session:
        add(
            session,
            platform="mastodon",
            handle="amy@mastodon.social",
            display="Amy Lee",
            text=COMPLAINT,
            at=MONDAY_10 - timedelta(hours=3),
        )
        add(
            session,
            platform="bluesky",
            handle="ben-k.bsky.social",
            display="Ben K",
            text=CROSS_POST,
            at=MONDAY_10 - timedelta(hours=2),
        )
    run = route(database_url, org, engine)
    assert (run.routed, run.linked) == (2, 0)
    assert members(database_url) == []


def test_the_same_person_on_two_different_issues_is_not_linked(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    with session_scope(database_url) as session:
        add(
            session,
            platform="mastodon",
            handle="jane_doe@mastodon.social",
            text=COMPLAINT,
            at=MONDAY_10 - timedelta(hours=3),
        )
        add(
            session,
            platform="bluesky",
            handle="jane-doe.bsky.social",
            text=OTHER_ISSUE,
            at=MONDAY_10 - timedelta(hours=2),
        )
        # The same words, but another department's business: not the same issue either.
        add(
            session,
            platform="x",
            handle="jane_doe",
            text=COMPLAINT,
            department="legal",
            at=MONDAY_10 - timedelta(hours=1),
        )
        # The same complaint a week later: outside the window.
        add(
            session,
            platform="reddit",
            handle="jane_doe",
            text=COMPLAINT,
            at=MONDAY_10 + timedelta(days=7),
        )
    run = route(database_url, org, engine, now=MONDAY_10 + timedelta(days=7, minutes=5))
    assert run.linked == 0 and members(database_url) == []
    assert count(database_url, storage.AssignmentRow) == 4


def test_the_directory_links_a_rephrased_complaint_and_keeps_known_strangers_apart(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    rephrased = "@northwind.bsky.social still waiting on my oat latte app order at Deansgate"
    assert (
        org.conversations.known_person_similarity
        <= conversations.similarity(COMPLAINT, rephrased)
        < org.conversations.heuristic_similarity
    )
    with session_scope(database_url) as session:
        conversations.link_people(
            session=session,
            accounts=["mastodon:@jd@mastodon.social", "bluesky:plantlady.bsky.social"],
            actor="liz",
            label="Jane",
            now=MONDAY_10,
        )
        # Two accounts the directory gives to two people: never one person, whatever the names.
        conversations.link_people(
            session=session,
            accounts=["mastodon:@sam_smith@mastodon.social", "x:@samsmith_news"],
            actor="liz",
            label=None,
            now=MONDAY_10,
        )
        conversations.link_people(
            session=session,
            accounts=["bluesky:sam-smith.bsky.social", "reddit:u/sam_smith_2"],
            actor="liz",
            label=None,
            now=MONDAY_10,
        )
        jd = add(
            session,
            platform="mastodon",
            handle="jd@mastodon.social",
            text=COMPLAINT,
            at=MONDAY_10 - timedelta(hours=5),
        )
        plant = add(
            session,
            platform="bluesky",
            handle="plantlady.bsky.social",
            text=rephrased,
            at=MONDAY_10 - timedelta(hours=1),
        )
        add(
            session,
            platform="mastodon",
            handle="sam_smith@mastodon.social",
            text=OTHER_ISSUE,
            at=MONDAY_10 - timedelta(hours=4),
        )
        add(
            session,
            platform="bluesky",
            handle="sam-smith.bsky.social",
            text=OTHER_ISSUE,
            at=MONDAY_10 - timedelta(hours=2),
        )
    run = route(database_url, org, engine)
    assert run.linked == 1
    assert [(m, role) for _c, m, role, _s in members(database_url)] == [
        (jd, "opener"),
        (plant, "linked"),
    ]
    with session_scope(database_url) as session:
        [view] = conversations.conversation_views(session=session)
        listed = conversations.people(session=session)
    assert view.mentions[1]["evidence"] == "directory"
    assert next(p.label for p in listed) == "Jane"
    assert listed[0].accounts == ["bluesky:plantlady.bsky.social", "mastodon:jd@mastodon.social"]


def test_a_profile_that_names_the_other_account_is_evidence(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    # As Mastodon sends it: account.fields values are HTML (tests/fixtures: docs_entity_account).
    fields = [
        {
            "name": "Bluesky",
            "value": '<a href="https://bsky.app/profile/plantlady.bsky.social" rel="me">'
            '<span class="invisible">https://</span>bsky.app/profile/plantlady.bsky.social</a>',
            "verified_at": None,
        }
    ]
    raw = {"status": {"account": {"url": "https://mastodon.social/@jd", "fields": fields}}}
    rephrased = "@northwind.bsky.social still waiting on my oat latte app order at Deansgate"
    with session_scope(database_url) as session:
        add(
            session,
            platform="mastodon",
            handle="jd",
            text=COMPLAINT,
            raw=raw,
            at=MONDAY_10 - timedelta(hours=5),
        )
        add(
            session,
            platform="bluesky",
            handle="plantlady.bsky.social",
            text=rephrased,
            at=MONDAY_10 - timedelta(hours=1),
        )
    run = route(database_url, org, engine)
    assert run.linked == 1
    with session_scope(database_url) as session:
        [view] = conversations.conversation_views(session=session)
    assert view.mentions[1]["evidence"] == "profile"
    assert (
        (view.mentions[1]["why"])
        == "jd@mastodon.social's Mastodon profile names plantlady.bsky.social"
    )


def test_an_urgent_mention_makes_its_conversation_urgent(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    jane_on_two_platforms(database_url, urgent=True)
    with session_scope(database_url) as session:  # the opener is normal: route it alone first
        m = storage.MentionRow
        bluesky = session.execute(select(m).where(m.platform == "bluesky")).scalar_one()
        c = storage.ClassificationRow
        row = session.execute(select(c).where(c.mention_id == bluesky.id)).scalar_one()
        row.is_current = False
    route(database_url, org, engine)
    with session_scope(database_url) as session:
        row = session.execute(select(c).where(c.mention_id == bluesky.id)).scalar_one()
        row.is_current = True
        before = session.execute(select(storage.AssignmentRow)).scalar_one().due_at
    run = route(database_url, org, engine, now=MONDAY_10 + timedelta(minutes=5))
    assert run.linked == 1 and count(database_url, storage.AssignmentRow) == 1
    with session_scope(database_url) as session:
        assignment = session.execute(select(storage.AssignmentRow)).scalar_one()
        n = storage.NotificationRow
        urgent = session.execute(select(n).where(n.event == "urgent")).scalar_one()
    assert assignment.urgent and assignment.due_at < before
    assert urgent.urgent and urgent.mention_id == bluesky.id and urgent.deferred_until is None


def test_unlink_routes_the_mention_on_its_own_and_keeps_it_apart(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    first, second = jane_on_two_platforms(database_url)
    route(database_url, org, engine)
    with session_scope(database_url) as session:
        with pytest.raises(conversations.ConversationError, match="opened conversation"):
            conversations.unlink(session=session, mention_id=first, actor="liz", now=MONDAY_10)
        conversations.unlink(session=session, mention_id=second, actor="liz", now=MONDAY_10)
    run = route(database_url, org, engine)
    assert (run.routed, run.linked) == (1, 0)
    assert count(database_url, storage.AssignmentRow) == 2
    assert members(database_url)[1][3] == "unlinked"
    with session_scope(database_url) as session:
        audit = session.execute(
            select(storage.AuditRow).where(storage.AuditRow.action == "unlinked")
        ).scalar_one()
        with pytest.raises(conversations.ConversationError, match="not linked"):
            conversations.unlink(session=session, mention_id=second, actor="liz", now=MONDAY_10)
    assert audit.actor == "liz" and audit.details["was"]["kind"] == "same_handle"


def test_acting_on_any_mention_closes_the_conversation(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    first, second = jane_on_two_platforms(database_url)
    route(database_url, org, engine)
    with session_scope(database_url) as session:
        assert routing.mark_acted(session=session, mention_id=second, actor="eve", now=MONDAY_10)
    with session_scope(database_url) as session:
        assignment = session.execute(select(storage.AssignmentRow)).scalar_one()
        assert not routing.mark_acted(session=session, mention_id=first, actor="eve", now=MONDAY_10)
    assert assignment.status == "acted" and assignment.mention_id == first
    [view] = _views(database_url)
    assert view.status == "acted"
    # A closed conversation takes nothing new: the next mention is routed on its own.
    with session_scope(database_url) as session:
        add(
            session,
            platform="x",
            handle="jane_doe",
            text=COMPLAINT,
            display="Jane Doe",
            at=MONDAY_10 - timedelta(hours=1),
        )
    assert route(database_url, org, engine).routed == 1


def _views(url: str) -> list[conversations.ConversationView]:
    with session_scope(url) as session:
        return conversations.conversation_views(session=session)


# --------------------------------------------------------------------------------------------
# Replies across platforms
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "drafted"),
    [
        ("each", {"mastodon", "bluesky", "x", "mastodon2"}),
        ("first", {"mastodon"}),
        ("none", {"mastodon", "mastodon2"}),
    ],
)
def test_replies_follow_the_departments_policy(
    database_url: str, policy: str, drafted: set[str]
) -> None:
    org = _org(policy)
    engine = RotaEngine(org)
    with session_scope(database_url) as session:
        ids = {
            "mastodon": add(
                session,
                platform="mastodon",
                handle="jane_doe@mastodon.social",
                text=COMPLAINT,
                at=MONDAY_10 - timedelta(hours=5),
            ),
            "bluesky": add(
                session,
                platform="bluesky",
                handle="jane-doe.bsky.social",
                text=CROSS_POST,
                at=MONDAY_10 - timedelta(hours=4),
            ),
            "x": add(
                session,
                platform="x",
                handle="jane_doe",
                text=COMPLAINT,
                at=MONDAY_10 - timedelta(hours=3),
            ),
        }
    route(database_url, org, engine)
    with session_scope(database_url) as session:  # again on Mastodon, linked through Bluesky
        ids["mastodon2"] = add(
            session,
            platform="mastodon",
            handle="jane_doe@mastodon.social",
            text=COMPLAINT + "!!",
            at=MONDAY_10 - timedelta(hours=2),
        )
    assert route(database_url, org, engine).linked == 1
    assert count(database_url, storage.AssignmentRow) == 1
    with session_scope(database_url) as session:
        run = draft_all(session, org, now=MONDAY_10, engine=engine)
        d = storage.DraftRow
        rows = session.execute(select(d.mention_id, d.assignee, d.due_at)).all()
        assignment = session.execute(select(storage.AssignmentRow)).scalar_one()
    names = {v: k for k, v in ids.items()}
    assert {names[m] for m, _a, _d in rows} == drafted
    assert run.drafted == len(drafted)
    # Every draft is written for the conversation's owner, against its one deadline.
    assert {(a, due) for _m, a, due in rows} == {(assignment.assignee, assignment.due_at)}


# --------------------------------------------------------------------------------------------
# Two routing runs at once
# --------------------------------------------------------------------------------------------


def test_two_routing_runs_at_once_make_one_conversation(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    with session_scope(database_url) as session:
        add(
            session,
            platform="mastodon",
            handle="jane_doe@mastodon.social",
            text=COMPLAINT,
            at=MONDAY_10 - timedelta(hours=5),
        )
    route(database_url, org, engine)  # the opener is routed; now three platforms at once
    with session_scope(database_url) as session:
        for platform, handle in (
            ("bluesky", "jane-doe.bsky.social"),
            ("x", "jane_doe"),
            ("reddit", "jane_doe"),
        ):
            add(
                session,
                platform=platform,
                handle=handle,
                text=COMPLAINT,
                at=MONDAY_10 - timedelta(hours=2),
            )
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            route(database_url, org, engine, now=MONDAY_10 + timedelta(minutes=1))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert count(database_url, storage.AssignmentRow) == 1
    assert count(database_url, conversations.ConversationRow) == 1
    assert [role for _c, _m, role, _s in members(database_url)] == ["opener", *["linked"] * 3]
    with session_scope(database_url) as session:
        n = storage.NotificationRow
        linked = session.execute(
            select(func.count()).select_from(n).where(n.event == "linked")
        ).scalar_one()
    assert linked == 3


# --------------------------------------------------------------------------------------------
# Configuration and identities
# --------------------------------------------------------------------------------------------


def test_a_bad_policy_names_the_line_and_the_key_path(tmp_path: Path) -> None:
    data = small_org()
    data["departments"]["legal"]["replies_across_platforms"] = "all"
    path = write_org(tmp_path / "org.yaml", data)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "departments.legal.replies_across_platforms" in message
    assert f"{path}:" in message and "'each', 'first' or 'none'" in message
    data = small_org()
    data["conversations"] = {"known_person_similarity": 0.7, "heuristic_similarity": 0.5}
    path = write_org(tmp_path / "org2.yaml", data)
    with pytest.raises(ConfigError, match="conversations: heuristic_similarity must be"):
        load_config(path)


def test_accounts_parse_strictly_and_profiles_are_read_as_platforms_send_them() -> None:
    assert conversations.parse_account("mastodon:@Jane@Mastodon.Social") == (
        "mastodon",
        "jane@mastodon.social",
    )
    assert conversations.parse_account("reddit:u/Jane_D") == ("reddit", "jane_d")
    for bad in ("mastodon:@jane", "myspace:jane", "bluesky:jane", "x:"):
        with pytest.raises(conversations.ConversationError):
            conversations.parse_account(bad)
    named = conversations.accounts_named(
        [
            "also @jane@hachyderm.io and https://mastodon.social/@jd",
            "bsky: jane.bsky.social, x.com/janed, reddit.com/user/jane_r",
        ]
    )
    assert named == {
        ("mastodon", "jane@hachyderm.io"),
        ("mastodon", "jd@mastodon.social"),
        ("bluesky", "jane.bsky.social"),
        ("x", "janed"),
        ("reddit", "jane_r"),
    }
    # Too short or one-word names say too little about who someone is.
    short = storage.MentionRow(
        platform="x", author_handle="sam", author_display_name="Sam", raw={}, text=""
    )
    identity = conversations.identity_of(short)
    assert (identity.local, identity.display) == ("", "")


def test_assigning_a_linked_mention_by_hand_moves_the_whole_conversation(
    database_url: str, org: OrgConfig, engine: RotaEngine
) -> None:
    first, second = jane_on_two_platforms(database_url)
    route(database_url, org, engine)
    with session_scope(database_url) as session:
        view = routing.assign_manually(
            session=session,
            org=org,
            engine=engine,
            mention_id=second,
            handle="hal",
            actor="liz",
            now=MONDAY_10,
        )
    assert view.mention_id == first and view.assignee == "hal"
    assert count(database_url, storage.AssignmentRow) == 1
