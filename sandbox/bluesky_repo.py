"""The brand's own repository in the sandbox's Bluesky: what a real PDS does to a publisher.

Measured on ``@atproto/dev-env`` 0.6.7 (tests/fixtures/bluesky/devenv-publishing.json):
``putRecord`` of an identical record under an existing key is a no-op answering the same ``uri``
and ``cid`` and no ``commit``, a different one overwrites; ``createRecord`` with an existing key
answers 500 ``InternalServerError``; records are validated (a TID key, 300 graphemes and 3000
bytes of text, strong refs with a ``cid``). ``listRecords`` and ``getAuthorFeed`` read it back.
:class:`BrandRepository` is mixed into :class:`sandbox.bluesky.BlueskySandbox`, which supplies
the mentions (``post``, ``_fact_of``) a reply points at.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox import writes
from sandbox.config import SandboxConfig, dumps
from sandbox.facts import Fact, iso_ms
from socialops.signoff.templates import graphemes

JSON = "application/json; charset=utf-8"
POST = "app.bsky.feed.post"
_TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
_RKEY = re.compile(r"^[A-Za-z0-9._:~-]{1,512}$")


@dataclass
class PublishFaults:
    """``fail_after_write_rate``: the share of writes that happen and are then answered
    ``502 Bad Gateway``. Counters say what the publisher did to the repository."""

    seed: int = 0
    fail_after_write_rate: float = 0.0
    failed_after_write: int = 0
    writes: int = 0
    noops: int = 0
    overwrites: int = 0
    after_write: Callable[[int], None] | None = None
    """Called with the number of records once a write happened (tests: kill the publisher)."""
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(f"{self.seed}|bluesky-publishing")

    def as_json(self) -> dict[str, Any]:
        return {
            "fail_after_write_rate": self.fail_after_write_rate,
            "failed_after_write": self.failed_after_write,
            "writes": self.writes,
            "noops": self.noops,
            "overwrites": self.overwrites,
        }


@dataclass
class StoredRecord:
    uri: str
    cid: str
    value: dict[str, Any]
    indexed_at: str


def record_cid(record: dict[str, Any]) -> str:
    """A CID-like content hash (``bafyrei`` + base32 of SHA-256 of the canonical JSON): the
    same record gives the same CID, any change a different one, as on a PDS."""
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    return "bafyrei" + base64.b32encode(digest).decode().lower().rstrip("=")


def xrpc_error(status: int, error: str, message: str) -> Response:
    return Response(dumps({"error": error, "message": message}), status, {"content-type": JSON})


def limit_param(raw: str | None, *, default: int) -> int | None:
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        return None
    return int(raw)


async def read_object(request: Request) -> dict[str, Any] | Response:
    """An XRPC procedure's JSON object input, or the PDS's 400 for one that is not."""
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError:
        return xrpc_error(400, "InvalidRequest", "Request body is not JSON")
    if not isinstance(data, dict):
        return xrpc_error(400, "InvalidRequest", "Request body must be an object")
    return data


class BrandRepository:
    """The XRPC handlers of the brand's repository (writes, and reading its own posts)."""

    config: SandboxConfig
    did: str
    handle: str
    repo: dict[str, StoredRecord]
    publishing: PublishFaults

    def post(self, fact: Fact) -> dict[str, Any]:
        """A mention's post view (the sandbox that mixes this in renders it)."""
        raise NotImplementedError

    def _fact_of(self, uri: str) -> Fact | None:
        """The mention an AT-URI names, if it is visible."""
        raise NotImplementedError

    def own_uri(self, rkey: str) -> str:
        return f"at://{self.did}/{POST}/{rkey}"

    def replies_to(self) -> dict[str, int]:
        """How many of the brand's posts answer each post (by the parent's AT-URI)."""
        counts: dict[str, int] = {}
        for stored in self.repo.values():
            parent = ((stored.value.get("reply") or {}).get("parent") or {}).get("uri")
            key = parent if isinstance(parent, str) else ""
            counts[key] = counts.get(key, 0) + 1
        return counts

    def _brand_author(self) -> dict[str, Any]:
        return {
            "did": self.did,
            "handle": self.handle,
            "displayName": self.config.brand_name,
            "labels": [],
            "createdAt": "2023-05-01T10:00:00.000Z",
        }

    def own_post_view(self, stored: StoredRecord) -> dict[str, Any]:
        return {
            "uri": stored.uri,
            "cid": stored.cid,
            "author": self._brand_author(),
            "record": stored.value,
            "replyCount": 0,
            "repostCount": 0,
            "likeCount": 0,
            "quoteCount": 0,
            "indexedAt": stored.indexed_at,
            "labels": [],
        }

    async def _write_input(self, request: Request) -> dict[str, Any] | Response:
        data = await read_object(request)
        if isinstance(data, Response):
            return data
        if data.get("repo") not in (self.did, self.handle):
            return xrpc_error(401, "AuthRequiredError", "Authentication Required")
        if data.get("collection") != POST:
            return xrpc_error(
                400, "InvalidRequest", f"Unsupported collection: {data.get('collection')}"
            )
        rkey = data.get("rkey")
        if rkey is not None and (not isinstance(rkey, str) or not _RKEY.match(rkey)):
            return xrpc_error(400, "InvalidRequest", f'Invalid record key (got "{rkey}") at $.rkey')
        if rkey is not None and not _TID.match(rkey):
            return xrpc_error(
                400,
                "InvalidRequest",
                f'Invalid record key for {POST}: Invalid TID string (got "{rkey}") at $',
            )
        problem = _invalid_post(data.get("record"))
        if problem is not None:
            return xrpc_error(400, "InvalidRequest", f"Invalid {POST} record: {problem}")
        return data

    def _written(self, body: dict[str, Any]) -> Response:
        """The answer to a write that happened, or (``fail_after_write_rate``) a 502."""
        faults = self.publishing
        if faults.after_write is not None:
            faults.after_write(len(self.repo))
        if writes.fails_after_write(faults):
            return writes.bad_gateway()
        return Response(dumps(body), 200, {"content-type": JSON})

    def _commit(self) -> dict[str, str]:
        return {"cid": "bafyreicommit" + secrets.token_hex(20), "rev": secrets.token_hex(7)}

    async def put_record(self, request: Request) -> Response:
        data = await self._write_input(request)
        if isinstance(data, Response):
            return data
        rkey = data.get("rkey")
        if not isinstance(rkey, str):
            return xrpc_error(400, "InvalidRequest", 'Input must have the property "rkey"')
        record = data["record"]
        cid = record_cid(record)
        current = self.repo.get(rkey)
        body: dict[str, Any] = {"uri": self.own_uri(rkey), "cid": cid}
        if current is not None and current.cid == cid:
            self.publishing.noops += 1  # a real PDS writes nothing and sends no commit
        else:
            if current is not None:
                self.publishing.overwrites += 1
            self.publishing.writes += 1
            self.repo[rkey] = StoredRecord(
                self.own_uri(rkey), cid, record, iso_ms(self.config.clock())
            )
            body["commit"] = self._commit()
        body["validationStatus"] = "valid"
        return self._written(body)

    async def create_record(self, request: Request) -> Response:
        data = await self._write_input(request)
        if isinstance(data, Response):
            return data
        rkey = data.get("rkey") or _next_tid(self.config.clock(), len(self.repo))
        if rkey in self.repo:  # the PDS's unique index refuses it, unhandled
            return xrpc_error(500, "InternalServerError", "Internal Server Error")
        record = data["record"]
        cid = record_cid(record)
        self.publishing.writes += 1
        self.repo[rkey] = StoredRecord(self.own_uri(rkey), cid, record, iso_ms(self.config.clock()))
        body = {"uri": self.own_uri(rkey), "cid": cid, "commit": self._commit()}
        body["validationStatus"] = "valid"
        return self._written(body)

    async def list_records(self, request: Request) -> Response:
        query = request.query_params
        if query.get("repo") not in (self.did, self.handle):
            return xrpc_error(400, "InvalidRequest", f"Could not find repo: {query.get('repo')}")
        limit = limit_param(query.get("limit"), default=50)
        if limit is None:
            return xrpc_error(400, "InvalidRequest", "limit must be between 1 and 100")
        reverse = query.get("reverse") == "true"
        keys = sorted(self.repo, reverse=not reverse) if query.get("collection") == POST else []
        cursor = query.get("cursor")
        if cursor:
            keys = [k for k in keys if (k > cursor if reverse else k < cursor)]
        page = keys[:limit]
        body: dict[str, Any] = {
            "records": [
                {"uri": self.repo[k].uri, "cid": self.repo[k].cid, "value": self.repo[k].value}
                for k in page
            ]
        }
        if page:
            body["cursor"] = page[-1]
        return Response(dumps(body), 200, {"content-type": JSON})

    async def get_author_feed(self, request: Request) -> Response:
        query = request.query_params
        if query.get("actor") not in (self.did, self.handle):
            return xrpc_error(400, "InvalidRequest", "Profile not found")
        limit = limit_param(query.get("limit"), default=50)
        if limit is None:
            return xrpc_error(400, "InvalidRequest", "limit must be between 1 and 100")
        cursor = query.get("cursor")
        ordered = sorted(self.repo.values(), key=lambda r: r.indexed_at, reverse=True)
        if cursor:
            ordered = [r for r in ordered if r.indexed_at < cursor]
        page = ordered[:limit]
        feed = []
        for stored in page:
            item: dict[str, Any] = {"post": self.own_post_view(stored)}
            reply = stored.value.get("reply")
            if isinstance(reply, dict):
                views = {}
                for part in ("root", "parent"):
                    uri = (reply.get(part) or {}).get("uri", "")
                    fact = self._fact_of(uri)
                    views[part] = (
                        self.post(fact)
                        if fact
                        else {"$type": "app.bsky.feed.defs#notFoundPost", "uri": uri}
                    )
                item["reply"] = views
            feed.append(item)
        body: dict[str, Any] = {"feed": feed}
        if len(page) == limit:
            body["cursor"] = page[-1].indexed_at
        return Response(dumps(body), 200, {"content-type": JSON})


