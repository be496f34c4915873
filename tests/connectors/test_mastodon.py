"""MastodonClient against recorded Mastodon exchanges served through a route table."""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from pydantic import SecretStr

from connectors import mastodon
from connectors.errors import OutcomeUnknown, RateLimited, Rejected, Retryable
from socialops.mentions import InvalidItem, Mention, SkippedItem
from tests.cassettes import (
    FIXTURES,
    RecordedResponse,
    RouteTable,
    UnroutedRequest,
    json_response,
    load_cassette,
)
from tests.connectors.fakes import Clock

BASE = "http://localhost:3000"
NOTIFICATIONS = f"{BASE}/api/v1/notifications"
STATUSES = f"{BASE}/api/v1/statuses"
TOKEN = "tok3n-that-must-never-leak-0123456789"
NOW = datetime(2026, 8, 1, 13, 51, 40, tzinfo=UTC)

MENTIONS_ONLY = load_cassette("mastodon/notifications_mentions_only.cassette.yaml")
MASTODON_SOCIAL = load_cassette("mastodon/notifications_mastodon_social.cassette.yaml")
REMOTE_STATUSES = load_cassette("mastodon/status_remote_mastodon_social.cassette.yaml")
TAG_PAGES = load_cassette("mastodon/timeline_tag_pagination.cassette.yaml")
STATUS_REPLY = load_cassette("mastodon/status_reply.cassette.yaml")

MENTION_PAGE = MENTIONS_ONLY.response("GET", f"{NOTIFICATIONS}?types%5B%5D=mention")
SOCIAL_PAGE = MASTODON_SOCIAL.response("GET", "https://mastodon.social/api/v1/notifications")
ERROR_429 = json.loads((FIXTURES / "mastodon/docs_error_429_example.json").read_text())


@pytest.fixture
def routes() -> RouteTable:
    return RouteTable()


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def client(routes: RouteTable, clock: Clock) -> Iterator[mastodon.MastodonClient]:
    with make_client(routes, clock) as client:
        yield client


def make_client(
    routes: RouteTable, clock: Clock, *, base_url: str = BASE, **options: Any
) -> mastodon.MastodonClient:
    return mastodon.MastodonClient(
        base_url=base_url,
        token=SecretStr(TOKEN),
        channel="support",
        transport=routes.transport(),
        **clock.client_options(jitter=0.5),  # backoff = 0.2 * 2**(n-1) * 1.5
        **options,
    )


def rate_limited(reset_at: datetime | None = None, **headers: str) -> RecordedResponse:
    """A 429 as Mastodon's rack_attack sends it: no Retry-After, reset as an ISO time."""
    all_headers = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", **headers}
    if reset_at is not None:
        all_headers["X-RateLimit-Reset"] = reset_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return json_response(429, ERROR_429, all_headers)


def raising(exc_type: type[httpx.TransportError]) -> Callable[[httpx.Request], httpx.Response]:
    def respond(request: httpx.Request) -> httpx.Response:
        raise exc_type("simulated", request=request)

    return respond


def notification_with(status: dict[str, Any], notification_id: str = "1") -> dict[str, Any]:
    """Wrap a recorded Status in a mention notification (the wrapper is ours, the status real)."""
    return {
        "id": notification_id,
        "type": "mention",
        "created_at": status["created_at"],
        "account": status["account"],
        "status": status,
    }


def query(request: httpx.Request) -> list[tuple[str, str]]:
    return list(request.url.params.multi_items())


# --- parsing real payloads -----------------------------------------------------------------


def test_mentions_page_from_a_local_mastodon(
    client: mastodon.MastodonClient, routes: RouteTable
) -> None:
    routes.add("GET", NOTIFICATIONS, MENTION_PAGE)

    page = client.fetch_mentions_page()

    [request] = routes.requests
    assert request.url.path == "/api/v1/notifications"
    assert query(request) == [("types[]", "mention"), ("limit", "80")]
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert page.direction == "older"
    assert (page.newest_cursor, page.oldest_cursor) == ("21", "21")
    assert page.oldest_created_at == datetime(2026, 8, 1, 13, 51, 43, 458000, tzinfo=UTC)
    assert page.invalid == [] and page.skipped == []
    assert page.mentions == [
        Mention(
            platform="mastodon",
            external_id="117020577157693549",
            channel="support",
            url="http://localhost:3000/@admin/117020577157693549",
            author_handle="admin",
            author_display_name=None,  # recorded as ""
            author_followers=1,
            text="@mastodonpy_test hello!",
            lang="en",
            created_at=datetime(2026, 8, 1, 13, 51, 42, 823000, tzinfo=UTC),
            thread_id="117020577157693549",
            in_reply_to_id=None,
            visibility="public",
            raw=MENTION_PAGE.json()[0],  # the notification as received
        )
    ]


