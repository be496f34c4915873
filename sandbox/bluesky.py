"""The sandbox's Bluesky: XRPC routes for sessions, notifications and post search.

Served under ``/bluesky/xrpc/<nsid>``. Sessions expire (``ExpiredToken``, HTTP 400) after
``access_ttl``; createSession is limited like bsky.social's (30 per 5 minutes per account).
Every XRPC response carries ``RateLimit-*`` headers; an injected 429 adds ``Retry-After``.
Mentions are posts whose text names ``@<brand>.bsky.social`` (a mention facet, UTF-8 byte
offsets); keyword posts name the brand in words and are found only by ``searchPosts``.

Publishing, as a real PDS does it (measured on ``@atproto/dev-env`` 0.6.7, see
tests/fixtures/bluesky/devenv-publishing.json): the brand's repository takes ``putRecord``
(an identical record under an existing key is a no-op answering the same ``uri`` and ``cid``
and no ``commit``; a different one overwrites) and ``createRecord`` (an existing key answers
500 ``InternalServerError``); records are validated (a TID key, 300 graphemes and 3000 bytes of
text, strong refs with a ``cid``). ``getPosts``, ``listRecords``, ``getAuthorFeed`` and
``resolveHandle`` read it back. ``publishing.fail_after_write_rate`` answers a share of the
writes that did happen with ``502 Bad Gateway``, as a proxy in front of a PDS can.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox import writes
from sandbox.config import dumps
from sandbox.facts import Fact, Plan, PlatformWorld, answer, iso_ms, parse_time
from sandbox.world import World
from socialops.signoff.templates import graphemes

_JSON = "application/json; charset=utf-8"
SESSION_LIMIT = 30
SESSION_WINDOW = 300


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


def _error(status: int, error: str, message: str) -> Response:
    return Response(dumps({"error": error, "message": message}), status, {"content-type": _JSON})


class BlueskySandbox:
    """State of the Bluesky app: facts, sessions, fault plan."""

    def __init__(self, world: World, *, access_ttl: timedelta = timedelta(hours=2)) -> None:
        self.facts = PlatformWorld(world, "bluesky")
        self.config = world.config
        self.plan = Plan(world.config, "bluesky")
        self.access_ttl = access_ttl
        self.handle = f"{self.config.brand_handle}.bsky.social"
        self.did = "did:plc:brandsbx0000000000000000"
        self._access: dict[str, datetime] = {}
        self._refresh: set[str] = set()
        self._session_times: list[datetime] = []
        self.repo: dict[str, StoredRecord] = {}
        self.publishing = PublishFaults(seed=world.config.seed)
        self._dids: dict[str, str] = {self.handle: self.did}

    # -- rendering --------------------------------------------------------------------------
    def author(self, fact: Fact) -> dict[str, Any]:
        name = fact.username.lower().replace("_", "-")
        did = f"did:plc:sbx{fact.k:021d}"[:32]
        self._dids.setdefault(f"{name}.bsky.social", did)
        return {
            "did": did,
            "handle": f"{name}.bsky.social",
            "displayName": fact.display_name,
            "avatar": f"https://cdn.bsky.app/img/avatar/plain/sbx/{fact.k}@jpeg",
            "labels": [],
            "createdAt": "2023-05-01T10:00:00.000Z",
        }

    def uri(self, fact: Fact) -> str:
        return f"at://did:plc:sbx{fact.k:021d}"[:37] + f"/app.bsky.feed.post/3sbx{fact.k:09d}"

    def record(self, fact: Fact) -> dict[str, Any]:
        brand = f"@{self.handle}"
        if fact.role == "keyword":
            text = f"{self.config.brand_name}: {fact.text}"
        else:
            text = f"{brand} {fact.text}"
        facets: list[dict[str, Any]] = []
        if fact.role == "mention":
            facets.append(
                {
                    "$type": "app.bsky.richtext.facet",
                    "index": {"byteStart": 0, "byteEnd": len(brand.encode("utf-8"))},
                    "features": [{"$type": "app.bsky.richtext.facet#mention", "did": self.did}],
                }
            )
        created = iso_ms(fact.created_at)
        if fact.bad == "garbage_created_at":
            created = "yesterday-ish"
        elif fact.bad == "future_created_at":
            created = "2099-" + created[5:]
        record: dict[str, Any] = {"$type": "app.bsky.feed.post", "text": text, "createdAt": created}
        if fact.lang:
            record["langs"] = [fact.lang]
        if facets:
            record["facets"] = facets
        return record

    def post(self, fact: Fact) -> dict[str, Any]:
        view: dict[str, Any] = {
            "uri": self.uri(fact),
            "cid": f"bafyreisbx{fact.k:040d}"[:59],
            "author": self.author(fact),
            "record": self.record(fact),
            "replyCount": 0,
            "repostCount": 0,
            "likeCount": fact.k % 7,
            "quoteCount": 0,
            "indexedAt": iso_ms(fact.at),
            "labels": [],
        }
        if fact.bad == "missing_account":
            del view["author"]
        return view

    def notification(self, fact: Fact) -> dict[str, Any]:
        post = self.post(fact)
        post.pop("replyCount"), post.pop("repostCount"), post.pop("likeCount")
        post.pop("quoteCount")
        post["reason"] = "mention"
        post["isRead"] = False
        return post

    def searchable_text(self, fact: Fact) -> str:
        """What search matches: the text without mention facets (handles are not words)."""
        return fact.text if fact.role == "mention" else self.record(fact)["text"]

    # -- handlers ---------------------------------------------------------------------------
    async def list_notifications(self, request: Request) -> Response:
        query = request.query_params
        reasons = query.getlist("reasons")
        limit = _limit(query.get("limit"), default=50)
        if limit is None:
            return _error(400, "InvalidRequest", "limit must be between 1 and 100")
        below = _cursor_k(query.get("cursor"))
        items: list[dict[str, Any]] = []
        last_k = None
        if not reasons or "mention" in reasons:
            for k in self.facts.newest_first(below=below):
                fact = self.facts.fact(k)
                if fact.role != "mention" or not fact.served:
                    continue
                items.append(self.notification(fact))
                last_k = k
                if len(items) == limit:
                    break
        body: dict[str, Any] = {"notifications": items}
        if len(items) == limit and last_k is not None and last_k > self.facts.first_k:
            body["cursor"] = f"{self.facts.fact(last_k).at_ms}::bafyreisbx{last_k}"
        self.plan.stats.items_served += len(items)
        return Response(dumps(body), 200, {"content-type": _JSON})

    async def search_posts(self, request: Request) -> Response:
        query = request.query_params
        q = (query.get("q") or "").strip().lower()
        if not q:
            return _error(400, "InvalidRequest", 'Error: Params must have the property "q"')
        limit = _limit(query.get("limit"), default=25)
        if limit is None:
            return _error(400, "InvalidRequest", "limit must be between 1 and 100")
        since = parse_time(query.get("since"))
        below = _cursor_k(query.get("cursor"))
        words = q.split()
        posts: list[dict[str, Any]] = []
        last_k = None
        for k in self.facts.newest_first(below=below):
            fact = self.facts.fact(k)
            if since is not None and fact.at < since:
                break
            text = self.searchable_text(fact).lower()
            if not fact.served or not all(word in text for word in words):
                continue
            posts.append(self.post(fact))
            last_k = k
            if len(posts) == limit:
                break
        body: dict[str, Any] = {"posts": posts}
        if len(posts) == limit and last_k is not None:
            body["cursor"] = f"sbx{last_k}"
        self.plan.stats.items_served += len(posts)
        return Response(dumps(body), 200, {"content-type": _JSON})

    async def get_session(self, request: Request) -> Response:
        return Response(
            dumps({"did": self.did, "handle": self.handle, "active": True}),
            200,
            {"content-type": _JSON},
        )

    async def create_session(self, request: Request) -> Response:
        try:
            data = json.loads(await request.body() or b"{}")
        except ValueError:
            return _error(400, "InvalidRequest", "Request body is not JSON")
        if not isinstance(data, dict):
            return _error(400, "InvalidRequest", "Request body must be an object")
        now = self.config.clock()
        window = timedelta(seconds=SESSION_WINDOW)
        self._session_times = [t for t in self._session_times if now - t < window]
        if len(self._session_times) >= SESSION_LIMIT:
            self.plan.stats.rate_limited += 1
            reset = self._session_times[0] + window
            response = _error(429, "RateLimitExceeded", "Rate Limit Exceeded")
            response.headers.update(_limit_headers(SESSION_LIMIT, 0, reset, SESSION_WINDOW))
            response.headers["retry-after"] = str(max(1, int((reset - now).total_seconds())))
            return response
        self._session_times.append(now)
        password = data.get("password")
        tokens = self.config.tokens
        if (
            data.get("identifier") not in (self.handle, self.did)
            or not password
            or (tokens is not None and password not in tokens)
        ):
            self.plan.stats.unauthorized += 1
            return _error(401, "AuthenticationRequired", "Invalid identifier or password")
        return self._issue()

    async def refresh_session(self, request: Request) -> Response:
        token = _bearer(request)
        if token not in self._refresh:
            return _error(400, "ExpiredToken", "Token has been revoked")
        self._refresh.discard(token)
        return self._issue(created=False)

    def _issue(self, *, created: bool = True) -> Response:
        access, refresh = (
            f"sbx-access-{secrets.token_hex(8)}",
            f"sbx-refresh-{secrets.token_hex(8)}",
        )
        self._access[access] = self.config.clock() + self.access_ttl
        self._refresh.add(refresh)
        if created:
            self.plan.stats.sessions_created += 1
        body = {
            "did": self.did,
            "handle": self.handle,
            "email": f"social@{self.config.brand_handle}.example",
            "emailConfirmed": True,
            "accessJwt": access,
            "refreshJwt": refresh,
            "active": True,
        }
        return Response(dumps(body), 200, {"content-type": _JSON})

    # -- publishing: the brand's repository ------------------------------------------------
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

    def _fact_of(self, uri: str) -> Fact | None:
        match = re.fullmatch(r"at://did:plc:sbx\d+/app\.bsky\.feed\.post/3sbx(\d{9})", uri)
        if match is None:
            return None
        k = int(match.group(1))
        if k not in self.facts.visible():
            return None
        fact = self.facts.fact(k)
        return fact if fact.served and self.uri(fact) == uri else None

    async def _write_input(self, request: Request) -> dict[str, Any] | Response:
        try:
            data = json.loads(await request.body() or b"{}")
        except ValueError:
            return _error(400, "InvalidRequest", "Request body is not JSON")
        if not isinstance(data, dict):
            return _error(400, "InvalidRequest", "Request body must be an object")
        if data.get("repo") not in (self.did, self.handle):
            return _error(401, "AuthRequiredError", "Authentication Required")
        if data.get("collection") != POST:
            return _error(
                400, "InvalidRequest", f"Unsupported collection: {data.get('collection')}"
            )
        rkey = data.get("rkey")
        if rkey is not None and (not isinstance(rkey, str) or not _RKEY.match(rkey)):
            return _error(400, "InvalidRequest", f'Invalid record key (got "{rkey}") at $.rkey')
        if rkey is not None and not _TID.match(rkey):
            return _error(
                400,
                "InvalidRequest",
                f'Invalid record key for {POST}: Invalid TID string (got "{rkey}") at $',
            )
        problem = _invalid_post(data.get("record"))
        if problem is not None:
            return _error(400, "InvalidRequest", f"Invalid {POST} record: {problem}")
        return data

    def _written(self, body: dict[str, Any]) -> Response:
        """The answer to a write that happened, or (``fail_after_write_rate``) a 502."""
        faults = self.publishing
        if faults.after_write is not None:
            faults.after_write(len(self.repo))
        if writes.fails_after_write(faults):
            return writes.bad_gateway()
        return Response(dumps(body), 200, {"content-type": _JSON})

    def _commit(self) -> dict[str, str]:
        return {"cid": "bafyreicommit" + secrets.token_hex(20), "rev": secrets.token_hex(7)}

    async def put_record(self, request: Request) -> Response:
        data = await self._write_input(request)
        if isinstance(data, Response):
            return data
        rkey = data.get("rkey")
        if not isinstance(rkey, str):
            return _error(400, "InvalidRequest", 'Input must have the property "rkey"')
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
            return _error(500, "InternalServerError", "Internal Server Error")
        record = data["record"]
        cid = record_cid(record)
        self.publishing.writes += 1
        self.repo[rkey] = StoredRecord(self.own_uri(rkey), cid, record, iso_ms(self.config.clock()))
        body = {"uri": self.own_uri(rkey), "cid": cid, "commit": self._commit()}
        body["validationStatus"] = "valid"
        return self._written(body)

    async def get_posts(self, request: Request) -> Response:
        uris = request.query_params.getlist("uris")
        if not uris:
            return _error(400, "InvalidRequest", 'Error: Params must have the property "uris"')
        if len(uris) > 25:
            return _error(400, "InvalidRequest", "Error: uris must not have more than 25 elements")
        posts: list[dict[str, Any]] = []
        for uri in uris:
            own = next((r for r in self.repo.values() if r.uri == uri), None)
            if own is not None:
                posts.append(self.own_post_view(own))
                continue
            fact = self._fact_of(uri)
            if fact is not None:
                posts.append(self.post(fact))
        return Response(dumps({"posts": posts}), 200, {"content-type": _JSON})

    async def list_records(self, request: Request) -> Response:
        query = request.query_params
        if query.get("repo") not in (self.did, self.handle):
            return _error(400, "InvalidRequest", f"Could not find repo: {query.get('repo')}")
        limit = _limit(query.get("limit"), default=50)
        if limit is None:
            return _error(400, "InvalidRequest", "limit must be between 1 and 100")
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
        return Response(dumps(body), 200, {"content-type": _JSON})

    async def get_author_feed(self, request: Request) -> Response:
        query = request.query_params
        if query.get("actor") not in (self.did, self.handle):
            return _error(400, "InvalidRequest", "Profile not found")
        limit = _limit(query.get("limit"), default=50)
        if limit is None:
            return _error(400, "InvalidRequest", "limit must be between 1 and 100")
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
        return Response(dumps(body), 200, {"content-type": _JSON})

    async def resolve_handle(self, request: Request) -> Response:
        handle = (request.query_params.get("handle") or "").lower()
        did = self._dids.get(handle)
        if did is None:
            return _error(400, "HandleNotFound", "Unable to resolve handle")
        return Response(dumps({"did": did}), 200, {"content-type": _JSON})

    # -- around the handlers ----------------------------------------------------------------
    def xrpc(
        self, handler: Callable[[Request], Awaitable[Response]], *, authed: bool = True
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            self.plan.stats.requests += 1
            now = self.config.clock()
            key = _bearer(request) or (request.client.host if request.client else "ip")
            limit, remaining, reset = self.plan.count(key, now)
            headers = _limit_headers(limit, max(remaining, 0), reset, self.config.rate_window)
            if remaining < 0:
                self.plan.stats.rate_limited += 1
                response = _error(429, "RateLimitExceeded", "Rate Limit Exceeded")
                headers["retry-after"] = str(max(1, int((reset - now).total_seconds())))
            elif authed and (refused := self._check_access(request, now)) is not None:
                response = refused
            else:
                response = await self._call(handler, request, headers, now)
            response.headers.update(headers)
            return response

        return endpoint

    def _check_access(self, request: Request, now: datetime) -> Response | None:
        token = _bearer(request)
        expires = self._access.get(token or "")
        if expires is None:
            self.plan.stats.unauthorized += 1
            return _error(
                401, "InvalidToken", "Bad token scope" if token else "Authentication Required"
            )
        if now >= expires:
            return _error(400, "ExpiredToken", "Token has expired")
        return None

    async def _call(
        self,
        handler: Callable[[Request], Awaitable[Response]],
        request: Request,
        headers: dict[str, str],
        now: datetime,
    ) -> Response:
        fault = self.plan.draw_fault()
        if fault == "500":
            return _error(500, "InternalServerError", "Internal Server Error")
        if fault == "503":
            return Response(b"upstream connect error", 503, {"content-type": "text/plain"})
        if fault == "429":
            reset = now + timedelta(seconds=self.config.fault_reset_seconds)
            headers["ratelimit-remaining"] = "0"
            headers["ratelimit-reset"] = str(int(reset.timestamp()) + 1)
            headers["retry-after"] = str(max(1, round(self.config.fault_reset_seconds)))
            return _error(429, "RateLimitExceeded", "Rate Limit Exceeded")
        return await answer(
            handler,
            request,
            fault,
            latency=self.config.latency_seconds,
            content_type=_JSON,
            truncated_status=None,
        )


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


def _limit_headers(limit: int, remaining: int, reset: datetime, window: int) -> dict[str, str]:
    return {
        "ratelimit-limit": str(limit),
        "ratelimit-remaining": str(remaining),
        "ratelimit-reset": str(int(reset.timestamp())),
        "ratelimit-policy": f"{limit};w={window}",
    }


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _limit(raw: str | None, *, default: int) -> int | None:
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        return None
    return int(raw)


def _cursor_k(raw: str | None) -> int | None:
    """The ``k`` a cursor stands for (notifications ``<ms>::bafyreisbx<k>``, search ``sbx<k>``)."""
    if not raw:
        return None
    tail = raw.rsplit("sbx", 1)[-1]
    return int(tail) if tail.isdigit() else None


def create_app(world: World, *, access_ttl: timedelta = timedelta(hours=2)) -> Starlette:
    """The Bluesky app (mount it at ``/bluesky``); ``app.state.bluesky`` holds its state."""
    state = BlueskySandbox(world, access_ttl=access_ttl)

    async def stats(request: Request) -> Response:
        return Response(dumps(state.plan.stats.as_json()), 200, {"content-type": _JSON})

    async def publishing(request: Request) -> Response:
        """GET/POST ``/_sandbox/publishing``: the publishing faults and counters (JSON)."""
        faults = state.publishing
        return await writes.faults_view(
            faults,
            request,
            lambda data: writes.set_rate(faults, data, "fail_after_write_rate"),
            content_type=_JSON,
        )

    routes = [
        Route(
            "/xrpc/app.bsky.notification.listNotifications",
            state.xrpc(state.list_notifications),
            methods=["GET"],
        ),
        Route("/xrpc/app.bsky.feed.searchPosts", state.xrpc(state.search_posts), methods=["GET"]),
        Route(
            "/xrpc/com.atproto.server.getSession", state.xrpc(state.get_session), methods=["GET"]
        ),
        Route(
            "/xrpc/com.atproto.server.createSession",
            state.xrpc(state.create_session, authed=False),
            methods=["POST"],
        ),
        Route(
            "/xrpc/com.atproto.server.refreshSession",
            state.xrpc(state.refresh_session, authed=False),
            methods=["POST"],
        ),
        Route("/xrpc/com.atproto.repo.putRecord", state.xrpc(state.put_record), methods=["POST"]),
        Route(
            "/xrpc/com.atproto.repo.createRecord",
            state.xrpc(state.create_record),
            methods=["POST"],
        ),
        Route(
            "/xrpc/com.atproto.repo.listRecords", state.xrpc(state.list_records), methods=["GET"]
        ),
        Route("/xrpc/app.bsky.feed.getPosts", state.xrpc(state.get_posts), methods=["GET"]),
        Route(
            "/xrpc/app.bsky.feed.getAuthorFeed",
            state.xrpc(state.get_author_feed),
            methods=["GET"],
        ),
        Route(
            "/xrpc/com.atproto.identity.resolveHandle",
            state.xrpc(state.resolve_handle),
            methods=["GET"],
        ),
        Route("/_sandbox/stats", stats, methods=["GET"]),
        Route("/_sandbox/publishing", publishing, methods=["GET", "POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.bluesky = state
    return app
