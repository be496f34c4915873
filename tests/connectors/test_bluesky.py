"""BlueskyClient against recorded Bluesky payloads (tests/fixtures/bluesky) in a route table."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from connectors import bluesky, bluesky_payloads
from connectors.errors import RateLimited, Rejected, Retryable
from connectors.state import MemoryStateStore
from socialops.mentions import Mention
from tests.cassettes import FIXTURES, RouteTable, UnroutedRequest, json_response
from tests.connectors.fakes import Clock

BASE = "https://pds.example"
XRPC = f"{BASE}/xrpc"
PASSWORD = "app-pass-word-must-never-leak"
NOW = datetime(2023, 9, 5, 12, 0, tzinfo=UTC)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / "bluesky" / name).read_text(encoding="utf-8"))


NOTIFICATIONS = fixture("listNotifications.atproto-dart.json")
SEARCH = fixture("searchPosts.atproto-dart.json")
SESSION = fixture("createSession.response.atproto-dart.json")


def client(
    routes: RouteTable,
    *,
    store: MemoryStateStore | None = None,
    search: tuple[str, ...] = (),
    clock: Clock | None = None,
    **options: Any,
) -> bluesky.BlueskyClient:
    clock = clock or Clock(NOW)
    return bluesky.BlueskyClient(
        base_url=BASE,
        identifier="shinyakato.dev",
        password=SecretStr(PASSWORD),
        channel="bluesky-main",
        store=store if store is not None else MemoryStateStore(),
        search=search,
        backfill_hours=24 * 365 * 3,
        transport=routes.transport(),
        **clock.client_options(),
        **options,
    )


def logged_in(routes: RouteTable) -> RouteTable:
    return routes.add(
        "POST", f"{XRPC}/com.atproto.server.createSession", json_response(200, SESSION)
    )


def test_notifications_map_mentions_replies_and_quotes_and_skip_likes() -> None:
    routes = logged_in(RouteTable()).add(
        "GET", f"{XRPC}/app.bsky.notification.listNotifications", json_response(200, NOTIFICATIONS)
    )
    page = client(routes).fetch_mentions_page(limit=80)
    request = routes.requests[-1]
    assert request.url.params.get_list("reasons") == ["mention", "reply", "quote"]
    assert request.headers["authorization"] == "Bearer eeeeeeeeeeeee"
    assert [s.reason for s in page.skipped] == ["notification reason 'like' is not a mention"]
    assert len(page.mentions) == 6 and not page.invalid
    first = page.mentions[0]
    assert first.external_id == NOTIFICATIONS["notifications"][1]["uri"]
    assert first.url == "https://bsky.app/profile/maccalennon.bsky.social/post/3k6k4as23yu2g"
    assert first.created_at == datetime(2023, 9, 4, 4, 0, 35, 516000, tzinfo=UTC)
    assert first.in_reply_to_id and first.thread_id and first.thread_id != first.external_id
    quote = next(m for m in page.mentions if m.external_id.endswith("3k6fo5vmksk2e"))
    assert quote.thread_id == quote.external_id and quote.in_reply_to_id is None
    assert all(
        m.platform == "bluesky" and m.raw.value()["uri"] == m.external_id for m in page.mentions
    )
    # One stream: its cursor is kept for the next page, the position is the newest indexedAt.
    cursor = NOTIFICATIONS["cursor"]
    assert page.oldest_cursor == f"0:{cursor}"
    assert page.newest_cursor == "t:2023-09-04T04:25:05.748000+00:00"  # the like, skipped


def test_the_next_page_sends_the_cursor_and_an_empty_page_ends_the_walk() -> None:
    routes = logged_in(RouteTable()).add(
        "GET",
        f"{XRPC}/app.bsky.notification.listNotifications",
        json_response(200, {"notifications": []}),
    )
    page = client(routes).fetch_mentions_page(max_id=f"0:{NOTIFICATIONS['cursor']}")
    assert routes.requests[-1].url.params["cursor"] == NOTIFICATIONS["cursor"]
    assert page.is_empty


def test_search_results_map_and_a_post_seen_twice_is_handed_out_once() -> None:
    post = SEARCH["posts"][0]
    as_notification = {**post, "reason": "mention", "isRead": False}
    routes = logged_in(RouteTable())
    routes.add(
        "GET",
        f"{XRPC}/app.bsky.notification.listNotifications",
        json_response(200, {"notifications": [as_notification]}),
    )
    routes.add("GET", f"{XRPC}/app.bsky.feed.searchPosts", json_response(200, SEARCH))
    feed = client(routes, search=("northwind",))
    first = feed.fetch_mentions_page(limit=25)
    assert [m.external_id for m in first.mentions] == [post["uri"]]
    assert first.oldest_cursor == "1:"  # notifications done: search starts from its top
    second = feed.fetch_mentions_page(max_id=first.oldest_cursor, limit=25)
    search_request = routes.requests[-1]
    assert search_request.url.params["q"] == "northwind"
    assert search_request.url.params["sort"] == "latest"
    assert [s.reason for s in second.skipped] == ["already found through notifications"]
    assert len(second.mentions) == len(SEARCH["posts"]) - 1
    assert all(isinstance(m, Mention) and m.created_at for m in second.mentions)
    assert second.oldest_cursor == "1:xxxxxxx"


def test_forward_reads_every_stream_down_to_the_position_and_hands_out_oldest_first() -> None:
    routes = logged_in(RouteTable())
    routes.add(
        "GET",
        f"{XRPC}/app.bsky.notification.listNotifications",
        json_response(200, NOTIFICATIONS),  # its oldest item is older than the position: stop
    )
    routes.add("GET", f"{XRPC}/app.bsky.feed.searchPosts", json_response(200, {"posts": []}))
    feed = client(routes, search=("northwind",))
    position = "t:2023-09-02T14:49:35.854000+00:00"
    page = feed.fetch_mentions_page(min_id=position, limit=2)
    since = routes.requests[-1].url.params["since"]
    assert since == "2023-09-02T14:34:35.854000Z"  # the position minus the re-read window
    times = [m.raw.value()["indexedAt"] for m in page.mentions]
    assert times == sorted(times) and page.direction == "newer"
    rest = feed.fetch_mentions_page(min_id=page.newest_cursor, limit=80)
    assert len(page.mentions) + len(rest.mentions) == 3  # the reply at the position and newer
    # Each page of a sweep numbers its cursor, so the walk sees it move even when re-read items
    # leave the time where it was.
    assert rest.newest_cursor == "t:2023-09-04T04:25:05.748000+00:00#2"
    assert page.newest_cursor != rest.newest_cursor
    assert feed.fetch_mentions_page(min_id=rest.newest_cursor).is_empty
    assert routes.unused == 0


def test_link_facets_become_the_full_uri_at_utf8_byte_offsets() -> None:
    record = bluesky_payloads.PostRecord.model_validate(fixture("docs_post_record_facets.json"))
    assert (
        bluesky_payloads.text_with_facets(record.text, record.facets) == record.text
    )  # shown in full
    short = record.model_copy(
        update={
            "text": record.text.replace(
                "https://en.wikipedia.org/wiki/CBOR", "en.wikipedia.org/wi..."
            )
        }
    )
    data = short.text.encode("utf-8")
    start = data.index(b"en.wikipedia")
    facets = [
        record.facets[0],
        bluesky_payloads.Facet.model_validate(
            {
                "index": {"byteStart": start, "byteEnd": start + len("en.wikipedia.org/wi...")},
                "features": [
                    {
                        "$type": "app.bsky.richtext.facet#link",
                        "uri": "https://en.wikipedia.org/wiki/CBOR",
                    }
                ],
            }
        ),
        bluesky_payloads.Facet.model_validate(  # out of range: ignored, never guessed at
            {"index": {"byteStart": 500, "byteEnd": 510}, "features": []}
        ),
    ]
    text = bluesky_payloads.text_with_facets(short.text, facets)
    assert text.endswith("👨\u200d❤️\u200d👨 https://en.wikipedia.org/wiki/CBOR.")
    assert "@atproto.com" in text  # the mention facet's bytes (23-35) are the handle, kept


def test_reply_and_minimal_records_and_a_thread_post_map() -> None:
    reply = bluesky_payloads.PostRecord.model_validate(fixture("docs_post_record_reply.json"))
    assert reply.reply is not None
    author = bluesky_payloads.Author(did="did:plc:abc", handle="ann.bsky.social")
    mapped = bluesky_payloads.to_mention(
        uri="at://did:plc:abc/app.bsky.feed.post/3k",
        author=author,
        record=reply,
        channel="c",
        raw={},
    )
    assert mapped.thread_id == reply.reply.root.uri
    assert mapped.in_reply_to_id == reply.reply.parent.uri
    minimal = bluesky_payloads.PostRecord.model_validate(fixture("docs_post_record_minimal.json"))
    assert minimal.text and bluesky_payloads.parse_time(minimal.created_at)
    thread = fixture("getPostThread.marshalx.json")
    post = thread.get("thread", thread).get("post", thread)
    view = bluesky_payloads.PostView.model_validate(post)
    mention = bluesky_payloads.to_mention(
        uri=view.uri,
        author=view.author,
        record=bluesky_payloads.PostRecord.model_validate(view.record),
        channel="c",
        raw=post,
    )
    assert mention.url and mention.url.startswith("https://bsky.app/profile/")
    assert mention.lang == (view.record.get("langs") or [None])[0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-09-03T02:16:08.293Z", datetime(2023, 9, 3, 2, 16, 8, 293000, tzinfo=UTC)),
        ("2023-08-07T05:49:40.501974Z", datetime(2023, 8, 7, 5, 49, 40, 501974, tzinfo=UTC)),
        ("2024-02-22T19:58:13.903293+00:00", datetime(2024, 2, 22, 19, 58, 13, 903293, tzinfo=UTC)),
        ("2023-07-21T01:33:51.481951", datetime(2023, 7, 21, 1, 33, 51, 481951, tzinfo=UTC)),
        ("yesterday-ish", None),
        (None, None),
    ],
)
def test_timestamps_are_parsed_leniently(value: str | None, expected: datetime | None) -> None:
    assert bluesky_payloads.parse_time(value) == expected


def test_the_session_is_cached_across_clients_and_refreshed_when_it_expires() -> None:
    store = MemoryStateStore()
    notifications = f"{XRPC}/app.bsky.notification.listNotifications"
    routes = logged_in(RouteTable()).add("GET", notifications, json_response(200, NOTIFICATIONS))
    client(routes, store=store).fetch_mentions_page()
    assert store.values["session"]["accessJwt"] == "eeeeeeeeeeeee"
    assert "password" not in json.dumps(store.values)

    expired = json_response(400, {"error": "ExpiredToken", "message": "Token has expired"})
    refreshed = {**SESSION, "accessJwt": "fresh-access", "refreshJwt": "fresh-refresh"}
    routes = RouteTable()  # no createSession route: logging in again would fail the test
    routes.add("GET", notifications, expired, json_response(200, NOTIFICATIONS))
    routes.add("POST", f"{XRPC}/com.atproto.server.refreshSession", json_response(200, refreshed))
    second = client(routes, store=store)
    assert len(second.fetch_mentions_page().mentions) == 6
    refresh_request = routes.requests[1]
    assert refresh_request.headers["authorization"] == "Bearer uuuuuuuuuuuuuuuu"
    assert routes.requests[2].headers["authorization"] == "Bearer fresh-access"
    assert store.values["session"]["refreshJwt"] == "fresh-refresh"
    assert (second.sessions_created, second.sessions_refreshed) == (0, 1)


def test_a_refused_refresh_logs_in_again() -> None:
    store = MemoryStateStore({"session": {"identifier": "shinyakato.dev", **SESSION}})
    notifications = f"{XRPC}/app.bsky.notification.listNotifications"
    routes = logged_in(RouteTable())
    routes.add(
        "GET",
        notifications,
        json_response(400, {"error": "ExpiredToken", "message": "Token has expired"}),
        json_response(200, NOTIFICATIONS),
    )
    routes.add(
        "POST",
        f"{XRPC}/com.atproto.server.refreshSession",
        json_response(400, {"error": "ExpiredToken", "message": "Token has been revoked"}),
    )
    feed = client(routes, store=store)
    feed.fetch_mentions_page()
    assert feed.sessions_created == 1


def test_a_wrong_app_password_is_rejected_with_the_platform_message_and_no_secret() -> None:
    routes = RouteTable().add(
        "POST",
        f"{XRPC}/com.atproto.server.createSession",
        json_response(
            401, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}
        ),
    )
    with pytest.raises(Rejected) as caught:
        client(routes).fetch_mentions_page()
    message = str(caught.value)
    assert "HTTP 401" in message and "Invalid identifier or password" in message
    assert PASSWORD not in message
    sent = json.loads(routes.requests[0].content)
    assert sent == {"identifier": "shinyakato.dev", "password": PASSWORD}


def test_ratelimit_headers_and_retry_after_are_honoured() -> None:
    clock = Clock(NOW)
    reset = int(NOW.timestamp()) + 30
    spent = json_response(
        200,
        NOTIFICATIONS,
        {"RateLimit-Limit": "3000", "RateLimit-Remaining": "0", "RateLimit-Reset": str(reset)},
    )
    too_many = json_response(
        429,
        {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
        {"RateLimit-Remaining": "0", "Retry-After": "7"},
    )
    notifications = f"{XRPC}/app.bsky.notification.listNotifications"
    routes = logged_in(RouteTable()).add(
        "GET", notifications, spent, too_many, json_response(200, {"notifications": []})
    )
    feed = client(routes, clock=clock)
    feed.fetch_mentions_page()
    feed.fetch_mentions_page(max_id=f"0:{NOTIFICATIONS['cursor']}")
    assert clock.sleeps == [30.0, 7.0]


def test_a_long_rate_limit_and_repeated_5xx_raise_typed_errors() -> None:
    notifications = f"{XRPC}/app.bsky.notification.listNotifications"
    reset = str(int(NOW.timestamp()) + 3600)
    routes = logged_in(RouteTable()).add(
        "GET",
        notifications,
        json_response(
            429,
            {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
            {"RateLimit-Reset": reset},
        ),
    )
    with pytest.raises(RateLimited) as limited:
        client(routes).fetch_mentions_page()
    assert limited.value.reset_at == datetime.fromtimestamp(int(reset), UTC)

    server_error = json_response(500, {"error": "InternalServerError", "message": "boom"})
    routes = logged_in(RouteTable()).add(
        "GET", notifications, server_error, server_error, server_error
    )
    with pytest.raises(Retryable, match="HTTP 500 \\(3 attempts\\)"):
        client(routes).fetch_mentions_page()


def test_an_unknown_url_never_reaches_the_network() -> None:
    with pytest.raises(UnroutedRequest):
        client(RouteTable()).fetch_mentions_page()


def test_a_truncated_body_is_retried() -> None:
    notifications = f"{XRPC}/app.bsky.notification.listNotifications"
    whole = json_response(200, NOTIFICATIONS)
    routes = logged_in(RouteTable()).add(
        "GET", notifications, whole.with_content(whole.content[:100]), whole
    )
    assert len(client(routes).fetch_mentions_page().mentions) == 6


def test_unknown_cursor_is_refused_with_the_way_out() -> None:
    with pytest.raises(Rejected, match="backfill-hours"):
        client(RouteTable()).fetch_mentions_page(max_id="7:abc")
    with pytest.raises(Rejected, match="not a time position"):
        client(RouteTable()).fetch_mentions_page(min_id="109876543210")


def test_transport_errors_are_retried_then_retryable() -> None:
    def drop(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    notifications = f"{XRPC}/app.bsky.notification.listNotifications"
    routes = logged_in(RouteTable()).add("GET", notifications, drop, drop, drop)
    with pytest.raises(Retryable, match="connection failed"):
        client(routes).fetch_mentions_page()