def test_production_page_skips_null_statuses_and_keeps_the_dm(
    client: mastodon.MastodonClient, routes: RouteTable
) -> None:
    routes.add("GET", NOTIFICATIONS, SOCIAL_PAGE)

    page = client.fetch_mentions_page()

    assert page.skipped == [
        SkippedItem(cursor=cursor, reason="status is null (deleted or not visible to this account)")
        for cursor in ("550622655", "550455231", "550262550", "541461666")
    ]
    assert page.invalid == []
    [dm] = page.mentions
    assert dm.external_id == "116275331587890092"
    assert dm.visibility == "direct"
    assert dm.author_handle == "latencyobs@icosahedron.website"
    assert dm.author_display_name == "Latency Observer"
    assert dm.author_followers == 0
    assert dm.url == "https://icosahedron.website/@latencyobs/116275331526178516"
    assert dm.text.startswith("@halcy@mastodon.social @halcy@glitch.social @halcy@hachyderm.io ")
    assert dm.created_at == datetime(2026, 3, 22, 23, 5, 57, tzinfo=UTC)
    # Cursors are notification ids from the Link header, not status ids.
    assert (page.newest_cursor, page.oldest_cursor) == ("550622655", "541461666")
    assert page.oldest_created_at == datetime(2026, 3, 22, 14, 33, 25, 228000, tzinfo=UTC)
    assert page.item_count == 5


def test_federated_status_with_content_warning_emoji_and_hashtag() -> None:
    status = REMOTE_STATUSES.interactions[0].response.json()
    mention = mastodon.to_mention(
        mastodon.Notification.model_validate(notification_with(status)),
        channel="support",
        raw=notification_with(status),
    )
    assert mention.text == (
        "CW: test post for mastodon.py stuff\n\n"
        "@halcy you're a doo-doo head\n\n"
        "edit: editing this to have the maximum amount of fields filled :trans_heart: "
        "#ThisIsAHashtag"
    )
    assert mention.author_handle == "halcy@icosahedron.website"
    assert mention.author_display_name == "halcy\u200b :icosahedron:"
    assert mention.author_followers == 3553
    assert mention.lang == "de"
    assert mention.url == "https://icosahedron.website/@halcy/110446222386355655"
    assert mention.created_at == datetime(2023, 5, 28, 12, 6, 50, tzinfo=UTC)
    assert mention.thread_id == "110446223051565765"


def test_status_without_content_warning_has_no_prefix() -> None:
    status = REMOTE_STATUSES.interactions[1].response.json()
    notification = notification_with(status)
    mention = mastodon.to_mention(
        mastodon.Notification.model_validate(notification), channel="c", raw=notification
    )
    assert mention.text == "test?"
    assert mention.created_at == datetime(2023, 5, 28, 11, 57, 0, 378000, tzinfo=UTC)


def test_documentation_example_status() -> None:
    status = json.loads((FIXTURES / "mastodon/docs_entity_status_example.json").read_text())
    notification = notification_with(status)
    mention = mastodon.to_mention(
        mastodon.Notification.model_validate(notification), channel="c", raw=notification
    )
    assert mention.author_handle == "Gargron"
    assert mention.author_followers == 322930
    assert mention.url == "https://mastodon.social/@Gargron/103270115826048975"
    assert mention.text.endswith(
        "\n\nhttps://www.theguardian.com/money/2019/dec/07/"
        "i-lost-my-193000-inheritance-with-one-wrong-digit-on-my-sort-code"
    )
    assert mention.raw.value() == notification  # kept whole, as received


def test_content_warning_on_a_media_only_status() -> None:
    notification = copy.deepcopy(MENTION_PAGE.json()[0])
    notification["status"].update(content="", spoiler_text="  spiders  ")
    mention = mastodon.to_mention(
        mastodon.Notification.model_validate(notification), channel="c", raw=notification
    )
    assert mention.text == "CW: spiders"


def test_reply_has_no_thread_id_until_the_context_is_fetched() -> None:
    reply = STATUS_REPLY.interactions[2].response.json()
    notification = notification_with(reply)
    mention = mastodon.to_mention(
        mastodon.Notification.model_validate(notification), channel="c", raw=notification
    )
    assert mention.in_reply_to_id == "117020583245459824"
    assert mention.thread_id is None
    assert mention.text == "@mastodonpy_test_2 same!"


