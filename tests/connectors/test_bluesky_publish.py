"""BlueskyPublisher against recorded payloads (docs, atproto.dart, and a real local PDS run:
tests/fixtures/bluesky/devenv-publishing.json) in a route table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors import bluesky_publish as bp
from connectors.errors import OutcomeUnknown, RateLimited, Rejected
from connectors.state import MemoryStateStore
from tests.cassettes import FIXTURES, RouteTable, json_response
from tests.connectors.fakes import Clock
from tests.connectors.test_bluesky import (
    NOTIFICATIONS,
    SESSION,
    XRPC,
    client,
    logged_in,
)
from tests.connectors.test_bluesky import NOW as CLIENT_NOW

DEVENV = json.loads((FIXTURES / "bluesky" / "devenv-publishing.json").read_text("utf-8"))
FACETED = json.loads((FIXTURES / "bluesky" / "docs_post_record_facets.json").read_text("utf-8"))
CREATED = json.loads(
    (FIXTURES / "bluesky" / "createRecord.response.atproto-dart.json").read_text("utf-8")
)
DOCS_CREATED = json.loads(
    (FIXTURES / "bluesky" / "docs_createRecord_response.json").read_text("utf-8")
)
# A reply in the recorded notifications: its own parent and root differ (a thread).
REPLY = next(n for n in NOTIFICATIONS["notifications"] if n["reason"] == "reply")
MENTION = next(
    n
    for n in NOTIFICATIONS["notifications"]
    if n["reason"] == "mention" and "reply" not in n["record"]
)
NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def publisher(routes: RouteTable, store: MemoryStateStore | None = None, **kw: Any) -> Any:
    store = store if store is not None else MemoryStateStore()
    clock = Clock(CLIENT_NOW)
    return bp.BlueskyPublisher(
        client(routes, store=store, clock=clock, **kw), store=store, now=lambda: NOW
    )


def post_view(notification: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in notification.items() if k not in ("reason", "isRead")}


def getposts(routes: RouteTable, *views: dict[str, Any]) -> RouteTable:
    return routes.add(
        "GET", f"{XRPC}/app.bsky.feed.getPosts", json_response(200, {"posts": list(views)})
    )


def put_answer(record_uri: str, cid: str = "bafyreiabc") -> Any:
    return json_response(200, {**DEVENV["putRecord.first"], "uri": record_uri, "cid": cid})


# -- record keys -----------------------------------------------------------------------------


def test_tids_are_spelled_as_the_spec_says_and_carry_their_time() -> None:
    assert bp.make_tid(0, 0) == "2222222222222"
    assert bp.tid_micros("2222222222222") == 0
    # The rkey of a real post (docs createRecord example) is a TID of August 2023.
    rkey = DOCS_CREATED["uri"].rsplit("/", 1)[-1]
    when = datetime.fromtimestamp(bp.tid_micros(rkey) / 1e6, UTC)
    assert datetime(2023, 8, 1, tzinfo=UTC) < when < datetime(2023, 9, 1, tzinfo=UTC)
    micros = int(NOW.timestamp() * 1e6) + 123
    tid = bp.make_tid(micros, 1023)
    assert len(tid) == 13 and bp.tid_micros(tid) == micros
    assert bp.make_tid(micros + 1, 0) > tid  # TIDs sort by time, as strings
    assert bp.iso_micros(micros) == "2026-12-04T09:00:00.000Z"
    with pytest.raises(ValueError):
        bp.tid_micros("zzzzzzzzzzzzz")  # the first character would set the top bit


def test_the_record_key_is_made_once_per_idempotency_key_and_kept() -> None:
    store = MemoryStateStore()
    pub = publisher(RouteTable(), store)
    first = pub.record_key("key-1")
    assert pub.record_key("key-1") == first  # a retry: the same key
    assert pub.record_key("key-2") != first
    later = bp.BlueskyPublisher(pub.client, store=store, now=lambda: NOW + timedelta(hours=1))
    assert later.record_key("key-1") == first  # another run, later: still the same
    assert store.values[bp.state_key("key-1")]["rkey"] == first
    assert len(bp.state_key("k" * 64)) <= 64


# -- rich text -------------------------------------------------------------------------------


def test_facets_match_the_documented_example_byte_for_byte() -> None:
    """The docs' post: emoji (a ZWJ family) before a mention and a link, a full stop after it."""
    did = FACETED["facets"][0]["features"][0]["did"]
    facets = bp.build_facets(FACETED["text"], {"atproto.com": did}.get)
    assert facets == FACETED["facets"]


