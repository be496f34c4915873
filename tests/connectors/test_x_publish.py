"""X's publisher against the recorded ``POST /2/tweets`` (tweepy's cassettes, tests/fixtures/x),
the monthly write budget, 429 problems with an epoch reset, and the own-posts timeline."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from connectors.errors import OutcomeUnknown, RateLimited, Rejected, Retryable
from connectors.state import MemoryStateStore
from connectors.x_publish import XPublisher
from tests.cassettes import RecordedResponse, RouteTable, json_response, load_cassette
from tests.connectors.fakes import Clock
from tests.connectors.test_x import BASE, NOW, USER, client

CREATED = load_cassette("x/tweepy_test_client_create_and_delete_tweet.cassette.yaml")
CREATED_DECODED = load_cassette("x/tweepy_test_asyncclient_create_and_delete_tweet.cassette.yaml")
TWEETS = f"{BASE}/2/tweets"
OWN = f"{BASE}/2/users/{USER}/tweets"


def publisher(routes: RouteTable, **options: Any) -> XPublisher:
    return XPublisher(client(routes, **options), channel="x-main")


def _post(pub: XPublisher, text: str = "Test Tweet", reply_to: str | None = "1234567890") -> Any:
    return pub.post(text=text, in_reply_to=reply_to, idempotency_key="k", visibility="public")


@pytest.mark.parametrize("cassette", [CREATED, CREATED_DECODED], ids=["gzip", "decoded"])
def test_a_reply_is_the_recorded_create_request_and_its_201_is_read(cassette: Any) -> None:
    recorded = cassette.response("POST", TWEETS)
    assert recorded.status_code == 201
    store = MemoryStateStore()
    routes = RouteTable().add("POST", TWEETS, recorded)
    posted = _post(publisher(routes, store=store, monthly_write_budget=10))
    expected = "1456012973835788293" if cassette is CREATED else "1522929456142245888"
    assert (posted.id, posted.url) == (expected, f"https://x.com/i/web/status/{expected}")
    sent = routes.requests[0]
    assert json.loads(sent.content) == {
        "text": "Test Tweet",
        "reply": {"in_reply_to_tweet_id": "1234567890"},
    }
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["authorization"].startswith("Bearer ")
    assert store.load("usage:2022-10") == {"reads": 0, "writes": 1}


def test_a_post_without_in_reply_to_has_no_reply_object() -> None:
    routes = RouteTable().add("POST", TWEETS, CREATED.response("POST", TWEETS))
    _post(publisher(routes), reply_to=None)
    assert json.loads(routes.requests[0].content) == {"text": "Test Tweet"}


def test_the_monthly_write_budget_refuses_before_sending_until_next_month() -> None:
    store = MemoryStateStore()
    store.save("usage:2022-10", {"reads": 0, "writes": 5})
    routes = RouteTable()
    with pytest.raises(RateLimited) as caught:
        _post(publisher(routes, store=store, monthly_write_budget=5))
    assert routes.requests == []
    assert "X monthly write budget reached: 5 of 5 posts written in 2022-10" in str(caught.value)
    assert "monthly_write_budget" in str(caught.value)
    assert caught.value.reset_at == datetime(2022, 11, 1, tzinfo=UTC)


def test_a_429_problem_is_rate_limited_until_the_epoch_reset_never_waited_in_place() -> None:
    reset = int((NOW + timedelta(seconds=30)).timestamp())
    problem = json_response(
        429,
        {
            "title": "Too Many Requests",
            "detail": "Too Many Requests",
            "type": "about:blank",
            "status": 429,
        },
        {
            "x-rate-limit-limit": "200",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(reset),
        },
    )
    clock = Clock(NOW)
    routes = RouteTable().add("POST", TWEETS, problem)
    with pytest.raises(RateLimited, match="nothing was written") as caught:
        _post(publisher(routes, clock=clock))
    assert caught.value.reset_at == datetime.fromtimestamp(reset, UTC)
    assert len(routes.requests) == 1 and clock.sleeps == []


def test_the_usage_cap_waits_for_the_period_instead_of_failing() -> None:
    capped = json_response(
        429,
        {
            "title": "UsageCapExceeded",
            "detail": "Usage cap exceeded: Monthly product cap",
            "type": "https://api.twitter.com/2/problems/usage-capped",
            "period": "Monthly",
            "scope": "Product",
        },
    )
    routes = RouteTable().add("POST", TWEETS, capped)
    with pytest.raises(RateLimited, match="usage cap") as caught:
        _post(publisher(routes))
    assert caught.value.reset_at == datetime(2022, 11, 1, tzinfo=UTC)


def _raise(exc: type[httpx.TransportError]) -> Any:
    def respond(request: httpx.Request) -> httpx.Response:
        raise exc("boom", request=request)

    return respond


@pytest.mark.parametrize(
    ("answer", "expected", "billed"),
    [
        (json_response(503, {"title": "Service Unavailable", "status": 503}), OutcomeUnknown, 1),
        (
            RecordedResponse(502, (("content-type", "text/html"),), b"<html>502</html>"),
            OutcomeUnknown,
            1,
        ),
        (RecordedResponse(201, (), b'{"data":{"id":"14'), OutcomeUnknown, 1),
        (_raise(httpx.ReadTimeout), OutcomeUnknown, 1),
        (_raise(httpx.ConnectError), Retryable, 0),
        (
            json_response(
                403,
                {
                    "title": "Forbidden",
                    "detail": "You attempted to reply to a Tweet that is deleted or not visible "
                    "to you.",
                    "status": 403,
                },
            ),
            Rejected,
            0,
        ),
    ],
    ids=["503", "502-html", "truncated", "read-timeout", "not-connected", "403"],
)
def test_a_write_is_sent_once_and_an_unknown_outcome_counts_against_the_budget(
    answer: Any, expected: type[Exception], billed: int
) -> None:
    store = MemoryStateStore()
    routes = RouteTable().add("POST", TWEETS, answer)
    with pytest.raises(expected) as caught:
        _post(publisher(routes, store=store, monthly_write_budget=10))
    assert len(routes.requests) == 1
    assert (store.load("usage:2022-10") or {"writes": 0})["writes"] == billed
    if expected is Rejected:
        assert "deleted or not visible to you" in str(caught.value)


def _tweet(
    tid: str, at: datetime, *, reply_to: str | None = None, text: str = "hi"
) -> dict[str, Any]:
    tweet: dict[str, Any] = {
        "id": tid,
        "text": text,
        "edit_history_tweet_ids": [tid],
        "created_at": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    }
    if reply_to:
        tweet["referenced_tweets"] = [{"type": "replied_to", "id": reply_to}]
        tweet["in_reply_to_user_id"] = "2244994945"
    return tweet


def test_own_posts_read_the_timeline_since_the_attempt_with_replied_to_and_budget() -> None:
    store = MemoryStateStore()
    page1 = {
        "data": [
            _tweet("1600000000000000003", NOW, reply_to="1500000000000000001", text="a &amp; b"),
            _tweet("1600000000000000002", NOW - timedelta(minutes=1)),
        ],
        "meta": {"result_count": 2, "next_token": "7140abc"},
    }
    page2 = {"meta": {"result_count": 0}}
    routes = RouteTable().add("GET", OWN, json_response(200, page1), json_response(200, page2))
    own = list(publisher(routes, store=store).own_posts(since=NOW - timedelta(minutes=5)))
    assert [(o.id, o.in_reply_to_id, o.text) for o in own] == [
        ("1600000000000000003", "1500000000000000001", "a & b"),
        ("1600000000000000002", None, "hi"),
    ]
    assert own[0].created_at == NOW
    first, second = (r.url.params for r in routes.requests)
    assert first["tweet.fields"] == "created_at,in_reply_to_user_id,referenced_tweets"
    assert first["start_time"] == "2022-10-07T23:53:00Z"  # the attempt less two minutes' slack
    assert second["pagination_token"] == "7140abc"
    assert store.load("usage:2022-10") == {"reads": 2, "writes": 0}


def test_own_posts_stop_at_the_read_budget_until_next_month() -> None:
    store = MemoryStateStore()
    store.save("usage:2022-10", {"reads": 100, "writes": 0})
    with pytest.raises(RateLimited, match="read budget") as caught:
        list(publisher(RouteTable(), store=store, monthly_read_budget=100).own_posts(since=NOW))
    assert caught.value.reset_at == datetime(2022, 11, 1, tzinfo=UTC)