def test_url_falls_back_to_uri_and_bad_created_at_becomes_none() -> None:
    notification = copy.deepcopy(MENTION_PAGE.json()[0])
    notification["status"]["url"] = None
    notification["status"]["created_at"] = "yesterday"
    mention = mastodon.to_mention(
        mastodon.Notification.model_validate(notification), channel="c", raw=notification
    )
    assert (
        mention.url
        == "http://localhost:3000/ap/users/117020565693913441/statuses/117020577157693549"
    )
    assert mention.created_at is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-08-01T13:51:42.823Z", datetime(2026, 8, 1, 13, 51, 42, 823000, tzinfo=UTC)),
        ("2026-08-01T15:00:00.869078Z", datetime(2026, 8, 1, 15, 0, 0, 869078, tzinfo=UTC)),
        ("2019-07-15T18:29:57.191+00:00", datetime(2019, 7, 15, 18, 29, 57, 191000, tzinfo=UTC)),
        ("2026-08-01T15:00:00+02:00", datetime(2026, 8, 1, 13, 0, 0, tzinfo=UTC)),
        ("2026-08-01", None),  # account.last_status_at: a date, not a timestamp
        ("2026-08-01T13:51:42", None),  # no offset
        ("2026-13-01T00:00:00Z", None),
        ("yesterday", None),
        ("", None),
        (None, None),
        (1754056302, None),
    ],
)
def test_parse_rfc3339(value: object, expected: datetime | None) -> None:
    assert mastodon.parse_rfc3339(value) == expected


# --- pagination ------------------------------------------------------------------------------


def test_recorded_link_headers_name_the_oldest_and_newest_item() -> None:
    for interaction in TAG_PAGES.interactions[:3]:
        ids = [status["id"] for status in interaction.response.json()]
        links = mastodon.parse_link_header(interaction.response.header("link"))
        assert set(links) == {"next", "prev"}
        assert httpx.URL(links["next"]).params["max_id"] == ids[-1]
        assert httpx.URL(links["prev"]).params["min_id"] == ids[0]
        assert httpx.URL(links["next"]).params["limit"] == "10"


def test_parse_link_header_edge_cases() -> None:
    assert mastodon.parse_link_header(None) == {}
    assert mastodon.parse_link_header("") == {}
    assert mastodon.parse_link_header('<https://a.test/x?max_id=5>; rel="next"') == {
        "next": "https://a.test/x?max_id=5"
    }
    assert mastodon.parse_link_header("<https://a.test/p?a=1,2>;rel=prev") == {
        "prev": "https://a.test/p?a=1,2"
    }


def test_empty_last_page_without_link_header(
    client: mastodon.MastodonClient, routes: RouteTable
) -> None:
    last_page = TAG_PAGES.interactions[3].response  # the recorded `[]`, no Link header
    assert last_page.header("link") is None
    routes.add("GET", NOTIFICATIONS, last_page)

    page = client.fetch_mentions_page(max_id="541461666")

    assert page.is_empty
    assert (page.newest_cursor, page.oldest_cursor, page.oldest_created_at) == (None, None, None)
    assert page.direction == "older"
    assert ("max_id", "541461666") in query(routes.requests[0])


def test_nothing_newer(client: mastodon.MastodonClient, routes: RouteTable) -> None:
    routes.add("GET", NOTIFICATIONS, TAG_PAGES.interactions[4].response)

    page = client.fetch_mentions_page(min_id="550622655")

    assert page.is_empty and page.direction == "newer"
    assert page.newest_cursor is None
    assert query(routes.requests[0]) == [
        ("types[]", "mention"),
        ("limit", "80"),
        ("min_id", "550622655"),
    ]


def test_without_link_header_cursors_fall_back_to_first_and_last_item(
    client: mastodon.MastodonClient, routes: RouteTable
) -> None:
    routes.add("GET", NOTIFICATIONS, SOCIAL_PAGE.without_headers("link"))

    page = client.fetch_mentions_page()

    assert (page.newest_cursor, page.oldest_cursor) == ("550622655", "541461666")


