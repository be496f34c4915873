"""XClient against recorded X API v2 payloads (tests/fixtures/x), and its cost guard."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr

from connectors import x, x_payloads
from connectors.errors import RateLimited, Rejected
from connectors.state import MemoryStateStore
from tests.cassettes import FIXTURES, RouteTable, UnroutedRequest, json_response, load_cassette
from tests.connectors.fakes import Clock

BASE = "https://api.twitter.com"
USER = "783214"
MENTIONS = f"{BASE}/2/users/{USER}/mentions"
TOKEN = "x-bearer-token-that-must-never-leak"
NOW = datetime(2022, 10, 8, 0, 0, tzinfo=UTC)


def body(name: str) -> Any:
    return json.loads((FIXTURES / "x" / name).read_text(encoding="utf-8"))


WITH_EXPANSIONS = body("search_recent_with_expansions.pytwitter.json")
WITH_FIELDS = body("users_mentions_with_fields.pytwitter.json")
TWEEPY_BODY = body("tweepy_users_mentions.body.json")
GZIPPED = load_cassette("x/tweepy_test_client_get_users_mentions.cassette.yaml")
DECODED = load_cassette("x/tweepy_test_asyncclient_get_users_mentions.cassette.yaml")


def client(
    routes: RouteTable,
    *,
    store: MemoryStateStore | None = None,
    clock: Clock | None = None,
    **options: Any,
) -> x.XClient:
    clock = clock or Clock(NOW)
    return x.XClient(
        base_url=BASE,
        token=SecretStr(TOKEN),
        user_id=USER,
        channel="x-main",
        store=store if store is not None else MemoryStateStore(),
        backfill_hours=24 * 365 * 3,
        transport=routes.transport(),
        **clock.client_options(),
        **options,
    )


def test_mentions_with_expansions_fill_the_author_from_includes() -> None:
    routes = RouteTable().add("GET", MENTIONS, json_response(200, WITH_EXPANSIONS))
    page = client(routes).fetch_mentions_page(limit=80)
    params = routes.requests[0].url.params
    assert params["expansions"] == "author_id"
    assert "public_metrics" in params["user.fields"] and "created_at" in params["tweet.fields"]
    assert params["max_results"] == "80" and "start_time" in params
    assert routes.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert len(page.mentions) == len(WITH_EXPANSIONS["data"])
    first = page.mentions[0]
    tweet = WITH_EXPANSIONS["data"][0]
    user = next(u for u in WITH_EXPANSIONS["includes"]["users"] if u["id"] == tweet["author_id"])
    assert first.external_id == tweet["id"] and first.author_handle == user["username"]
    assert first.author_display_name == "Emily Waligoske 🏕"
    assert first.url == f"https://x.com/{user['username']}/status/{tweet['id']}"
    assert first.created_at == datetime(2020, 6, 25, 6, 14, 19, tzinfo=UTC)
    assert first.author_followers == user.get("public_metrics", {}).get("followers_count")
    replies = [m for m in page.mentions if m.in_reply_to_id]
    assert replies  # referenced_tweets replied_to
    assert page.newest_cursor == WITH_EXPANSIONS["meta"]["newest_id"]
    assert page.oldest_cursor == "end"  # no next_token: no request for an empty page
    assert client(RouteTable()).fetch_mentions_page(max_id="end").is_empty


@pytest.mark.parametrize(
    "recorded",
    [
        GZIPPED.response("GET", MENTIONS),
        DECODED.response("GET", MENTIONS),
        json_response(200, TWEEPY_BODY),
        json_response(200, WITH_FIELDS),
    ],
    ids=["tweepy-gzip", "tweepy-decoded", "tweepy-body", "pytwitter-fields"],
)
def test_mentions_without_expansions_are_quarantined_with_the_reason(recorded: Any) -> None:
    routes = RouteTable().add("GET", MENTIONS, recorded)
    page = client(routes).fetch_mentions_page(limit=10)
    raw = json.loads(recorded.content) if not recorded.header("content-encoding") else None
    assert not page.mentions and page.invalid
    assert {i.reason for i in page.invalid} == {"author_id: missing (request expansions=author_id)"}
    if raw is not None:
        assert page.newest_cursor == raw["meta"]["newest_id"]
        assert page.oldest_cursor == raw["meta"]["oldest_id"]  # a next_token: more to come
    assert recorded.header("x-rate-limit-limit") in (None, "450", "180")


def test_backwards_pages_by_until_id_and_forwards_by_since_id_and_pagination_token() -> None:
    newest = json_response(
        200, {**WITH_EXPANSIONS, "meta": {**WITH_EXPANSIONS["meta"], "next_token": "tok2"}}
    )
    older = json_response(200, {"meta": {"result_count": 0}})
    routes = RouteTable().add("GET", MENTIONS, newest, older)
    feed = client(routes)
    page = feed.fetch_mentions_page(max_id="1276035977375477760")
    assert routes.requests[0].url.params["until_id"] == "1276035977375477760"
    assert feed.fetch_mentions_page(min_id="1275000000000000000").is_empty  # nothing newer
    second = routes.requests[1].url.params
    assert second["since_id"] == "1275000000000000000" and "pagination_token" not in second
    assert page.mentions


def test_forward_collects_every_page_then_hands_out_oldest_first() -> None:
    data = WITH_EXPANSIONS["data"]
    page1 = {**WITH_EXPANSIONS, "data": data[:2], "meta": {"result_count": 2, "next_token": "p2"}}
    page2 = {**WITH_EXPANSIONS, "data": data[2:], "meta": {"result_count": len(data) - 2}}
    routes = RouteTable().add("GET", MENTIONS, json_response(200, page1), json_response(200, page2))
    feed = client(routes)
    seen = []
    cursor = "1"
    while True:
        page = feed.fetch_mentions_page(min_id=cursor, limit=2)
        if page.is_empty:
            break
        seen += [m.external_id for m in page.mentions]
        assert page.newest_cursor and x_payloads.id_key(page.newest_cursor) >= x_payloads.id_key(
            cursor
        )
        cursor = page.newest_cursor
    assert routes.requests[1].url.params["pagination_token"] == "p2"
    assert seen == sorted((t["id"] for t in data), key=x_payloads.id_key)
    assert cursor == max((t["id"] for t in data), key=x_payloads.id_key)


def test_the_budget_stops_before_the_request_that_could_exceed_it() -> None:
    store = MemoryStateStore()
    routes = RouteTable().add("GET", MENTIONS, json_response(200, WITH_EXPANSIONS))
    feed = client(routes, store=store, monthly_read_budget=12)
    feed.fetch_mentions_page(limit=100)
    assert routes.requests[0].url.params["max_results"] == "12"  # asked for no more than left
    # 4 mentions and the 3 replied-to posts expanded with them: every post read is billed.
    assert store.values == {"usage:2022-10": {"reads": 7, "writes": 0}}
    feed.guard.record(reads=1)  # 8 of 12 read: the smallest request (5) could exceed it
    with pytest.raises(x.BudgetExhausted) as caught:
        client(RouteTable(), store=store, monthly_read_budget=12).fetch_mentions_page(limit=100)
    message = str(caught.value)
    assert "X monthly read budget reached: 8 of 12 posts read in 2022-10" in message
    assert "it was not sent" in message and "2022-11-01 00:00 UTC" in message
    assert isinstance(caught.value, Rejected)  # never retried


def test_the_write_budget_and_a_new_month() -> None:
    clock = Clock(NOW)
    store = MemoryStateStore({"usage:2022-10": {"reads": 100, "writes": 2}})
    guard = x.UsageGuard(
        store=store, channel="x-main", monthly_reads=100, monthly_writes=2, now=clock.now
    )
    with pytest.raises(x.BudgetExhausted, match="write budget reached: 2 of 2 posts written"):
        guard.allow_write()
    clock.current = datetime(2022, 11, 1, tzinfo=UTC)
    guard.allow_write()
    assert guard.allow_read(100) == 100


def test_a_429_problem_waits_until_the_epoch_reset_and_usage_cap_is_rejected() -> None:
    clock = Clock(NOW)
    reset = int(NOW.timestamp()) + 20
    problem = {
        "title": "Too Many Requests",
        "detail": "Too Many Requests",
        "type": "about:blank",
        "status": 429,
    }
    routes = RouteTable().add(
        "GET",
        MENTIONS,
        json_response(
            429, problem, {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}
        ),
        json_response(200, WITH_EXPANSIONS),
    )
    client(routes, clock=clock).fetch_mentions_page()
    assert clock.sleeps == [20.0]

    capped = {
        "title": "UsageCapExceeded",
        "detail": "Usage cap exceeded: Monthly product cap",
        "type": "https://api.twitter.com/2/problems/usage-capped",
        "period": "Monthly",
        "scope": "Product",
        "status": 429,
    }
    routes = RouteTable().add("GET", MENTIONS, json_response(429, capped))
    with pytest.raises(Rejected, match="usage cap reached \\(Monthly cap"):
        client(routes).fetch_mentions_page()

    later = str(int(NOW.timestamp()) + 900)
    routes = RouteTable().add(
        "GET", MENTIONS, json_response(429, problem, {"x-rate-limit-reset": later})
    )
    with pytest.raises(RateLimited):
        client(routes).fetch_mentions_page()


def test_escaped_text_is_unescaped_and_reposts_are_skipped() -> None:
    tweet = {**WITH_EXPANSIONS["data"][0], "text": "@northwind beans &amp; cups &lt;3"}
    repost = {**WITH_EXPANSIONS["data"][1], "referenced_tweets": [{"type": "retweeted", "id": "1"}]}
    routes = RouteTable().add(
        "GET", MENTIONS, json_response(200, {**WITH_EXPANSIONS, "data": [tweet, repost]})
    )
    page = client(routes).fetch_mentions_page()
    assert page.mentions[0].text == "@northwind beans & cups <3"
    assert [s.reason for s in page.skipped] == ["a repost, not a new mention"]


def test_a_wrong_token_is_rejected_without_echoing_it() -> None:
    problem = {
        "title": "Unauthorized",
        "type": "about:blank",
        "status": 401,
        "detail": "Unauthorized",
    }
    routes = RouteTable().add("GET", f"{BASE}/2/users/{USER}", json_response(401, problem))
    with pytest.raises(Rejected, match="HTTP 401") as caught:
        client(routes).verify_credentials()
    assert TOKEN not in str(caught.value)


def test_an_unknown_url_never_reaches_the_network() -> None:
    with pytest.raises(UnroutedRequest):
        client(RouteTable()).fetch_mentions_page()
