"""The sandbox's Mastodon: a Starlette app speaking a faithful subset of the Mastodon API.

Instances are served under ``/i/<instance>/api/v1/...``; the first instance also at the root.
Every API response carries Mastodon's headers (``x-ratelimit-*``, ``vary``, ``x-request-id``);
auth, rate limits and injected faults apply to API routes, never to the ``/_sandbox`` admin ones.
"""

from __future__ import annotations

import asyncio
import functools
import json
import random
import re
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from sandbox import writes
from sandbox.config import SandboxConfig, check_faults, dumps, reset_time
from sandbox.world import VISIBILITIES, Feed, JSONDict, World

_JSON = "application/json; charset=utf-8"
_IDEMPOTENCY_TTL = timedelta(hours=1)
_URL_RE = re.compile(r"https?://\S+")
_REMOTE_MENTION_RE = re.compile(r"(@[A-Za-z0-9_]+)@[A-Za-z0-9.-]+")
_SERVICE_UNAVAILABLE = (
    b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
    b"<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n"
    b"<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


@dataclass
class Reply:
    """What a handler answers; the wrapper turns it into a response with Mastodon's headers."""

    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def _error(status: int, message: str) -> Reply:
    return Reply(dumps({"error": message}), status)


@dataclass
class Stats:
    """Counters served at ``GET /_sandbox/stats``."""

    requests: int = 0
    notifications_served: int = 0
    posts_created: int = 0
    idempotent_replays: int = 0
    rate_limited: int = 0
    unauthorized: int = 0
    faults: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> JSONDict:
        return {
            "requests": self.requests,
            "notifications_served": self.notifications_served,
            "posts_created": self.posts_created,
            "idempotent_replays": self.idempotent_replays,
            "rate_limited": self.rate_limited,
            "unauthorized": self.unauthorized,
            "faults": dict(sorted(self.faults.items())),
        }


def _iso_us(dt: datetime) -> str:
    """Rate-limit reset format: ISO 8601 with microseconds and ``Z``."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _limit_param(raw: str | None, *, default: int) -> int:
    """Mastodon's ``limit_param``: ``[params[:limit].to_i.abs, default * 2].min``."""
    if raw is None:
        return default
    match = re.match(r"\s*[-+]?(\d+)", raw)
    return min(int(match.group(1)) if match else 0, default * 2)


def _id_param(raw: str | None) -> int | None:
    return int(raw) if raw is not None and raw.isascii() and raw.isdigit() else None


def _text_length(text: str) -> int:
    """Characters as Mastodon counts them: a URL is 23, a remote mention counts without domain."""
    text = _URL_RE.sub("x" * 23, text)
    return len(_REMOTE_MENTION_RE.sub(r"\1", text))


class Sandbox:
    """The app's state: the world, rate-limit counters, the fault plan, idempotency keys."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.world = World(config)
        self.stats = Stats()
        self.fault_rate = config.fault_rate
        self.fault_kinds: tuple[str, ...] = tuple(config.fault_kinds)
        self._fault_rng = random.Random(f"{config.seed}|faults")
        self._windows: dict[str, tuple[int, int]] = {}
        # Mastodon keys them per account; every token here acts as the brand's account.
        self._idempotency: dict[tuple[str, str], tuple[str, datetime]] = {}
        # A webhook sink for notifications (Apprise's json:// posts), newest last, bounded.
        self.inbox: deque[dict[str, Any]] = deque(maxlen=5000)
        self.inbox_total = 0
        # How POST /api/v1/statuses misbehaves on purpose (see "Publishing faults" below).
        self.publishing = PublishFaults(seed=config.seed)

    # -- cross-cutting -----------------------------------------------------------------------

    def _rate_limit(self, key: str, now: datetime) -> tuple[dict[str, str], bool]:
        window = self.config.rate_window
        index = int(now.timestamp()) // window
        seen_index, count = self._windows.get(key, (index, 0))
        count = count + 1 if seen_index == index else 1
        self._windows[key] = (index, count)
        limit = self.config.rate_limit
        headers = {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(max(limit - count, 0)),
            "x-ratelimit-reset": _iso_us(reset_time(now, window)),
        }
        return headers, count <= limit

    def _draw_fault(self) -> str | None:
        if self.fault_rate <= 0 or not self.fault_kinds:
            return None
        if self._fault_rng.random() >= self.fault_rate:
            return None
        kind = self._fault_rng.choice(self.fault_kinds)
        self.stats.faults[kind] = self.stats.faults.get(kind, 0) + 1
        return kind

    def api(
        self, handler: Callable[[Request, Feed], Awaitable[Reply]]
    ) -> Callable[[Request], Awaitable[Response]]:
        """Wrap a handler with instance lookup, rate limit, auth, faults and headers."""

        async def endpoint(request: Request) -> Response:
            started = time.perf_counter()
            headers = {
                "content-type": _JSON,
                "cache-control": "private, no-store",
                "vary": "Authorization, Origin",
                "x-request-id": str(uuid.uuid4()),
            }
            instance = request.path_params.get("instance", self.config.instances[0])
            feed = self.world.feeds.get(instance)
            if feed is None:
                return Response(dumps({"error": "Record not found"}), 404, headers)
            self.stats.requests += 1
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            token = token.strip() if scheme.lower() == "bearer" else ""
            client = request.client.host if request.client else "unknown"
            now = self.config.clock()
            limits, allowed = self._rate_limit(token or f"ip:{client}", now)
            headers.update(limits)
            if not allowed:
                self.stats.rate_limited += 1
                reply = _error(429, "Too many requests")
            elif not token or (self.config.tokens is not None and token not in self.config.tokens):
                self.stats.unauthorized += 1
                reply = _error(401, "The access token is invalid")
            else:
                reply = await self._call(handler, request, feed, headers, now)
            headers.update(reply.headers)
            headers["x-runtime"] = f"{time.perf_counter() - started:.6f}"
            return Response(reply.body, reply.status, headers)

        return endpoint

    async def _call(
        self,
        handler: Callable[[Request, Feed], Awaitable[Reply]],
        request: Request,
        feed: Feed,
        headers: dict[str, str],
        now: datetime,
    ) -> Reply:
        fault = self._draw_fault()
        if fault == "500":
            return _error(500, "An unexpected error occurred")
        if fault == "503":
            return Reply(_SERVICE_UNAVAILABLE, 503, {"content-type": "text/html"})
        if fault == "429":
            headers["x-ratelimit-remaining"] = "0"
            reset = now + timedelta(seconds=self.config.fault_reset_seconds)
            headers["x-ratelimit-reset"] = _iso_us(reset)
            return _error(429, "Too many requests")
        if fault == "latency":
            await asyncio.sleep(self.config.latency_seconds)
        reply = await handler(request, feed)
        if fault == "truncated":
            # The handler ran (a post was made); the client gets half a body.
            reply.body = reply.body[: len(reply.body) // 2]
        return reply

    # -- API handlers ------------------------------------------------------------------------

    async def notifications(self, request: Request, feed: Feed) -> Reply:
        query = request.query_params
        types = query.getlist("types[]") + query.getlist("types")
        excluded = query.getlist("exclude_types[]") + query.getlist("exclude_types")
        if (types and "mention" not in types) or "mention" in excluded:
            return Reply(b"[]")
        body, count, newest, oldest = feed.page(
            max_id=_id_param(query.get("max_id")),
            since_id=_id_param(query.get("since_id")),
            min_id=_id_param(query.get("min_id")),
            limit=_limit_param(query.get("limit"), default=40),
        )
        if newest is None or oldest is None:
            return Reply(body)
        self.stats.notifications_served += count
        return Reply(body, headers={"link": _link_header(request, newest, oldest)})

    async def verify_credentials(self, request: Request, feed: Feed) -> Reply:
        account = dict(feed.brand_account)
        account["source"] = {
            "privacy": "public",
            "sensitive": False,
            "language": "en",
            "note": "",
            "fields": [],
            "follow_requests_count": 0,
            "hide_collections": False,
            "discoverable": True,
            "indexable": True,
            "attribution_domains": [],
        }
        account["role"] = {
            "id": "-99",
            "name": "",
            "permissions": "65536",
            "color": "",
            "highlighted": False,
        }
        return Reply(dumps(account))

    async def account_statuses(self, request: Request, feed: Feed) -> Reply:
        if request.path_params["account_id"] != feed.brand_account["id"]:
            return _error(404, "Record not found")
        query = request.query_params
        statuses = feed.brand_statuses(
            max_id=_id_param(query.get("max_id")),
            since_id=_id_param(query.get("since_id")),
            min_id=_id_param(query.get("min_id")),
            limit=_limit_param(query.get("limit"), default=20),
        )
        if not statuses:
            return Reply(b"[]")
        link = _link_header(request, int(statuses[0]["id"]), int(statuses[-1]["id"]))
        return Reply(dumps(statuses), headers={"link": link})

    async def get_status(self, request: Request, feed: Feed) -> Reply:
        status = feed.status(request.path_params["status_id"])
        if status is None:
            return _error(404, "Record not found")
        return Reply(dumps(status))

    async def post_status(self, request: Request, feed: Feed) -> Reply:
        params: dict[str, Any] = dict(request.query_params)
        raw = await request.body()
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                data = json.loads(raw or b"{}")
            except ValueError:
                return _error(400, "Error occurred while parsing request parameters")
            if not isinstance(data, dict):
                return _error(400, "Error occurred while parsing request parameters")
            params.update(data)
        else:
            params.update(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))

        key = request.headers.get("idempotency-key")
        now = self.config.clock()
        if key:
            stored = self._idempotency.get((feed.instance, key))
            if stored is not None and stored[1] > now:
                existing = feed.status(stored[0])
                if existing is not None:
                    self.stats.idempotent_replays += 1
                    return Reply(dumps(existing))

        parent: JSONDict | None = None
        reply_to = params.get("in_reply_to_id")
        if reply_to not in (None, ""):
            parent = feed.status(str(reply_to))
            if parent is None:
                return _error(404, "Record not found")
        text = str(params.get("status") or "")
        if not text.strip():
            return _error(422, "Validation failed: Text can't be blank")
        if _text_length(text) > 500:
            return _error(422, "Validation failed: Text character limit of 500 exceeded")
        visibility = str(params.get("visibility") or "public")
        if visibility not in VISIBILITIES:
            return _error(422, "Validation failed: Visibility is not included in the list")
        language = params.get("language") or "en"
        status = feed.post(
            text=text,
            in_reply_to=parent,
            visibility=visibility,
            spoiler_text=str(params.get("spoiler_text") or ""),
            language=str(language),
        )
        self.stats.posts_created += 1
        if key:
            self._idempotency[(feed.instance, key)] = (status["id"], now + _IDEMPOTENCY_TTL)
        return Reply(dumps(status))

    # -- admin -------------------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        body = {
            "status": "ok",
            "instances": list(self.config.instances),
            "now": _iso_us(self.config.clock()),
        }
        return Response(dumps(body), 200, {"content-type": _JSON})

    async def inbox_view(self, request: Request) -> Response:
        """POST /_sandbox/inbox/{recipient}: record a notification; GET: the recorded ones."""
        if request.method == "POST":
            try:
                body: Any = json.loads(await request.body() or b"null")
            except json.JSONDecodeError:
                return Response(dumps({"error": "not JSON"}), 400, {"content-type": _JSON})
            self.inbox.append(
                {
                    "recipient": request.path_params.get("recipient", ""),
                    "received_at": _iso_us(self.config.clock()),
                    "body": body,
                }
            )
            self.inbox_total += 1
            return Response(dumps({"ok": True}), 200, {"content-type": _JSON})
        return Response(
            dumps({"total": self.inbox_total, "recent": list(self.inbox)[-100:]}),
            200,
            {"content-type": _JSON},
        )

    async def stats_view(self, request: Request) -> Response:
        return Response(dumps(self.stats.as_json()), 200, {"content-type": _JSON})

    async def faults_view(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                data = json.loads(await request.body())
                rate = float(data.get("rate", self.fault_rate))
                kinds = tuple(data.get("kinds", self.fault_kinds))
                check_faults(rate, kinds)
            except (ValueError, TypeError, AttributeError) as exc:
                return Response(dumps({"error": str(exc)}), 422, {"content-type": _JSON})
            self.fault_rate, self.fault_kinds = rate, kinds
        body = {"rate": self.fault_rate, "kinds": list(self.fault_kinds)}
        return Response(dumps(body), 200, {"content-type": _JSON})


def _link_header(request: Request, newest: int, oldest: int) -> str:
    """Mastodon's Link header: the other query parameters kept, sorted by name like Rails."""
    url = request.url
    base = f"{url.scheme}://{url.netloc}{url.path}"
    kept = [
        (k, v)
        for k, v in request.query_params.multi_items()
        if k not in ("max_id", "min_id", "since_id")
    ]

    def with_param(name: str, value: int) -> str:
        params = sorted([*kept, (name, str(value))], key=lambda kv: kv[0])
        return f"{base}?{urlencode(params)}"

    return (
        f'<{with_param("max_id", oldest)}>; rel="next", '
        f'<{with_param("min_id", newest)}>; rel="prev"'
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    message = "Record not found" if status == 404 else (getattr(exc, "detail", "") or "Error")
    return Response(dumps({"error": message}), status, {"content-type": _JSON})


# --------------------------------------------------------------------------------------------
# Publishing faults: what real Mastodon-API servers do to a publisher
# --------------------------------------------------------------------------------------------


@dataclass
class PublishFaults:
    """``ignore_idempotency_key``: behave like GoToSocial, Takahē or snac (a repeated key makes
    a second status). ``fail_after_write_rate``: the share of posts that are written and then
    answered ``502 Bad Gateway`` (a proxy timing out in front of a server that did the work)."""

    seed: int = 0
    ignore_idempotency_key: bool = False
    fail_after_write_rate: float = 0.0
    failed_after_write: int = 0
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(f"{self.seed}|publishing")

    def as_json(self) -> JSONDict:
        return {
            "ignore_idempotency_key": self.ignore_idempotency_key,
            "fail_after_write_rate": self.fail_after_write_rate,
            "failed_after_write": self.failed_after_write,
        }


async def post_status_with_faults(sandbox: Sandbox, request: Request, feed: Feed) -> Reply:
    """``POST /api/v1/statuses`` with the publishing faults applied around the real handler."""
    faults = sandbox.publishing
    if faults.ignore_idempotency_key and "idempotency-key" in request.headers:
        scope = dict(request.scope)
        scope["headers"] = [
            (k, v) for k, v in request.scope["headers"] if k.lower() != b"idempotency-key"
        ]
        request = Request(scope, request.receive)
    reply = await sandbox.post_status(request, feed)
    written = reply.status == 200
    if written and writes.fails_after_write(faults):
        return Reply(writes.BAD_GATEWAY, 502, {"content-type": "text/html"})
    return reply


async def publishing_view(sandbox: Sandbox, request: Request) -> Response:
    """GET/POST ``/_sandbox/publishing``: read or set the publishing faults (JSON)."""
    faults = sandbox.publishing

    def apply(data: Any) -> None:
        writes.set_rate(faults, data, "fail_after_write_rate")
        faults.ignore_idempotency_key = bool(
            data.get("ignore_idempotency_key", faults.ignore_idempotency_key)
        )

    return await writes.faults_view(faults, request, apply, content_type=_JSON)


def create_app(config: SandboxConfig | None = None) -> Starlette:
    """The sandbox as an ASGI app. ``app.state.sandbox`` holds its state (world, stats)."""
    sandbox = Sandbox(config or SandboxConfig())
    api: list[BaseRoute] = [
        Route("/api/v1/notifications", sandbox.api(sandbox.notifications), methods=["GET"]),
        Route(
            "/api/v1/accounts/verify_credentials",
            sandbox.api(sandbox.verify_credentials),
            methods=["GET"],
        ),
        Route(
            "/api/v1/accounts/{account_id}/statuses",
            sandbox.api(sandbox.account_statuses),
            methods=["GET"],
        ),
        Route("/api/v1/statuses/{status_id}", sandbox.api(sandbox.get_status), methods=["GET"]),
        Route(
            "/api/v1/statuses",
            sandbox.api(functools.partial(post_status_with_faults, sandbox)),
            methods=["POST"],
        ),
    ]
    routes: list[BaseRoute] = [
        Route("/_sandbox/health", sandbox.health, methods=["GET"]),
        Route("/_sandbox/stats", sandbox.stats_view, methods=["GET"]),
        Route("/_sandbox/inbox", sandbox.inbox_view, methods=["GET"]),
        Route("/_sandbox/inbox/{recipient}", sandbox.inbox_view, methods=["POST"]),
        Route("/_sandbox/faults", sandbox.faults_view, methods=["GET", "POST"]),
        Route(
            "/_sandbox/publishing",
            functools.partial(publishing_view, sandbox),
            methods=["GET", "POST"],
        ),
        Mount("/i/{instance}", routes=api),
        *api,
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    app.state.sandbox = sandbox
    return app


def sandbox_of(app: Starlette) -> Sandbox:
    """The state behind an app made by :func:`create_app`."""
    sandbox = app.state.sandbox
    assert isinstance(sandbox, Sandbox)
    return sandbox