def _invalid_post(record: Any) -> str | None:
    """What a PDS's lexicon validation says of an ``app.bsky.feed.post``, or ``None``."""
    if not isinstance(record, dict):
        return "Record must be an object at $.record"
    if record.get("$type") not in (None, POST):
        return "Record/$type must be app.bsky.feed.post"
    text = record.get("text")
    if not isinstance(text, str):
        return 'Record must have the property "text"'
    if graphemes(text) > 300:
        return f"grapheme too big (maximum 300, got {graphemes(text)}) at $.record.text"
    if len(text.encode("utf-8")) > 3000:
        return "text must not be longer than 3000 characters at $.record.text"
    if not isinstance(record.get("createdAt"), str):
        return 'Record must have the property "createdAt"'
    reply = record.get("reply")
    if reply is not None:
        for part in ("root", "parent"):
            ref = reply.get(part) if isinstance(reply, dict) else None
            if not (
                isinstance(ref, dict)
                and isinstance(ref.get("uri"), str)
                and isinstance(ref.get("cid"), str)
            ):
                return f'Record/reply/{part} must have the properties "uri" and "cid"'
    size = len(text.encode("utf-8"))
    for n, facet in enumerate(record.get("facets") or []):
        index = facet.get("index") if isinstance(facet, dict) else None
        start = index.get("byteStart") if isinstance(index, dict) else None
        end = index.get("byteEnd") if isinstance(index, dict) else None
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= size):
            # The PDS only checks the types; the AppView drops such a facet. Stricter here, so
            # a publisher that counts characters instead of bytes fails its tests.
            return f"Record/facets/{n}/index is not a byte range of the text"
    return None


def _next_tid(now: datetime, n: int) -> str:
    micros = int(now.timestamp() * 1_000_000) + n
    value = micros << 10
    alphabet = "234567abcdefghijklmnopqrstuvwxyz"
    return "".join(alphabet[(value >> shift) & 31] for shift in range(60, -1, -5))
