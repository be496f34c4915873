"""Reddit's publisher against recorded ``/api/comment`` exchanges (PRAW's Betamax cassettes,
tests/fixtures/reddit) and the failures a write must tell apart: refused in an HTTP 200,
rate limited, not sent, or sent with the answer lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from connectors import reddit_payloads
from connectors.errors import OutcomeUnknown, RateLimited, Rejected, Retryable
from connectors.reddit_publish import RedditPublisher
from tests.cassettes import RecordedResponse, RouteTable, json_response
from tests.connectors.test_reddit import API, TOKEN, TOKEN_URL, TOO_MANY, betamax, client

COMMENT_2016 = betamax("comment_reply_2016.cassette.json")
MESSAGE_2025 = betamax("message_reply_2025.cassette.json")
COMMENT_URL = f"{API}/api/comment"


def publisher(
    routes: RouteTable, *, subreddit: str | None = None, **options: Any
) -> RedditPublisher:
    return RedditPublisher(
        client(routes, **options), channel="reddit-main", username="northwind", subreddit=subreddit
    )


def _post(
    pub: RedditPublisher, thing: str | None = "t1_d1616q2", text: str = "Comment reply"
) -> Any:
    return pub.post(text=text, in_reply_to=thing, idempotency_key="k1", visibility="public")


def test_a_reply_is_the_recorded_comment_request_and_its_answer_is_read() -> None:
    method, url, recorded = COMMENT_2016[1]
    assert (method, url) == ("POST", "https://oauth.reddit.com/api/comment/?raw_json=1")
    routes = (
        RouteTable().add("POST", TOKEN_URL, COMMENT_2016[0][2]).add("POST", COMMENT_URL, recorded)
    )
    posted = _post(publisher(routes))
    assert posted.id == "t1_d1680wu"
    assert posted.url == "https://www.reddit.com/r/<TEST_SUBREDDIT>/comments/4b1tfm/_/d1680wu/"
    sent = routes.requests[1]
    assert dict(parse_qsl(sent.content.decode())) == {
        "api_type": "json",
        "thing_id": "t1_d1616q2",
        "text": "Comment reply",
    }
    assert sent.url.params["raw_json"] == "1"
    assert sent.headers["authorization"] == "bearer <ACCESS_TOKEN>"
    assert sent.headers["user-agent"] == "python:socialops.reddit-main:1.0 (by /u/northwind)"


def test_a_reply_to_a_private_message_is_read_from_the_2025_recording() -> None:
    routes = RouteTable().add("POST", TOKEN_URL, MESSAGE_2025[0][2])
    routes.add("POST", COMMENT_URL, MESSAGE_2025[1][2])
    comment = client(routes).comment(thing_id="t4_2r1s1k2", text="Message reply")
    assert (comment.name, comment.parent_id, comment.body) == (
        "t4_zzzzzzzzzzzz",
        "t4_2r1s1k2",
        "Message reply",
    )


def _errors(*errors: list[Any]) -> RecordedResponse:
    return json_response(200, {"json": {"errors": list(errors)}})


def test_ratelimit_in_a_200_is_rate_limited_until_the_wait_it_names() -> None:
    message = (
        "Looks like you've been doing that a lot. Take a break for 5 minutes before trying again."
    )
    routes = RouteTable().add("POST", TOKEN_URL, TOKEN)
    routes.add("POST", COMMENT_URL, _errors(["RATELIMIT", message, "ratelimit"]))
    before = datetime.now(UTC)
    with pytest.raises(RateLimited, match="RATELIMIT") as caught:
        _post(publisher(routes))
    assert caught.value.reset_at is not None
    assert (
        before + timedelta(minutes=5)
        <= caught.value.reset_at
        <= datetime.now(UTC) + timedelta(minutes=5)
    )
    assert len(routes.requests) == 2  # never retried in place


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (
            ["THREAD_LOCKED", "Comments are locked.", "parent"],
            "THREAD_LOCKED: Comments are locked.",
        ),
        (["DELETED_COMMENT", "that comment has been deleted", "parent"], "DELETED_COMMENT"),
        (["TOO_LONG", "this is too long (max: 10000)", "text"], "TOO_LONG"),
    ],
)
def test_other_errors_in_a_200_are_refusals_with_reddits_words(error: list[str], said: str) -> None:
    routes = RouteTable().add("POST", TOKEN_URL, TOKEN).add("POST", COMMENT_URL, _errors(error))
    with pytest.raises(Rejected, match=said):
        _post(publisher(routes))


def _raise(exc: type[httpx.TransportError]) -> Any:
    def respond(request: httpx.Request) -> httpx.Response:
        raise exc("boom", request=request)

    return respond


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            RecordedResponse(
                502, (("content-type", "text/html"),), b"<html>502 Bad Gateway</html>"
            ),
            OutcomeUnknown,
        ),
        (json_response(500, {"message": "Internal Server Error", "error": 500}), OutcomeUnknown),
        (json_response(200, {"json": {"errors": [], "data": {}}}), OutcomeUnknown),
        (RecordedResponse(200, (), b'{"json": {"errors": [], "da'), OutcomeUnknown),
        (_raise(httpx.ReadTimeout), OutcomeUnknown),
        (_raise(httpx.RemoteProtocolError), OutcomeUnknown),
        (_raise(httpx.ConnectError), Retryable),
        (TOO_MANY[1][2], RateLimited),
    ],
    ids=[
        "502-html",
        "500",
        "no-things",
        "truncated",
        "read-timeout",
        "reset",
        "not-connected",
        "429-page",
    ],
)
def test_a_write_is_sent_once_and_its_outcome_told_apart(
    answer: Any, expected: type[Exception]
) -> None:
    routes = RouteTable().add("POST", TOKEN_URL, TOKEN).add("POST", COMMENT_URL, answer)
    with pytest.raises(expected) as caught:
        _post(publisher(routes, max_rate_limit_wait=1))
    assert len(routes.requests) == 2
    if expected is OutcomeUnknown:
        assert "look among the account's own posts" in str(caught.value)
    if expected is RateLimited:
        assert isinstance(caught.value, RateLimited) and caught.value.reset_at is not None


def test_a_revoked_token_is_renewed_and_the_comment_sent_once_more() -> None:
    routes = RouteTable().add("POST", TOKEN_URL, TOKEN, TOKEN)
    unauthorized = json_response(401, {"message": "Unauthorized", "error": 401})
    routes.add("POST", COMMENT_URL, unauthorized, COMMENT_2016[1][2])
    assert _post(publisher(routes)).id == "t1_d1680wu"
    assert [r.url.path for r in routes.requests] == [
        "/api/v1/access_token",
        "/api/comment",
        "/api/v1/access_token",
        "/api/comment",
    ]


def _listing(children: list[dict[str, Any]], after: str | None) -> RecordedResponse:
    return json_response(
        200, {"kind": "Listing", "data": {"after": after, "before": None, "children": children}}
    )


def _comment(name: str, parent: str, at: datetime, body: str = "hi") -> dict[str, Any]:
    return {
        "kind": "t1",
        "data": {
            "name": name,
            "parent_id": parent,
            "body": body,
            "created_utc": at.timestamp(),
            "permalink": f"/r/coffee/comments/abc/_/{name[3:]}/",
            "link_id": "t3_abc",
            "subreddit": "coffee",
        },
    }


def test_own_posts_are_the_accounts_comments_newest_first_back_to_the_attempt() -> None:
    now = datetime(2025, 6, 19, 12, 0, tzinfo=UTC)
    page1 = [
        _comment("t1_c3", "t1_m3", now),
        _comment("t1_c2", "t3_p2", now - timedelta(minutes=1)),
    ]
    page2 = [_comment("t1_c1", "t1_m1", now - timedelta(hours=2))]
    routes = RouteTable().add("POST", TOKEN_URL, TOKEN)
    routes.add(
        "GET", f"{API}/user/northwind/comments", _listing(page1, "t1_c2"), _listing(page2, "t1_c1")
    )
    own = list(publisher(routes).own_posts(since=now - timedelta(minutes=10)))
    assert [(o.id, o.in_reply_to_id) for o in own] == [
        ("t1_c3", "t1_m3"),
        ("t1_c2", "t3_p2"),
        ("t1_c1", "t1_m1"),
    ]
    assert own[0].url == "https://www.reddit.com/r/coffee/comments/abc/_/c3/"
    assert own[0].created_at == now
    params = routes.requests[2].url.params
    assert (params["after"], params["sort"], params["limit"]) == ("t1_c2", "new", "100")
    assert routes.unused == 0  # the second page was older than the attempt: no third request


def test_the_account_name_comes_from_the_token_when_not_configured() -> None:
    routes = RouteTable().add("POST", TOKEN_URL, TOKEN)
    routes.add("GET", f"{API}/api/v1/me", json_response(200, {"name": "Northwind_Coffee"}))
    routes.add("GET", f"{API}/user/Northwind_Coffee/comments", _listing([], None))
    pub = RedditPublisher(client(routes), channel="reddit-main")
    assert list(pub.own_posts(since=datetime.now(UTC))) == []


def test_a_planned_post_needs_a_subreddit_and_goes_there_as_a_self_post() -> None:
    routes = RouteTable()
    with pytest.raises(Rejected, match="set `subreddit:` on the channel"):
        _post(publisher(routes), thing=None)
    assert routes.requests == []

    routes = RouteTable().add("POST", TOKEN_URL, TOKEN)
    made = {
        "url": "https://www.reddit.com/r/northwindcoffee/comments/x1/w/",
        "id": "x1",
        "name": "t3_x1",
    }
    routes.add(
        "POST", f"{API}/api/submit", json_response(200, {"json": {"errors": [], "data": made}})
    )
    posted = _post(
        publisher(routes, subreddit="northwindcoffee"), thing=None, text="Winter blend\nIs back."
    )
    assert (posted.id, posted.url) == ("t3_x1", made["url"])
    form = dict(parse_qsl(routes.requests[1].content.decode()))
    assert (form["sr"], form["kind"], form["title"], form["text"]) == (
        "northwindcoffee",
        "self",
        "Winter blend",
        "Is back.",
    )


def test_a_title_too_long_is_cut_and_the_whole_text_becomes_the_body() -> None:
    text = "word " * 100
    title, body = reddit_payloads.split_post(text)
    assert len(title) <= reddit_payloads.TITLE_LIMIT and title.endswith("…")
    assert body == text.strip()
    post = reddit_payloads.OwnSubmission(name="t3_a", title=title, selftext=body)
    assert reddit_payloads.submission_text(post) == text.strip()
    short = reddit_payloads.OwnSubmission(name="t3_b", title="Winter blend", selftext="Is back.")
    assert reddit_payloads.submission_text(short) == "Winter blend\n\nIs back."