def test_cursor_fallback_uses_positions_never_numeric_order() -> None:
    base = MENTION_PAGE.json()[0]
    items = [dict(base, id="10"), dict(base, id="9")]  # as ints 10 > 9, as strings "9" > "10"
    page = mastodon.map_notifications_page(items, channel="c")
    assert (page.newest_cursor, page.oldest_cursor) == ("10", "9")
    ulids = [
        dict(base, id="01M89W224RZDG88ZN29DQ7CMYK"),
        dict(base, id="01M89W1Z00000000000000000"),
    ]
    page = mastodon.map_notifications_page(ulids, channel="c")
    assert (page.newest_cursor, page.oldest_cursor) == (ulids[0]["id"], ulids[1]["id"])


def test_oldest_created_at_falls_back_to_the_status_time() -> None:
    oldest = copy.deepcopy(MENTION_PAGE.json()[0])
    del oldest["created_at"]  # the notification's own time is missing: use the status's
    page = mastodon.map_notifications_page([MENTION_PAGE.json()[0], oldest], channel="c")
    assert page.oldest_created_at == datetime(2026, 8, 1, 13, 51, 42, 823000, tzinfo=UTC)


def test_link_header_wins_over_item_ids() -> None:
    items = [dict(MENTION_PAGE.json()[0], id="30")]
    link = (
        f'<{NOTIFICATIONS}?max_id=25&types%5B%5D=mention>; rel="next", '
        f'<{NOTIFICATIONS}?min_id=31&types%5B%5D=mention>; rel="prev"'
    )
    page = mastodon.map_notifications_page(items, channel="c", link_header=link)
    assert (page.newest_cursor, page.oldest_cursor) == ("31", "25")


def test_paging_parameters(client: mastodon.MastodonClient, routes: RouteTable) -> None:
    routes.add("GET", NOTIFICATIONS, MENTION_PAGE, MENTION_PAGE)

    older = client.fetch_mentions_page(max_id="21", limit=500)
    newer = client.fetch_mentions_page(min_id="21", limit=5)

    assert query(routes.requests[0]) == [("types[]", "mention"), ("limit", "80"), ("max_id", "21")]
    assert query(routes.requests[1]) == [("types[]", "mention"), ("limit", "5"), ("min_id", "21")]
    assert (older.direction, newer.direction) == ("older", "newer")
    with pytest.raises(ValueError, match="not both"):
        client.fetch_mentions_page(max_id="1", min_id="2")


def test_base_url_path_prefix_is_kept(routes: RouteTable, clock: Clock) -> None:
    prefixed = "http://127.0.0.1:8787/i/support"
    routes.add("GET", f"{prefixed}/api/v1/notifications", MENTION_PAGE)
    with make_client(routes, clock, base_url=prefixed) as client:
        page = client.fetch_mentions_page()
    assert routes.requests[0].url.path == "/i/support/api/v1/notifications"
    assert len(page.mentions) == 1


def test_unrouted_request_fails_the_test(client: mastodon.MastodonClient) -> None:
    with pytest.raises(UnroutedRequest, match="no route for GET"):
        client.fetch_mentions_page()


# --- invalid items ---------------------------------------------------------------------------


def test_invalid_items_are_quarantined_while_the_rest_maps(
    client: mastodon.MastodonClient, routes: RouteTable
) -> None:
    good = MENTION_PAGE.json()[0]
    no_account = copy.deepcopy(good)
    no_account["id"] = "20"
    del no_account["status"]["account"]
    bad_types = copy.deepcopy(good)
    bad_types["id"] = "19"
    bad_types["status"]["id"] = 42
    bad_types["status"]["mentions"] = [{"id": "1", "username": "x"}]
    no_id = {key: value for key, value in good.items() if key != "id"}
    follow = {"id": "18", "type": "follow", "account": good["account"], "status": None}
    bad_date = copy.deepcopy(good)
    bad_date["id"] = "17"
    bad_date["created_at"] = "not a date"
    bad_date["status"]["created_at"] = "2026-02-30T00:00:00Z"
    items = [good, no_account, "oops", bad_types, no_id, follow, None, bad_date]
    routes.add("GET", NOTIFICATIONS, json_response(200, items))

    page = client.fetch_mentions_page()

    assert [m.external_id for m in page.mentions] == ["117020577157693549", "117020577157693549"]
    assert page.mentions[1].created_at is None  # for the quality suite to quarantine
    assert page.invalid == [
        InvalidItem(raw=no_account, reason="status.account: field required"),
        InvalidItem(raw="oops", reason="item is not a JSON object (got string)"),
        InvalidItem(
            raw=bad_types,
            reason="status.id: input should be a valid string; "
            "status.mentions[0].acct: field required",
        ),
        InvalidItem(raw=no_id, reason="id: field required"),
        InvalidItem(raw=None, reason="item is not a JSON object (got null)"),
    ]
    assert page.skipped == [
        SkippedItem(cursor="18", reason="notification type 'follow' is not a mention")
    ]
    assert (page.newest_cursor, page.oldest_cursor) == ("21", "17")
    # The oldest item's dates are both unparseable: the next one up has one.
    assert page.oldest_created_at == datetime(2026, 8, 1, 13, 51, 43, 458000, tzinfo=UTC)


