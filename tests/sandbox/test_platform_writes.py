"""The sandbox's Reddit and X write endpoints over loopback HTTP: the real servers' shapes,
refusals included, and the writes listed among the account's own posts."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import pytest

from sandbox.server import SandboxServer
from sandbox.world import SandboxConfig

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(seed=5, rate_per_hour=120, history_hours=1)) as running:
        yield running


def _reddit_token(http: httpx.Client, base: str) -> dict[str, str]:
    basic = base64.b64encode(b"sbx-client:").decode()
    body = http.post(
        f"{base}/api/v1/access_token",
        data={"grant_type": "refresh_token", "refresh_token": "r"},
        headers={"Authorization": f"Basic {basic}"},
    ).json()
    return {"Authorization": f"bearer {body['access_token']}"}


def test_reddit_comments_answer_as_reddit_does_and_are_listed_newest_first(
    server: SandboxServer,
) -> None:
    base = server.platform_url("reddit")
    state = server.platform("reddit")
    mention = next(
        state.fullname(state.facts.fact(k))
        for k in state.facts.newest_first()
        if state.facts.fact(k).served
    )
    with httpx.Client(timeout=5) as http:
        auth = _reddit_token(http, base)
        made = http.post(
            f"{base}/api/comment",
            data={"api_type": "json", "thing_id": mention, "text": "Thanks u/someone"},
            headers=auth,
        )
        assert made.status_code == 200 and made.headers["x-ratelimit-remaining"].endswith(".0")
        thing = made.json()["json"]["data"]["things"][0]
        assert made.json()["json"]["errors"] == []
        assert thing["kind"] == "t1" and thing["data"]["parent_id"] == mention
        for form, error in (
            ({"thing_id": "t1_zzzzzz", "text": "x"}, "DELETED_COMMENT"),
            ({"thing_id": mention, "text": " "}, "NO_TEXT"),
            ({"thing_id": mention, "text": "x" * 10_001}, "TOO_LONG"),
        ):
            refused = http.post(
                f"{base}/api/comment", data={"api_type": "json", **form}, headers=auth
            )
            assert refused.status_code == 200  # Reddit refuses in an HTTP 200
            assert refused.json()["json"]["errors"][0][0] == error
        second = http.post(
            f"{base}/api/comment",
            data={"api_type": "json", "thing_id": thing["data"]["name"], "text": "and again"},
            headers=auth,
        ).json()["json"]["data"]["things"][0]["data"]
        listed = http.get(
            f"{base}/user/northwind/comments", params={"limit": "1"}, headers=auth
        ).json()["data"]
        assert [c["data"]["name"] for c in listed["children"]] == [second["name"]]
        older = http.get(
            f"{base}/user/northwind/comments",
            params={"limit": "1", "after": listed["after"]},
            headers=auth,
        ).json()["data"]
        assert [c["data"]["name"] for c in older["children"]] == [thing["data"]["name"]]
        assert older["after"] is None
        assert http.get(f"{base}/user/someone_else/comments", headers=auth).status_code == 404

        state.writes.refusal_rate = 1.0
        throttled = http.post(
            f"{base}/api/comment",
            data={"api_type": "json", "thing_id": mention, "text": "x"},
            headers=auth,
        ).json()
        state.writes.refusal_rate = 0.0
        assert throttled["json"]["errors"][0][0] == "RATELIMIT"
        assert "Take a break for 1 second" in throttled["json"]["errors"][0][1]


def test_x_posts_answer_201_refuse_duplicates_and_are_listed_with_what_they_answer(
    server: SandboxServer,
) -> None:
    base = server.platform_url("x")
    state = server.platform("x")
    k = next(k for k in state.facts.newest_first() if state.facts.fact(k).served)
    mention = str(state.tweet_id(k))
    auth = {"Authorization": "Bearer token"}
    with httpx.Client(timeout=5) as http:
        reply = {"text": "Thanks @someone & all", "reply": {"in_reply_to_tweet_id": mention}}
        made = http.post(f"{base}/2/tweets", json=reply, headers=auth)
        assert made.status_code == 201, made.text
        assert made.headers["x-rate-limit-limit"] == "200"
        data = made.json()["data"]
        assert data["text"] == "Thanks @someone &amp; all" and data["edit_history_tweet_ids"]
        again = http.post(f"{base}/2/tweets", json=reply, headers=auth)
        assert again.status_code == 403 and "duplicate content" in again.json()["detail"]
        assert again.headers["content-type"] == "application/problem+json"
        gone = http.post(
            f"{base}/2/tweets",
            json={"text": "hi", "reply": {"in_reply_to_tweet_id": "1"}},
            headers=auth,
        )
        assert gone.status_code == 403 and "deleted or not visible" in gone.json()["detail"]
        too_long = http.post(f"{base}/2/tweets", json={"text": "x" * 281}, headers=auth)
        assert too_long.status_code == 403
        at_limit = http.post(
            f"{base}/2/tweets",
            json={"text": "https://e.example/" + "a" * 300 + " " + "y" * 256},
            headers=auth,
        )
        assert at_limit.status_code == 201  # a link counts as 23
        listed = http.get(
            f"{base}/2/users/{state.user_id}/tweets",
            params={
                "max_results": "5",
                "tweet.fields": "created_at,in_reply_to_user_id,referenced_tweets",
            },
            headers=auth,
        ).json()
        ids = [t["id"] for t in listed["data"]]
        assert ids == sorted(ids, key=int, reverse=True) and data["id"] in ids
        ours = next(t for t in listed["data"] if t["id"] == data["id"])
        assert ours["referenced_tweets"] == [{"type": "replied_to", "id": mention}]
        assert "created_at" in ours and "in_reply_to_user_id" in ours
        bare = http.get(
            f"{base}/2/users/{state.user_id}/tweets", params={"max_results": "5"}, headers=auth
        ).json()
        assert set(bare["data"][0]) == {"id", "text", "edit_history_tweet_ids"}
        page = http.get(
            f"{base}/2/users/{state.user_id}/tweets",
            params={"max_results": "5", "since_id": data["id"]},
            headers=auth,
        ).json()
        assert data["id"] not in [t["id"] for t in page.get("data", [])]


@pytest.mark.parametrize("platform", ["reddit", "x"])
def test_write_faults_are_read_and_set_over_http(server: SandboxServer, platform: str) -> None:
    url = f"{server.platform_url(platform)}/_sandbox/publishing"
    with httpx.Client(timeout=5) as http:
        assert http.post(url, content=json.dumps({"fail_after_write_rate": 2})).status_code == 422
        set_ = http.post(url, content=json.dumps({"fail_after_write_rate": 0.25})).json()
        assert set_["fail_after_write_rate"] == 0.25
        http.post(url, content=json.dumps({"fail_after_write_rate": 0}))
