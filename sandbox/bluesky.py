"""The sandbox's Bluesky: XRPC routes for sessions, notifications and post search.

Served under ``/bluesky/xrpc/<nsid>``. Sessions expire (``ExpiredToken``, HTTP 400) after
``access_ttl``; createSession is limited like bsky.social's (30 per 5 minutes per account).
Every XRPC response carries ``RateLimit-*`` headers; an injected 429 adds ``Retry-After``.
Mentions are posts whose text names ``@<brand>.bsky.social`` (a mention facet, UTF-8 byte
offsets); keyword posts name the brand in words and are found only by ``searchPosts``.

Publishing: the brand's repository (``putRecord``, ``createRecord``, ``listRecords``,
``getAuthorFeed``) is :class:`sandbox.bluesky_repo.BrandRepository`, mixed in here;
``getPosts`` and ``resolveHandle`` read both it and the mentions.
``publishing.fail_after_write_rate`` answers a share of the writes that did happen with
``502 Bad Gateway``, as a proxy in front of a PDS can.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox import writes
from sandbox.bluesky_repo import JSON as _JSON
from sandbox.bluesky_repo import (
    BrandRepository,
    PublishFaults,
    StoredRecord,
    limit_param,
    read_object,
    xrpc_error,
)
from sandbox.config import dumps
from sandbox.facts import Fact, Plan, PlatformWorld, answer, iso_ms, parse_time
from sandbox.world import World

SESSION_LIMIT = 30
SESSION_WINDOW = 300


class BlueskySandbox(BrandRepository):
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
        limit = limit_param(query.get("limit"), default=50)
        if limit is None:
            return xrpc_error(400, "InvalidRequest", "limit must be between 1 and 100")
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
            return xrpc_error(400, "InvalidRequest", 'Error: Params must have the property "q"')
        limit = limit_param(query.get("limit"), default=25)
        if limit is None:
            return xrpc_error(400, "InvalidRequest", "limit must be between 1 and 100")
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
        data = await read_object(request)
        if isinstance(data, Response):
            return data
        now = self.config.clock()
        window = timedelta(seconds=SESSION_WINDOW)
        self._session_times = [t for t in self._session_times if now - t < window]
        if len(self._session_times) >= SESSION_LIMIT:
            self.plan.stats.rate_limited += 1
            reset = self._session_times[0] + window
            response = xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded")
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
            return xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password")
        return self._issue()

    async def refresh_session(self, request: Request) -> Response:
        token = _bearer(request)
        if token not in self._refresh:
            return xrpc_error(400, "ExpiredToken", "Token has been revoked")
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

    def _fact_of(self, uri: str) -> Fact | None:
        match = re.fullmatch(r"at://did:plc:sbx\d+/app\.bsky\.feed\.post/3sbx(\d{9})", uri)
        if match is None:
            return None
        k = int(match.group(1))
        if k not in self.facts.visible():
            return None
        fact = self.facts.fact(k)
        return fact if fact.served and self.uri(fact) == uri else None

    async def get_posts(self, request: Request) -> Response:
        uris = request.query_params.getlist("uris")
        if not uris:
            return xrpc_error(400, "InvalidRequest", 'Error: Params must have the property "uris"')
        if len(uris) > 25:
            return xrpc_error(
                400, "InvalidRequest", "Error: uris must not have more than 25 elements"
            )
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

    async def resolve_handle(self, request: Request) -> Response:
        handle = (request.query_params.get("handle") or "").lower()
        did = self._dids.get(handle)
        if did is None:
            return xrpc_error(400, "HandleNotFound", "Unable to resolve handle")
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
                response = xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded")
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
            return xrpc_error(
                401, "InvalidToken", "Bad token scope" if token else "Authentication Required"
            )
        if now >= expires:
            return xrpc_error(400, "ExpiredToken", "Token has expired")
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
            return xrpc_error(500, "InternalServerError", "Internal Server Error")
        if fault == "503":
            return Response(b"upstream connect error", 503, {"content-type": "text/plain"})
        if fault == "429":
            reset = now + timedelta(seconds=self.config.fault_reset_seconds)
            headers["ratelimit-remaining"] = "0"
            headers["ratelimit-reset"] = str(int(reset.timestamp()) + 1)
            headers["retry-after"] = str(max(1, round(self.config.fault_reset_seconds)))
            return xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded")
        return await answer(
            handler,
            request,
            fault,
            latency=self.config.latency_seconds,
            content_type=_JSON,
            truncated_status=None,
        )


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