# --- rate limits -----------------------------------------------------------------------------


def test_spent_quota_waits_for_the_reset_before_the_next_request(
    client: mastodon.MastodonClient, routes: RouteTable, clock: Clock
) -> None:
    spent = MENTION_PAGE.with_headers(
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "2026-08-01T13:52:10.500000Z"}
    )
    routes.add("GET", NOTIFICATIONS, spent, MENTION_PAGE, MENTION_PAGE)

    client.fetch_mentions_page()
    assert clock.sleeps == []  # the response that spent the quota is used as is
    client.fetch_mentions_page()
    assert clock.sleeps == [31.5]  # the reset plus a second: servers round it down
    client.fetch_mentions_page()  # remaining 299 again: no wait
    assert clock.sleeps == [31.5]


def test_spent_quota_with_a_far_reset_raises_without_sending(
    client: mastodon.MastodonClient, routes: RouteTable, clock: Clock
) -> None:
    reset = NOW + timedelta(minutes=5)
    spent = MENTION_PAGE.with_headers(
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset.isoformat()}
    )
    routes.add("GET", NOTIFICATIONS, spent)
    client.fetch_mentions_page()

    with pytest.raises(RateLimited) as caught:
        client.fetch_mentions_page()

    assert caught.value.reset_at == reset + mastodon.RESET_MARGIN
    assert len(routes.requests) == 1 and clock.sleeps == []


def test_429_waits_until_the_reset_then_succeeds(
    client: mastodon.MastodonClient, routes: RouteTable, clock: Clock
) -> None:
    routes.add("GET", NOTIFICATIONS, rate_limited(NOW + timedelta(seconds=45)), MENTION_PAGE)

    page = client.fetch_mentions_page()

    assert clock.sleeps == [46.0]  # a second past the reset, which servers round down
    assert len(page.mentions) == 1 and len(routes.requests) == 2


@pytest.mark.parametrize(
    ("response", "wait"),
    [
        (rate_limited(None, **{"Retry-After": "7"}), 7.0),
        (rate_limited(None), 60.0),
        (rate_limited(NOW + timedelta(seconds=20), **{"Retry-After": "30"}), 30.0),
        (rate_limited(NOW - timedelta(seconds=3)), 1.0),  # reset already past: clock skew
    ],
)
def test_429_wait_without_reset_or_with_retry_after(
    client: mastodon.MastodonClient,
    routes: RouteTable,
    clock: Clock,
    response: RecordedResponse,
    wait: float,
) -> None:
    routes.add("GET", NOTIFICATIONS, response, MENTION_PAGE)
    client.fetch_mentions_page()
    assert clock.sleeps == [wait]


def test_429_with_a_reset_too_far_raises_rate_limited(
    client: mastodon.MastodonClient, routes: RouteTable, clock: Clock
) -> None:
    reset = NOW + timedelta(minutes=10)
    routes.add("GET", NOTIFICATIONS, rate_limited(reset))

    with pytest.raises(RateLimited, match="HTTP 429") as caught:
        client.fetch_mentions_page()

    assert caught.value.reset_at == reset + mastodon.RESET_MARGIN
    assert clock.sleeps == []


def test_429_waits_are_bounded_per_call(
    client: mastodon.MastodonClient, routes: RouteTable, clock: Clock
) -> None:
    def always_limited(request: httpx.Request) -> httpx.Response:
        return rate_limited(clock.now() + timedelta(seconds=10))(request)

    routes.add("GET", NOTIFICATIONS, *[always_limited] * 6)

    with pytest.raises(RateLimited, match="after 5 waits"):
        client.fetch_mentions_page()

    assert clock.sleeps == [11.0] * 5
    assert routes.unused == 0


