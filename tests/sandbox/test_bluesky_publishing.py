"""The sandbox's Bluesky as a PDS for publishing, held to what a real PDS answered
(tests/fixtures/bluesky/devenv-publishing.json, recorded from @atproto/dev-env 0.6.7)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.server import SandboxServer
from sandbox.world import SandboxConfig
from tests.cassettes import FIXTURES

pytestmark = pytest.mark.e2e
DEVENV = json.loads((FIXTURES / "bluesky" / "devenv-publishing.json").read_text("utf-8"))
RKEY = "3n3tcwhc76s2f"


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(seed=5, rate_per_hour=300, history_hours=1)) as running:
        yield running


@pytest.fixture(scope="module")
def xrpc(server: SandboxServer) -> Iterator[tuple[httpx.Client, str]]:
    base = server.platform_url("bluesky") + "/xrpc"
    with httpx.Client(base_url=base) as http:
        session = http.post(
            "/com.atproto.server.createSession",
            json={"identifier": "northwind.bsky.social", "password": "any"},
        ).json()
        http.headers["Authorization"] = f"Bearer {session['accessJwt']}"
        yield http, session["did"]


def _post(text: str, **extra: Any) -> dict[str, Any]:
    return {
        "$type": "app.bsky.feed.post",
        "text": text,
        "createdAt": "2026-12-04T08:00:00.000Z",
        **extra,
    }


def test_put_record_again_is_a_no_op_and_create_record_on_the_key_is_a_500(
    server: SandboxServer, xrpc: tuple[httpx.Client, str]
) -> None:
    http, did = xrpc
    write = {"repo": did, "collection": "app.bsky.feed.post", "rkey": RKEY, "record": _post("hi")}
    first = http.post("/com.atproto.repo.putRecord", json=write).json()
    again = http.post("/com.atproto.repo.putRecord", json=write).json()
    # The shapes a real PDS answered: a commit the first time, none for the identical record.
    assert set(first) == set(DEVENV["putRecord.first"])
    assert set(again) == set(DEVENV["putRecord.same_again"])
    assert (again["uri"], again["cid"]) == (first["uri"], first["cid"])
    assert first["uri"] == f"at://{did}/app.bsky.feed.post/{RKEY}"
    created = http.post("/com.atproto.repo.createRecord", json=write)
    recorded = DEVENV["createRecord.existing_rkey"]
    assert (created.status_code, created.json()) == (recorded["status"], recorded["body"])
    changed = http.post(
        "/com.atproto.repo.putRecord", json={**write, "record": _post("hi, edited")}
    ).json()
    assert changed["cid"] != first["cid"] and "commit" in changed  # an overwrite
    state = server.platform("bluesky")
    assert (state.publishing.writes, state.publishing.noops, state.publishing.overwrites) == (
        2,
        1,
        1,
    )
    listed = http.get(
        "/com.atproto.repo.listRecords", params={"repo": did, "collection": "app.bsky.feed.post"}
    ).json()
    assert set(listed) == set(DEVENV["listRecords"])
    assert listed["records"][0]["value"]["text"] == "hi, edited"
    assert set(listed["records"][0]) == set(DEVENV["listRecords"]["records"][0])


def test_records_are_validated_as_a_pds_does(xrpc: tuple[httpx.Client, str]) -> None:
    http, did = xrpc
    base = {"repo": did, "collection": "app.bsky.feed.post", "rkey": "3n3tcwhc76s3f"}
    long = http.post("/com.atproto.repo.putRecord", json={**base, "record": _post("é" * 301)})
    recorded = DEVENV["putRecord.too_long"]
    assert (long.status_code, long.json()) == (recorded["status"], recorded["body"])
    bad_key = http.post(
        "/com.atproto.repo.putRecord", json={**base, "rkey": "zzzzzzzzzzzzz", "record": _post("x")}
    )
    assert bad_key.status_code == 400 and "Invalid TID" in bad_key.json()["message"]
    no_cid = _post("x", reply={"root": {"uri": "at://a/b/c"}, "parent": {"uri": "at://a/b/c"}})
    refused = http.post("/com.atproto.repo.putRecord", json={**base, "record": no_cid})
    assert refused.status_code == 400 and "cid" in refused.json()["message"]
    # Offsets counted in characters instead of UTF-8 bytes run past the end of the text.
    facets = [{"index": {"byteStart": 0, "byteEnd": 9}, "features": []}]
    refused = http.post(
        "/com.atproto.repo.putRecord", json={**base, "record": _post("é☕", facets=facets)}
    )
    assert refused.status_code == 400 and "byte range" in refused.json()["message"]
    other = http.post(
        "/com.atproto.repo.putRecord",
        json={**base, "repo": "did:plc:someoneelse", "record": _post("x")},
    )
    assert other.status_code == 401


def test_a_reply_reads_back_through_getposts_author_feed_and_resolve_handle(
    server: SandboxServer, xrpc: tuple[httpx.Client, str]
) -> None:
    http, did = xrpc
    mention = http.get(
        "/app.bsky.notification.listNotifications", params={"reasons": "mention", "limit": "1"}
    ).json()["notifications"][0]
    parent = http.get("/app.bsky.feed.getPosts", params={"uris": mention["uri"]}).json()["posts"]
    assert [p["uri"] for p in parent] == [mention["uri"]] and parent[0]["cid"] == mention["cid"]
    ref = {"uri": mention["uri"], "cid": mention["cid"]}
    reply = http.post(
        "/com.atproto.repo.putRecord",
        json={
            "repo": did,
            "collection": "app.bsky.feed.post",
            "rkey": "3n3tcwhc76s4f",
            "record": _post("thanks", reply={"root": ref, "parent": ref}),
        },
    ).json()
    feed = http.get("/app.bsky.feed.getAuthorFeed", params={"actor": did}).json()["feed"]
    item = next(i for i in feed if i["post"]["uri"] == reply["uri"])
    assert item["reply"]["parent"]["uri"] == mention["uri"]
    assert item["post"]["author"]["did"] == did
    own = http.get("/app.bsky.feed.getPosts", params={"uris": reply["uri"]}).json()["posts"]
    assert own[0]["record"]["reply"]["parent"] == ref
    handle = mention["author"]["handle"]
    resolved = http.get("/com.atproto.identity.resolveHandle", params={"handle": handle}).json()
    assert resolved == {"did": mention["author"]["did"]}
    unknown = http.get("/com.atproto.identity.resolveHandle", params={"handle": "nobody.test"})
    recorded = DEVENV["resolveHandle.unknown"]
    assert (unknown.status_code, unknown.json()) == (recorded["status"], recorded["body"])
    gone = http.get(
        "/app.bsky.feed.getPosts", params={"uris": "at://did:plc:x/app.bsky.feed.post/3aaa"}
    )
    assert gone.json() == {"posts": []}
    assert server.platform("bluesky").replies_to()[mention["uri"]] == 1
