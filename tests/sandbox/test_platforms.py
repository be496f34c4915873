"""The Bluesky, Reddit and X sandboxes: their wire formats, paging, limits, and
``socialops check-config --online`` against them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from cli.main import app
from sandbox.server import SandboxServer
from sandbox.world import SandboxConfig
from socialops.settings import reset_settings_cache

SECRET = "sbx-secret-0451"
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    at = datetime.now(UTC) - timedelta(hours=1)
    config = SandboxConfig(
        seed=2, rate_per_hour=300, history_hours=1, tokens=frozenset({SECRET}), now=lambda: at
    )
    with SandboxServer(config) as running:
        yield running


def test_bluesky_speaks_xrpc_with_ratelimit_headers_and_expired_tokens(
    server: SandboxServer,
) -> None:
    base = server.platform_url("bluesky") + "/xrpc"
    with httpx.Client() as http:
        refused = http.post(
            f"{base}/com.atproto.server.createSession",
            json={"identifier": "northwind.bsky.social", "password": "wrong"},
        )
        assert refused.status_code == 401 and refused.json()["error"] == "AuthenticationRequired"
        session = http.post(
            f"{base}/com.atproto.server.createSession",
            json={"identifier": "northwind.bsky.social", "password": SECRET},
        ).json()
        auth = {"Authorization": f"Bearer {session['accessJwt']}"}
        page = http.get(
            f"{base}/app.bsky.notification.listNotifications",
            params={"reasons": "mention", "limit": "10"},
            headers=auth,
        )
        assert page.headers["ratelimit-policy"].endswith(";w=300")
        assert int(page.headers["ratelimit-reset"]) > 1_700_000_000
        body = page.json()
        assert len(body["notifications"]) == 10 and "::" in body["cursor"]
        facet = body["notifications"][0]["record"]["facets"][0]
        text = body["notifications"][0]["record"]["text"].encode()
        assert text[facet["index"]["byteStart"] : facet["index"]["byteEnd"]] == (
            b"@northwind.bsky.social"
        )
        more = http.get(
            f"{base}/app.bsky.notification.listNotifications",
            params={"cursor": body["cursor"], "limit": "10"},
            headers=auth,
        ).json()["notifications"]
        assert more[0]["indexedAt"] < body["notifications"][-1]["indexedAt"]
        search = http.get(
            f"{base}/app.bsky.feed.searchPosts", params={"q": "northwind"}, headers=auth
        ).json()
        assert len(search["posts"]) == 25 and search["cursor"]
        me = http.get(f"{base}/com.atproto.server.getSession", headers=auth).json()
        assert me["handle"] == "northwind.bsky.social"
        unknown = http.get(
            f"{base}/com.atproto.server.getSession", headers={"Authorization": "Bearer x"}
        )
        assert unknown.status_code == 401 and unknown.json()["error"] == "InvalidToken"


def test_reddit_issues_tokens_and_pages_listings_by_fullname(server: SandboxServer) -> None:
    base = server.platform_url("reddit")
    with httpx.Client() as http:
        token = http.post(
            f"{base}/api/v1/access_token",
            data={"grant_type": "refresh_token", "refresh_token": SECRET},
            auth=("client", ""),
        ).json()
        assert token["token_type"] == "bearer" and token["expires_in"] == 86400
        auth = {"Authorization": f"bearer {token['access_token']}"}
        first = http.get(f"{base}/message/mentions", params={"limit": "5"}, headers=auth)
        assert float(first.headers["x-ratelimit-remaining"]) >= 0
        assert first.headers["x-ratelimit-remaining"].endswith(".0")
        listing = first.json()["data"]
        assert listing["after"] == listing["children"][-1]["data"]["name"]
        assert all(c["kind"] == "t1" for c in listing["children"])
        older = http.get(
            f"{base}/message/mentions",
            params={"limit": "5", "after": listing["after"]},
            headers=auth,
        ).json()["data"]["children"]
        assert older[0]["data"]["created_utc"] <= listing["children"][-1]["data"]["created_utc"]
        search = http.get(f"{base}/search", params={"q": "northwind", "sort": "new"}, headers=auth)
        assert all(c["kind"] == "t3" for c in search.json()["data"]["children"])
        bad = http.post(
            f"{base}/api/v1/access_token",
            data={"grant_type": "refresh_token", "refresh_token": "nope"},
            auth=("client", ""),
        )
        assert bad.status_code == 200 and bad.json() == {"error": "invalid_grant"}


def test_x_pages_mentions_with_since_until_and_tokens(server: SandboxServer) -> None:
    base = server.platform_url("x")
    auth = {"Authorization": f"Bearer {SECRET}"}
    params = {"max_results": "5", "expansions": "author_id", "user.fields": "public_metrics"}
    with httpx.Client() as http:
        first = http.get(
            f"{base}/2/users/1500000000000000001/mentions", params=params, headers=auth
        )
        assert first.headers["x-rate-limit-limit"] == "450"
        body = first.json()
        assert body["meta"]["result_count"] == 5 and body["meta"]["next_token"]
        assert {t["author_id"] for t in body["data"]} <= {
            u["id"] for u in body["includes"]["users"]
        }
        newer = http.get(
            f"{base}/2/users/1500000000000000001/mentions",
            params={**params, "since_id": body["data"][1]["id"]},
            headers=auth,
        ).json()
        assert [t["id"] for t in newer["data"]] == [body["data"][0]["id"]]
        small = http.get(
            f"{base}/2/users/1500000000000000001/mentions",
            params={"max_results": "2"},
            headers=auth,
        )
        assert (
            small.status_code == 400 and small.headers["content-type"] == "application/problem+json"
        )
        assert (
            http.get(f"{base}/2/users/1/mentions", params=params, headers=auth).status_code == 404
        )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_check_config_online_verifies_every_channel(
    server: SandboxServer, socialops_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries = [
        {
            "name": "bluesky-main",
            "platform": "bluesky",
            "base_url": server.platform_url("bluesky"),
            "token_env": "T_BSKY",
            "identifier": "northwind.bsky.social",
        },
        {
            "name": "reddit-main",
            "platform": "reddit",
            "base_url": server.platform_url("reddit"),
            "auth_url": server.platform_url("reddit"),
            "token_env": "T_REDDIT",
            "client_id": "sbx",
            "client_secret_env": "T_REDDIT_SECRET",
        },
        {
            "name": "x-main",
            "platform": "x",
            "base_url": server.platform_url("x"),
            "token_env": "T_X",
            "user_id": "1500000000000000001",
        },
        {
            "name": "x-wrong",
            "platform": "x",
            "base_url": server.platform_url("x"),
            "token_env": "T_X_WRONG",
            "user_id": "1500000000000000001",
        },
    ]
    path = socialops_env / "channels.yaml"
    path.write_text(yaml.safe_dump({"channels": entries}), encoding="utf-8")
    monkeypatch.setenv("SOCIALOPS_CHANNELS", str(path))
    monkeypatch.setenv("T_BSKY", SECRET)
    monkeypatch.setenv("T_REDDIT", SECRET)
    monkeypatch.setenv("T_REDDIT_SECRET", "")
    monkeypatch.setenv("T_X", SECRET)
    monkeypatch.setenv("T_X_WRONG", "not-the-token-9876")
    reset_settings_cache()
    result = CliRunner().invoke(app, ["check-config", "--online"])
    out = " ".join(result.stdout.split())  # as one line: Rich wraps at the terminal width
    assert result.exit_code == 1, out
    assert "client secret T_REDDIT_SECRET EMPTY" in out
    assert "ok bluesky-main: credentials work, acting as @northwind.bsky.social" in out
    assert (
        "FAIL reddit-main: channel 'reddit-main': "
        "environment variable T_REDDIT_SECRET is set but empty" in out
    )
    assert "ok x-main: credentials work, acting as @northwind" in out
    assert "FAIL x-wrong:" in out and "HTTP 401" in out and "not-the-token-9876" not in out
    monkeypatch.setenv("T_REDDIT_SECRET", "s")
    result = CliRunner().invoke(app, ["check-config", "--online"])
    assert "ok reddit-main: credentials work, acting as u/northwind" in " ".join(
        result.stdout.split()
    )