# --- transient failures ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (json_response(503, {"error": "Service Unavailable"}), "HTTP 503"),
        (RecordedResponse(500, (("content-type", "text/html"),), b"<h1>oops</h1>"), "HTTP 500"),
        (raising(httpx.ReadTimeout), "timed out (ReadTimeout)"),
        (raising(httpx.ConnectError), "could not connect (ConnectError)"),
        (raising(httpx.RemoteProtocolError), "connection failed (RemoteProtocolError)"),
        (
            MENTION_PAGE.with_content(MENTION_PAGE.content[: len(MENTION_PAGE.content) // 2]),
            "HTTP 200 with an unreadable body",
        ),
        (json_response(200, {"error": "odd"}), "expected a JSON array of notifications"),
    ],
)
def test_transient_failures_are_retried_then_retryable(
    client: mastodon.MastodonClient,
    routes: RouteTable,
    clock: Clock,
    failure: Callable[[httpx.Request], httpx.Response],
    message: str,
) -> None:
    routes.add("GET", NOTIFICATIONS, failure, failure, failure)

    with pytest.raises(Retryable, match=re.escape(message)) as caught:
        client.fetch_mentions_page()

    assert "(3 attempts)" in str(caught.value)
    assert len(routes.requests) == 3
    assert clock.sleeps == pytest.approx([0.3, 0.6])


def test_a_transient_failure_then_success(
    client: mastodon.MastodonClient, routes: RouteTable, clock: Clock
) -> None:
    routes.add(
        "GET", NOTIFICATIONS, json_response(502, {}), raising(httpx.ReadTimeout), MENTION_PAGE
    )

    page = client.fetch_mentions_page()

    assert len(page.mentions) == 1
    assert clock.sleeps == pytest.approx([0.3, 0.6])


def test_get_attempts_is_configurable(routes: RouteTable, clock: Clock) -> None:
    routes.add("GET", NOTIFICATIONS, json_response(503, {}))
    with make_client(routes, clock, get_attempts=1) as client, pytest.raises(Retryable):
        client.fetch_mentions_page()
    assert clock.sleeps == []


# --- rejections ------------------------------------------------------------------------------


def test_404_is_rejected_with_mastodons_error(
    client: mastodon.MastodonClient, routes: RouteTable, clock: Clock
) -> None:
    routes.add("GET", NOTIFICATIONS, json_response(404, {"error": "Record not found"}))

    with pytest.raises(Rejected) as caught:
        client.fetch_mentions_page()

    assert caught.value.status_code == 404
    assert str(caught.value) == (
        "GET /api/v1/notifications: HTTP 404: not found (gone, or base_url is not a Mastodon "
        'API) (Mastodon said: "Record not found")'
    )
    assert len(routes.requests) == 1 and clock.sleeps == []


def test_401_names_the_token_and_the_scope(
    client: mastodon.MastodonClient, routes: RouteTable
) -> None:
    routes.add("GET", NOTIFICATIONS, json_response(401, {"error": "The access token is invalid"}))

    with pytest.raises(Rejected) as caught:
        client.fetch_mentions_page()

    assert caught.value.status_code == 401
    assert str(caught.value) == (
        "GET /api/v1/notifications: HTTP 401: the access token is invalid or revoked, or lacks "
        'the read:notifications scope (Mastodon said: "The access token is invalid")'
    )


def test_403_on_verify_credentials_names_its_scope(
    client: mastodon.MastodonClient, routes: RouteTable
) -> None:
    routes.add(
        "GET",
        f"{BASE}/api/v1/accounts/verify_credentials",
        json_response(403, {"error": "This action is outside the authorized scopes"}),
    )
    with pytest.raises(Rejected, match="lacks the read:accounts scope") as caught:
        client.verify_credentials()
    assert caught.value.status_code == 403


def test_verify_credentials(client: mastodon.MastodonClient, routes: RouteTable) -> None:
    routes.add(
        "GET",
        f"{BASE}/api/v1/accounts/verify_credentials",
        STATUS_REPLY.response("GET", f"{BASE}/api/v1/accounts/verify_credentials"),
    )
    account = client.verify_credentials()
    assert (account.id, account.acct, account.followers_count) == ("117020565693913441", "admin", 0)


# --- posting ---------------------------------------------------------------------------------


