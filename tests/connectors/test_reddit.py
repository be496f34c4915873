"""RedditClient against recorded Reddit exchanges (Betamax cassettes, tests/fixtures/reddit)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest
from pydantic import SecretStr

from connectors import reddit, reddit_payloads
from connectors.errors import RateLimited, Rejected
from tests.cassettes import FIXTURES, RecordedResponse, RouteTable, json_response
from tests.connectors.fakes import Clock

API = "https://oauth.reddit.com"
TOKEN_URL = "https://www.reddit.com/api/v1/access_token"
REFRESH = "refresh-token-that-must-never-leak"
NOW = datetime(2025, 6, 19, 12, 0, tzinfo=UTC)


def betamax(name: str) -> list[tuple[str, str, RecordedResponse]]:
    """``(method, url, response)`` of each recorded interaction (Betamax JSON)."""
    data = json.loads((FIXTURES / "reddit" / name).read_text(encoding="utf-8"))
    out = []
    for interaction in data["interactions"]:
        request, response = interaction["request"], interaction["response"]
        headers = tuple(
            (key, value)
            for key, values in response["headers"].items()
            for value in (values if isinstance(values, list) else [values])
            if key.lower() not in ("content-length", "transfer-encoding", "content-encoding")
        )
        body = response["body"].get("string", "").encode("utf-8")
        out.append(
            (
                request["method"],
                request["uri"],
                RecordedResponse(response["status"]["code"], headers, body),
            )
        )
    return out


MENTIONS = betamax("message_mentions.cassette.json")
INBOX_PAGES = betamax("inbox_pagination_after.cassette.json")
SEARCH_2016 = betamax("search_2016.cassette.json")
POPULAR = betamax("listing_popular_hot_2026.cassette.json")
TOO_MANY = betamax("too_many_requests_retry_after.cassette.json")
TOKEN_TOO_MANY = betamax("too_many_requests_token_endpoint.cassette.json")
USER_ABOUT = betamax("user_about_2025.cassette.json")
TOKEN = MENTIONS[0][2]


def client(
    routes: RouteTable, *, clock: Clock | None = None, **options: Any
) -> reddit.RedditClient:
    clock = clock or Clock(NOW)
    values: dict[str, Any] = {
        "client_id": "sbx-client",
        "client_secret": SecretStr("client-secret-xyz"),
        "secret": SecretStr(REFRESH),
        "user_agent": "python:socialops.reddit-main:1.0 (by /u/northwind)",
        "channel": "reddit-main",
        "backfill_hours": 24 * 365 * 12,
        "transport": routes.transport(),
        **clock.client_options(),
    }
    values.update(options)
    return reddit.RedditClient(**values)


def test_username_mentions_from_the_recorded_inbox() -> None:
    routes = RouteTable().add("POST", TOKEN_URL, TOKEN)
    routes.add("GET", f"{API}/message/mentions", MENTIONS[1][2])
    page = client(routes).fetch_mentions_page(limit=16)
    token_request, listing_request = routes.requests
    assert (
        token_request.headers["authorization"]
        == "Basic " + base64.b64encode(b"sbx-client:client-secret-xyz").decode()
    )
    assert dict(parse_qsl(token_request.content.decode())) == {
        "grant_type": "refresh_token",
        "refresh_token": REFRESH,
    }
    assert listing_request.headers["authorization"] == "bearer <ACCESS_TOKEN>"
    assert listing_request.headers["user-agent"].startswith("python:socialops.")
    assert listing_request.url.params["raw_json"] == "1"
    assert [m.external_id for m in page.mentions] == [
        "t1_ekftbox",
        "t1_ekftage",
        "t1_ekft9ad",
        "t1_ekfncs9",
    ]
    first = page.mentions[0]
    assert first.created_at == datetime.fromtimestamp(1554774308.0, UTC)
    assert first.author_handle == "2Botter2Loop" and first.platform == "reddit"
    assert first.url and first.url.startswith("https://www.reddit.com/r/") and "?" not in first.url
    assert first.thread_id and first.thread_id.startswith("t3_")
    assert first.in_reply_to_id
    assert page.oldest_cursor == "0:t1_ekfncs9"  # Listing.data.after


def test_paging_by_after_skips_private_messages() -> None:
    routes = RouteTable().add("POST", TOKEN_URL, TOKEN)
    routes.add("GET", f"{API}/message/mentions", INBOX_PAGES[1][2], INBOX_PAGES[2][2])
    feed = client(routes)
    first = feed.fetch_mentions_page(limit=100)
    second = feed.fetch_mentions_page(max_id=first.oldest_cursor, limit=100)
    assert routes.requests[-1].url.params["after"] == "t4_22u9cpc"
    assert [m.external_id for m in first.mentions + second.mentions] == ["t1_myngt77", "t1_fx2fxp1"]
    assert {s.reason for s in first.skipped + second.skipped} == {"'t4' is not a comment"}
    assert second.oldest_cursor == "0:t1_fx2fxp1"


@pytest.mark.parametrize("recorded", [SEARCH_2016, POPULAR], ids=["search_2016", "popular_2026"])
def test_search_results_and_current_posts_map_to_mentions(
    recorded: list[tuple[str, str, RecordedResponse]],
) -> None:
    routes = RouteTable().add("POST", TOKEN_URL, recorded[0][2])
    routes.add("GET", f"{API}/message/mentions", json_response(200, _empty_listing()))
    routes.add("GET", f"{API}/search", recorded[1][2])
    feed = client(routes, search=["northwind"])
    page = feed.fetch_mentions_page(limit=25)  # the empty inbox: straight on to search
    request = routes.requests[-1]
    assert (request.url.params["q"], request.url.params["sort"]) == ("northwind", "new")
    children = json.loads(recorded[1][2].content)["data"]["children"]
    assert [m.external_id for m in page.mentions] == [c["data"]["name"] for c in children]
    post = page.mentions[0]
    data = children[0]["data"]
    assert post.text.startswith(data["title"]) and post.thread_id == post.external_id
    assert post.url == "https://www.reddit.com" + data["permalink"]


def test_ratelimit_headers_are_read_as_float_strings_and_seconds() -> None:
    clock = Clock(NOW)
    spent = MENTIONS[1][2].with_headers(
        {"x-ratelimit-remaining": "0.0", "x-ratelimit-used": "1000", "x-ratelimit-reset": "53"}
    )
    routes = RouteTable().add("POST", TOKEN_URL, TOKEN)
    routes.add("GET", f"{API}/message/mentions", spent, json_response(200, _empty_listing()))
    feed = client(routes, clock=clock)
    feed.fetch_mentions_page()
    feed.fetch_mentions_page(max_id="0:t1_ekfncs9")
    assert clock.sleeps == [53.0]


def test_the_recorded_429_page_waits_for_retry_after() -> None:
    clock = Clock(NOW)
    routes = RouteTable().add("POST", TOKEN_URL, TOO_MANY[0][2])
    routes.add("GET", f"{API}/api/v1/me", TOO_MANY[1][2], json_response(200, {"name": "northwind"}))
    assert client(routes, clock=clock).verify_credentials() == {"name": "northwind"}
    assert clock.sleeps == [4.0]


def test_the_recorded_token_endpoint_429_raises_rate_limited_when_too_long() -> None:
    routes = RouteTable().add("POST", TOKEN_URL, TOKEN_TOO_MANY[0][2])
    with pytest.raises(RateLimited, match="HTTP 429"):
        client(routes, max_rate_limit_wait=10).fetch_mentions_page()


def test_json_errors_in_a_200_are_read_before_the_data() -> None:
    body = {
        "json": {
            "errors": [
                ["RATELIMIT", "you are doing that too much. try again in 5 minutes.", "ratelimit"]
            ]
        }
    }
    routes = RouteTable().add("POST", TOKEN_URL, TOKEN)
    routes.add("GET", f"{API}/api/v1/me", json_response(200, body))
    with pytest.raises(RateLimited, match="try again in 5 minutes") as caught:
        client(routes).verify_credentials()
    assert caught.value.reset_at is not None
    assert reddit_payloads.ratelimit_wait("try again in 5 minutes.") == timedelta(minutes=5)
    assert reddit_payloads.ratelimit_wait("try again in 30 seconds") == timedelta(seconds=30)

    other = {"json": {"errors": [["USER_REQUIRED", "Please log in to do that.", None]]}}
    routes = RouteTable().add("POST", TOKEN_URL, TOKEN)
    routes.add("GET", f"{API}/api/v1/me", json_response(200, other))
    with pytest.raises(Rejected, match="USER_REQUIRED: Please log in"):
        client(routes).verify_credentials()


def test_bad_credentials_are_rejected_clearly_and_never_echoed() -> None:
    routes = RouteTable().add("POST", TOKEN_URL, json_response(200, {"error": "invalid_grant"}))
    with pytest.raises(Rejected, match="invalid_grant") as caught:
        client(routes).fetch_mentions_page()
    assert REFRESH not in str(caught.value)


def test_a_script_app_logs_in_with_the_password_grant_and_renews_a_revoked_token() -> None:
    routes = RouteTable().add("POST", TOKEN_URL, USER_ABOUT[0][2], USER_ABOUT[0][2])
    unauthorized = json_response(401, {"message": "Unauthorized", "error": 401})
    routes.add("GET", f"{API}/api/v1/me", unauthorized, json_response(200, {"name": "Lil_SpazBot"}))
    feed = client(routes, username="Lil_SpazBot", client_secret=None)
    assert feed.verify_credentials() == {"name": "Lil_SpazBot"}
    form = dict(parse_qsl(routes.requests[0].content.decode()))
    assert form == {"grant_type": "password", "username": "Lil_SpazBot", "password": REFRESH}
    assert (
        routes.requests[0].headers["authorization"]
        == "Basic " + base64.b64encode(b"sbx-client:").decode()
    )
    assert feed.tokens_fetched == 2


def _empty_listing() -> dict[str, Any]:
    return {"kind": "Listing", "data": {"after": None, "before": None, "dist": 0, "children": []}}