def test_facets_count_utf8_bytes_for_accents_and_emoji_and_find_tags() -> None:
    text = "Café ☕ @anna.bsky.social voilà #Support https://ex.com/a_(b). #123 @nobody.example!"
    facets = bp.build_facets(text, {"anna.bsky.social": "did:plc:anna"}.get)
    data = text.encode()

    def shown(facet: dict[str, Any]) -> str:
        return data[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode()

    assert [shown(f) for f in facets] == ["@anna.bsky.social", "#Support", "https://ex.com/a_(b)"]
    assert facets[0]["features"] == [
        {"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:anna"}
    ]
    assert facets[1]["features"] == [{"$type": "app.bsky.richtext.facet#tag", "tag": "Support"}]
    assert facets[2]["features"][0]["uri"] == "https://ex.com/a_(b)"
    # "Café ☕ " is 10 bytes but 7 characters: a character count would be off by 3.
    assert facets[0]["index"]["byteStart"] == len("Café ☕ ".encode()) == 10


# -- posting ---------------------------------------------------------------------------------


def test_a_reply_carries_root_and_parent_strong_refs_facets_and_a_fixed_key() -> None:
    root = REPLY["record"]["reply"]["root"]
    own = "at://did:plc:iijrtk7ocored6zuziwmqq3c/app.bsky.feed.post/"
    routes = logged_in(RouteTable())
    getposts(routes, post_view(REPLY))
    getposts(routes, post_view(REPLY))
    routes.add(
        "GET",
        f"{XRPC}/com.atproto.identity.resolveHandle",
        json_response(200, {"did": REPLY["author"]["did"]}),
    )
    routes.add(
        "POST", f"{XRPC}/com.atproto.repo.putRecord", put_answer(own + "x"), put_answer(own + "x")
    )
    pub = publisher(routes)
    text = f"@{REPLY['author']['handle']} thanks 🙏 — we're on it"
    posted = pub.post(text=text, in_reply_to=REPLY["uri"], idempotency_key="k", visibility="public")
    again = pub.post(text=text, in_reply_to=REPLY["uri"], idempotency_key="k", visibility="public")
    assert posted == again
    assert posted.id == own + "x"
    assert posted.url == f"https://bsky.app/profile/{SESSION['handle']}/post/x"
    writes = [r for r in routes.requests if r.url.path.endswith("putRecord")]
    sent = [json.loads(r.content) for r in writes]
    assert sent[0] == sent[1]  # a retry writes the very same record under the same key
    body = sent[0]
    assert body["repo"] == SESSION["did"] and body["collection"] == "app.bsky.feed.post"
    record = body["record"]
    assert record["reply"] == {
        "root": {"uri": root["uri"], "cid": root["cid"]},
        "parent": {"uri": REPLY["uri"], "cid": REPLY["cid"]},
    }
    assert record["createdAt"] == bp.iso_micros(bp.tid_micros(body["rkey"]))
    assert record["createdAt"].startswith("2026-12-04T09:00:00")
    assert record["facets"][0]["index"] == {
        "byteStart": 0,
        "byteEnd": len(REPLY["author"]["handle"]) + 1,
    }
    assert "langs" not in record  # nobody said which language the text is in
    assert routes.unused == 0


def test_a_reply_to_a_top_level_post_uses_it_as_root_and_a_planned_post_has_no_reply() -> None:
    routes = logged_in(RouteTable())
    getposts(routes, post_view(MENTION))
    routes.add(
        "GET",
        f"{XRPC}/com.atproto.identity.resolveHandle",
        json_response(400, {"error": "HandleNotFound", "message": "Unable to resolve handle"}),
    )
    routes.add(
        "POST",
        f"{XRPC}/com.atproto.repo.putRecord",
        json_response(200, CREATED),
        json_response(200, DOCS_CREATED),
    )
    pub = publisher(routes)
    pub.post(
        text="@nobody.example hi",
        in_reply_to=MENTION["uri"],
        idempotency_key="a",
        visibility="public",
    )
    pub.post(
        text="Our winter menu is out",
        in_reply_to=None,
        idempotency_key="b",
        visibility="public",
        lang="en",
    )
    first, second = (
        json.loads(r.content)["record"] for r in routes.requests if r.url.path.endswith("putRecord")
    )
    assert (
        first["reply"]["root"]
        == first["reply"]["parent"]
        == {"uri": MENTION["uri"], "cid": MENTION["cid"]}
    )
    assert "facets" not in first  # an unknown handle stays plain text
    assert "reply" not in second and second["langs"] == ["en"]


def test_too_long_or_empty_is_refused_before_any_request() -> None:
    pub = publisher(RouteTable())  # no route: any request would fail the test
    with pytest.raises(Rejected, match="301 graphemes"):
        pub.post(text="é" * 301, in_reply_to=None, idempotency_key="k", visibility="public")
    with pytest.raises(Rejected, match="empty"):
        pub.post(text="  ", in_reply_to=None, idempotency_key="k", visibility="public")
    # 300 family emoji are 300 graphemes but 7,500 bytes: over the 3,000-byte limit.
    with pytest.raises(Rejected, match="bytes"):
        pub.post(text="👨‍👩‍👧" * 300, in_reply_to=None, idempotency_key="k", visibility="public")


def test_a_deleted_parent_fails_the_item() -> None:
    routes = getposts(logged_in(RouteTable()))
    with pytest.raises(Rejected, match="no longer exists"):
        publisher(routes).post(
            text="hi", in_reply_to=MENTION["uri"], idempotency_key="k", visibility="public"
        )
    with pytest.raises(Rejected, match="not an AT-URI"):
        publisher(RouteTable()).post(
            text="hi", in_reply_to="12345", idempotency_key="k", visibility="public"
        )


def test_the_pds_refusing_the_record_is_rejected_with_its_message() -> None:
    refused = DEVENV["putRecord.too_long"]
    routes = logged_in(RouteTable()).add(
        "POST",
        f"{XRPC}/com.atproto.repo.putRecord",
        json_response(refused["status"], refused["body"]),
    )
    with pytest.raises(Rejected) as caught:
        publisher(routes).post(
            text="hi", in_reply_to=None, idempotency_key="k", visibility="public"
        )
    assert "grapheme too big" in str(caught.value) and caught.value.status_code == 400


def test_502_after_every_attempt_is_an_unknown_outcome_then_own_posts_find_it() -> None:
    bad_gateway = json_response(502, {}).with_content(b"<html>502 Bad Gateway</html>")
    routes = logged_in(RouteTable())
    routes.add("POST", f"{XRPC}/com.atproto.repo.putRecord", bad_gateway, bad_gateway, bad_gateway)
    listed = DEVENV["listRecords"]
    routes.add("GET", f"{XRPC}/com.atproto.repo.listRecords", json_response(200, listed))
    pub = publisher(routes)
    with pytest.raises(OutcomeUnknown, match="may have been written"):
        pub.post(text="hello probe", in_reply_to=None, idempotency_key="k", visibility="public")
    found = list(pub.own_posts(since=datetime(2026, 12, 4, 7, 59, tzinfo=UTC)))
    assert [s.id for s in found] == [r["uri"] for r in listed["records"]]
    assert found[0].text == "hello probe, edited" and found[0].in_reply_to_id is None
    assert found[0].created_at == datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    query = routes.requests[-1].url.params
    assert query["repo"] == SESSION["did"] and query["collection"] == "app.bsky.feed.post"


def test_own_posts_page_back_to_since_and_report_the_parent() -> None:
    def record(rkey: str, at: str, parent: str | None) -> dict[str, Any]:
        value: dict[str, Any] = {"$type": "app.bsky.feed.post", "text": rkey, "createdAt": at}
        if parent:
            ref = {"uri": parent, "cid": "bafyp"}
            value["reply"] = {"root": ref, "parent": ref}
        return {
            "uri": f"at://{SESSION['did']}/app.bsky.feed.post/{rkey}",
            "cid": "bafy",
            "value": value,
        }

    newer = [record(f"3n3b{n:03d}", "2026-12-04T09:00:00.000Z", None) for n in range(99, 0, -1)]
    page1 = {  # a full page: there may be more
        "records": [record("3n3c", "2026-12-04T09:00:00.000Z", MENTION["uri"]), *newer],
        "cursor": "3n3b001",
    }
    page2 = {"records": [record("3n3a", "2026-12-01T09:00:00.000Z", None)], "cursor": "3n3a"}
    routes = logged_in(RouteTable()).add(
        "GET",
        f"{XRPC}/com.atproto.repo.listRecords",
        json_response(200, page1),
        json_response(200, page2),
    )
    found = list(publisher(routes).own_posts(since=NOW - timedelta(hours=1)))
    assert [s.in_reply_to_id for s in found] == [MENTION["uri"], *[None] * 99, None]
    assert routes.requests[-1].url.params["cursor"] == "3n3b001"
    assert routes.unused == 0  # stopped at the page older than `since`


def test_an_expired_token_on_the_write_is_renewed_and_the_record_written_once() -> None:
    store = MemoryStateStore({"session": {"identifier": "shinyakato.dev", **SESSION}})
    expired = json_response(400, {"error": "ExpiredToken", "message": "Token has expired"})
    refreshed = {**SESSION, "accessJwt": "fresh-access", "refreshJwt": "fresh-refresh"}
    routes = RouteTable()
    routes.add("POST", f"{XRPC}/com.atproto.repo.putRecord", expired, json_response(200, CREATED))
    routes.add("POST", f"{XRPC}/com.atproto.server.refreshSession", json_response(200, refreshed))
    posted = publisher(routes, store).post(
        text="hi", in_reply_to=None, idempotency_key="k", visibility="public"
    )
    assert posted.id == CREATED["uri"]
    assert routes.requests[-1].headers["authorization"] == "Bearer fresh-access"


def test_a_long_rate_limit_on_the_write_is_handed_back_with_its_reset() -> None:
    reset = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())
    limited = json_response(
        429,
        {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
        {
            "ratelimit-limit": "5000",
            "ratelimit-remaining": "0",
            "ratelimit-reset": str(reset),
            "retry-after": "3600",
        },
    )
    routes = logged_in(RouteTable()).add("POST", f"{XRPC}/com.atproto.repo.putRecord", limited)
    with pytest.raises(RateLimited) as caught:
        publisher(routes).post(
            text="hi", in_reply_to=None, idempotency_key="k", visibility="public"
        )
    assert caught.value.reset_at is not None


def test_the_session_password_never_reaches_a_write_error() -> None:
    routes = logged_in(RouteTable()).add(
        "POST",
        f"{XRPC}/com.atproto.repo.putRecord",
        json_response(403, {"error": "Forbidden", "message": "nope"}),
    )
    with pytest.raises(Rejected) as caught:
        publisher(routes).post(
            text="hi", in_reply_to=None, idempotency_key="k", visibility="public"
        )
    assert "app-pass-word" not in str(caught.value) and "HTTP 403" in str(caught.value)


def test_the_registry_opens_a_bluesky_publisher_on_the_channels_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from connectors import registry
    from socialops.config import Channel

    monkeypatch.setenv("E2E_BLUESKY_APP_PASSWORD", "app-pass-word-must-never-leak")
    channel = Channel(
        name="bluesky-main",
        platform="bluesky",
        base_url="https://pds.example",
        token_env="E2E_BLUESKY_APP_PASSWORD",
        identifier="shinyakato.dev",
    )
    store = MemoryStateStore()
    routes = logged_in(RouteTable())
    routes.add("POST", f"{XRPC}/com.atproto.repo.putRecord", json_response(200, CREATED))
    with registry.open_publisher(
        channel, max_rate_limit_wait=5, transport=routes.transport(), store=store
    ) as pub:
        assert isinstance(pub, bp.BlueskyPublisher)
        posted = pub.post(text="hi", in_reply_to=None, idempotency_key="k", visibility="public")
    assert posted.id == CREATED["uri"]
    assert bp.state_key("k") in store.values and "session" in store.values