def test_post_reply_sends_form_and_idempotency_key(
    client: mastodon.MastodonClient, routes: RouteTable
) -> None:
    recorded = STATUS_REPLY.interactions[2]
    routes.add("POST", STATUSES, recorded.response)

    status = client.post_status(
        text="@mastodonpy_test_2 same!",
        idempotency_key="reply-117020583245459824-v1",
        in_reply_to_id="117020583245459824",
    )

    [request] = routes.requests
    assert request.headers["idempotency-key"] == "reply-117020583245459824-v1"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert dict(parse_qsl(request.content.decode())) == {
        "status": "@mastodonpy_test_2 same!",
        "visibility": "public",
        "in_reply_to_id": "117020583245459824",
    }
    # The fields Mastodon.py recorded, minus its empty spoiler_text.
    recorded_form = dict(parse_qsl(str(recorded.request_body), keep_blank_values=True))
    assert {k: v for k, v in recorded_form.items() if v} == dict(
        parse_qsl(request.content.decode())
    )
    assert status.id == "117020583258292382"
    assert status.in_reply_to_id == "117020583245459824"


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (raising(httpx.ReadTimeout), "timed out (ReadTimeout)"),
        (raising(httpx.WriteTimeout), "timed out (WriteTimeout)"),
        (raising(httpx.RemoteProtocolError), "connection failed (RemoteProtocolError)"),
        (json_response(502, {}), "HTTP 502"),
        (RecordedResponse(200, (), b'{"id": "1", "cont'), "HTTP 200 with an unreadable body"),
    ],
)
def test_post_failures_are_outcome_unknown_and_never_retried(
    client: mastodon.MastodonClient,
    routes: RouteTable,
    clock: Clock,
    failure: Callable[[httpx.Request], httpx.Response],
    message: str,
) -> None:
    routes.add("POST", STATUSES, failure)

    with pytest.raises(OutcomeUnknown, match=re.escape(message)) as caught:
        client.post_status(text="hi", idempotency_key="k1")

    assert "may or may not have been posted" in str(caught.value)
    assert len(routes.requests) == 1 and clock.sleeps == []


def test_post_that_could_not_connect_is_retryable(
    client: mastodon.MastodonClient, routes: RouteTable
) -> None:
    routes.add("POST", STATUSES, raising(httpx.ConnectError))
    with pytest.raises(Retryable, match="could not connect"):
        client.post_status(text="hi", idempotency_key="k1")
    assert len(routes.requests) == 1


def test_post_429_is_rate_limited_without_waiting(
    client: mastodon.MastodonClient, routes: RouteTable, clock: Clock
) -> None:
    reset = NOW + timedelta(seconds=30)
    routes.add("POST", STATUSES, rate_limited(reset))

    with pytest.raises(RateLimited) as caught:
        client.post_status(text="hi", idempotency_key="k1")

    assert caught.value.reset_at == reset + mastodon.RESET_MARGIN
    assert clock.sleeps == [] and len(routes.requests) == 1


def test_post_422_is_rejected(client: mastodon.MastodonClient, routes: RouteTable) -> None:
    routes.add(
        "POST", STATUSES, json_response(422, {"error": "Validation failed: Text can't be blank"})
    )
    with pytest.raises(Rejected, match="Validation failed: Text can't be blank") as caught:
        client.post_status(text="", idempotency_key="k1")
    assert caught.value.status_code == 422


def test_post_arguments_are_checked_before_sending(
    client: mastodon.MastodonClient, routes: RouteTable
) -> None:
    with pytest.raises(ValueError, match="visibility must be one of"):
        client.post_status(text="hi", idempotency_key="k1", visibility="everyone")
    with pytest.raises(ValueError, match="idempotency_key"):
        client.post_status(text="hi", idempotency_key="")
    assert routes.requests == []


# --- the token never leaks -------------------------------------------------------------------


def test_repr_hides_the_token(client: mastodon.MastodonClient) -> None:
    assert TOKEN not in repr(client) and TOKEN not in str(client)
    assert repr(client) == (
        "MastodonClient(base_url='http://localhost:3000', channel='support', "
        "token=SecretStr('**********'))"
    )


def test_token_is_not_in_errors_or_logs(
    client: mastodon.MastodonClient,
    routes: RouteTable,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    echoing = json_response(401, {"error": f"Bearer {TOKEN} is not valid"})
    routes.add("GET", NOTIFICATIONS, echoing, rate_limited(None), *[json_response(503, {})] * 3)
    routes.add("POST", STATUSES, raising(httpx.ReadTimeout), json_response(500, f"echo {TOKEN}"))
    failures: list[Exception] = []
    for call in (
        client.fetch_mentions_page,
        client.fetch_mentions_page,
        lambda: client.post_status(text="hi", idempotency_key="k"),
        lambda: client.post_status(text="hi", idempotency_key="k"),
    ):
        with pytest.raises((Rejected, Retryable, OutcomeUnknown)) as caught:
            call()
        failures.append(caught.value)

    assert "**********" in str(failures[0])  # the echoed token was redacted
    for failure in failures:
        assert TOKEN not in str(failure) and TOKEN not in repr(failure)
    assert caplog.records and TOKEN not in caplog.text


def test_token_unfit_for_a_header_is_refused_without_echoing_it() -> None:
    bad = "abc\r\nX-Injected: 1"
    with pytest.raises(ValueError, match="token") as caught:
        mastodon.MastodonClient(base_url=BASE, token=SecretStr(bad), channel="c")
    assert bad not in str(caught.value)


def test_closed_client_refuses_requests(routes: RouteTable, clock: Clock) -> None:
    client = make_client(routes, clock)
    with client:
        pass
    with pytest.raises(RuntimeError):
        client.fetch_mentions_page()
    assert routes.requests == []


# --- what cannot succeed is not retried; what is shown is safe ------------------------------


@pytest.mark.parametrize(
    "page",
    [
        RecordedResponse(
            200, (("content-type", "text/html; charset=utf-8"),), b"<!doctype html><h1>Hi"
        ),
        RecordedResponse(200, (), b"\n<html><body>parked domain</body></html>"),
    ],
)
def test_a_web_page_answering_200_is_rejected_at_once_naming_type_and_base_url(
    client: mastodon.MastodonClient, routes: RouteTable, clock: Clock, page: RecordedResponse
) -> None:
    routes.add("GET", NOTIFICATIONS, page)

    with pytest.raises(Rejected) as caught:
        client.fetch_mentions_page()

    message = str(caught.value)
    assert "HTTP 200 with" in message and BASE in message and "check base_url" in message
    assert ("text/html" in message) == (page.headers != ())
    assert len(routes.requests) == 1 and clock.sleeps == []  # asked once, never again


def test_a_5xx_names_its_content_type(client: mastodon.MastodonClient, routes: RouteTable) -> None:
    bad_gateway = RecordedResponse(502, (("content-type", "text/html"),), b"<h1>502</h1>")
    routes.add("GET", NOTIFICATIONS, bad_gateway, bad_gateway, bad_gateway)
    with pytest.raises(Retryable, match=re.escape("HTTP 502 (text/html) (3 attempts)")):
        client.fetch_mentions_page()


def test_the_platforms_error_message_is_shown_without_control_characters(
    client: mastodon.MastodonClient, routes: RouteTable
) -> None:
    hostile = "\x1b]0;pwned\x07\x1b[31mThe access token\x9b2J is invalid\r"
    routes.add("GET", NOTIFICATIONS, json_response(401, {"error": hostile}))
    with pytest.raises(Rejected) as caught:
        client.fetch_mentions_page()
    message = str(caught.value)
    assert "The access token" in message and "is invalid" in message
    assert all(ch in "\n\t" or not (ord(ch) < 32 or 127 <= ord(ch) < 160) for ch in message)
    assert "\u241b]0;pwned" in message  # shown as a picture of ESC, not obeyed


def test_the_link_header_host_is_never_followed(
    client: mastodon.MastodonClient, routes: RouteTable
) -> None:
    """Only the cursor is taken from a Link header: the next request goes to base_url."""
    evil = MENTION_PAGE.with_headers(
        {
            "link": '<https://evil.example/api/v1/notifications?max_id=5>; rel="next", '
            '<https://evil.example/api/v1/notifications?min_id=9>; rel="prev"'
        }
    )
    routes.add("GET", NOTIFICATIONS, evil)
    page = client.fetch_mentions_page()
    assert (page.oldest_cursor, page.newest_cursor) == ("5", "9")
    routes.add("GET", f"{NOTIFICATIONS}?types%5B%5D=mention&limit=80&max_id=5", MENTION_PAGE)
    client.fetch_mentions_page(max_id="5")
    assert {r.url.host for r in routes.requests} == {"localhost"}


def test_a_redirect_to_another_origin_is_refused(
    client: mastodon.MastodonClient, routes: RouteTable
) -> None:
    moved = RecordedResponse(302, (("location", "https://evil.example/api/v1/notifications"),), b"")
    routes.add("GET", NOTIFICATIONS, moved)
    with pytest.raises(Rejected, match=re.escape("redirected to https://evil.example")) as caught:
        client.fetch_mentions_page()
    assert caught.value.status_code == 302 and len(routes.requests) == 1
