"""The sandbox's Reddit: the OAuth token endpoint, the inbox's username mentions and search.

Served under ``/reddit``: ``POST /reddit/api/v1/access_token`` (HTTP Basic client credentials,
``refresh_token`` or ``password`` grants), ``GET /reddit/message/mentions`` (``t1`` inbox
comments naming ``u/<brand>``), ``GET /reddit/search?q=...&sort=new`` (``t3`` posts naming the
brand in words), ``GET /reddit/api/v1/me``. Listings page by ``after``/``before`` fullnames.
Responses carry ``x-ratelimit-used``/``-remaining`` (a float string) and ``-reset`` (seconds);
a 429 is Reddit's HTML page with ``retry-after``.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.facts import Fact, Plan, PlatformWorld
from sandbox.world import World, dumps

_JSON = "application/json; charset=UTF-8"
_TOO_MANY = (
    b"\n<!doctype html>\n<html>\n  <head>\n    <title>Too Many Requests</title>\n  </head>\n"
    b"  <body>\n    <h1>whoa there, pardner!</h1>\n    <p>we're sorry, but you appear to be a bot"
    b" and we've seen too many requests from you lately. please wait 1 second(s) and try "
    b"again.</p>\n  </body>\n</html>\n"
)
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def base36(n: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = _B36[r] + out
        if not n:
            return out


def _json(status: int, body: object) -> Response:
    return Response(dumps(body), status, {"content-type": _JSON})


class RedditSandbox:
    """State of the Reddit app."""

    def __init__(self, world: World, *, token_ttl: int = 86400) -> None:
        self.facts = PlatformWorld(world, "reddit")
        self.config = world.config
        self.plan = Plan(world.config, "reddit")
        self.token_ttl = token_ttl
        self.brand = world.config.brand_handle
        self._tokens: dict[str, datetime] = {}

    # -- rendering --------------------------------------------------------------------------
    def fullname(self, fact: Fact) -> str:
        prefix = "t1_" if fact.role == "mention" else "t3_"
        return prefix + base36(10_000_000 + fact.k)

    def k_of(self, fullname: str | None) -> int | None:
        if not fullname or fullname[:3] not in ("t1_", "t3_"):
            return None
        try:
            return int(fullname[3:], 36) - 10_000_000
        except ValueError:
            return None

    def _created(self, fact: Fact) -> float:
        return float(int(fact.created_at.timestamp()))

    def comment(self, fact: Fact) -> dict[str, Any]:
        post_id = base36(20_000_000 + fact.k // 3)
        cid = self.fullname(fact)[3:]
        context = f"/r/coffee/comments/{post_id}/northwind_thread/{cid}/?context=3"
        data: dict[str, Any] = {
            "associated_awarding_id": None,
            "author": fact.username,
            "author_fullname": f"t2_{base36(fact.k % 9000 + 1000)}",
            "body": f"u/{self.brand} {fact.text}",
            "body_html": '<!-- SC_OFF --><div class="md"><p>...</p>\n</div><!-- SC_ON -->',
            "context": context,
            "created": self._created(fact),
            "created_utc": self._created(fact),
            "dest": self.brand,
            "distinguished": None,
            "first_message": None,
            "first_message_name": None,
            "id": cid,
            "likes": None,
            "link_title": "Northwind thread",
            "name": self.fullname(fact),
            "new": True,
            "num_comments": 3,
            "parent_id": f"t3_{post_id}",
            "replies": "",
            "score": 1,
            "subject": "username mention",
            "subreddit": "coffee",
            "subreddit_name_prefixed": "r/coffee",
            "type": "username_mention",
            "was_comment": True,
        }
        self._break(fact, data)
        return {"kind": "t1", "data": data}

    def submission(self, fact: Fact) -> dict[str, Any]:
        pid = self.fullname(fact)[3:]
        title, _, rest = fact.text.partition(". ")
        data: dict[str, Any] = {
            "author": fact.username,
            "author_fullname": f"t2_{base36(fact.k % 9000 + 1000)}",
            "created": self._created(fact),
            "created_utc": self._created(fact),
            "id": pid,
            "is_self": True,
            "name": self.fullname(fact),
            "num_comments": fact.k % 11,
            "over_18": False,
            "permalink": f"/r/coffee/comments/{pid}/northwind/",
            "score": fact.k % 50,
            "selftext": f"{rest} ({self.config.brand_name})" if rest else self.config.brand_name,
            "subreddit": "coffee",
            "subreddit_id": "t5_2qhb8",
            "subreddit_name_prefixed": "r/coffee",
            "title": f"{self.config.brand_name}: {title}"[:300],
            "url": f"https://www.reddit.com/r/coffee/comments/{pid}/northwind/",
        }
        self._break(fact, data)
        return {"kind": "t3", "data": data}

    @staticmethod
    def _break(fact: Fact, data: dict[str, Any]) -> None:
        if fact.bad == "missing_account":
            del data["author"]
        elif fact.bad == "garbage_created_at":
            data["created_utc"] = data["created"] = "yesterday-ish"
        elif fact.bad == "future_created_at":
            data["created_utc"] = data["created"] = 4_070_908_800.0  # 2099

    # -- handlers ---------------------------------------------------------------------------
    def _listing(
        self,
        request: Request,
        match: Callable[[Fact], bool],
        render: Callable[[Fact], dict[str, Any]],
    ) -> Response:
        query = request.query_params
        try:
            limit = max(1, min(int(query.get("limit", "25")), 100))
        except ValueError:
            limit = 25
        after = self.k_of(query.get("after"))
        before = self.k_of(query.get("before"))
        children: list[dict[str, Any]] = []
        if before is not None:  # the items just newer than `before`, still newest first
            visible = self.facts.visible()
            for k in range(before + 1, visible.stop):
                fact = self.facts.fact(k)
                if fact.served and match(fact):
                    children.append(render(fact))
                    if len(children) == limit:
                        break
            children.reverse()
            more = False
        else:
            for k in self.facts.newest_first(below=after):
                fact = self.facts.fact(k)
                if fact.served and match(fact):
                    children.append(render(fact))
                    if len(children) == limit + 1:
                        break
            more = len(children) > limit
            children = children[:limit]
        self.plan.stats.items_served += len(children)
        body = {
            "kind": "Listing",
            "data": {
                "after": children[-1]["data"]["name"] if more and children else None,
                "before": None,
                "dist": len(children),
                "modhash": None,
                "geo_filter": "",
                "children": children,
            },
        }
        return _json(200, body)

    async def mentions(self, request: Request) -> Response:
        return self._listing(request, lambda f: f.role == "mention", self.comment)

    async def search(self, request: Request) -> Response:
        words = (request.query_params.get("q") or "").lower().split()
        if not words:
            return self._listing(request, lambda f: False, self.submission)

        def match(fact: Fact) -> bool:
            if fact.role != "keyword":
                return False
            data = self.submission(fact)["data"]
            text = f"{data['title']} {data['selftext']}".lower()
            return all(word in text for word in words)

        return self._listing(request, match, self.submission)

    async def me(self, request: Request) -> Response:
        return _json(200, {"name": self.brand, "id": "sbx1", "total_karma": 4210})

    async def access_token(self, request: Request) -> Response:
        self.plan.stats.requests += 1
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        try:
            client_id = base64.b64decode(credentials).decode().partition(":")[0]
        except ValueError:
            client_id = ""
        if scheme.lower() != "basic" or not client_id:
            self.plan.stats.unauthorized += 1
            return _json(401, {"message": "Unauthorized", "error": 401})
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        grant = form.get("grant_type")
        secret = form.get("refresh_token") if grant == "refresh_token" else form.get("password")
        if grant not in ("refresh_token", "password") or not secret:
            return _json(200, {"error": "unsupported_grant_type"})
        if self.config.tokens is not None and secret not in self.config.tokens:
            self.plan.stats.unauthorized += 1
            return _json(200, {"error": "invalid_grant"})
        token = f"sbx-{secrets.token_hex(10)}"
        self._tokens[token] = self.config.clock() + timedelta(seconds=self.token_ttl)
        self.plan.stats.tokens_issued += 1
        return _json(
            200,
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": self.token_ttl,
                "scope": "identity privatemessages read",
            },
        )

    # -- around the handlers ----------------------------------------------------------------
    def api(
        self, handler: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            self.plan.stats.requests += 1
            now = self.config.clock()
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            expires = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
            if expires is None or now >= expires:
                self.plan.stats.unauthorized += 1
                return _json(401, {"message": "Unauthorized", "error": 401})
            limit, remaining, reset = self.plan.count(token, now)
            headers = {
                "x-ratelimit-used": str(limit - remaining),
                "x-ratelimit-remaining": f"{float(max(remaining, 0)):.1f}",
                "x-ratelimit-reset": str(max(1, int((reset - now).total_seconds()))),
            }
            if remaining < 0:
                self.plan.stats.rate_limited += 1
                return self._too_many()
            fault = self.plan.draw_fault()
            if fault == "500":
                response = _json(500, {"message": "Internal Server Error", "error": 500})
            elif fault == "503":
                response = Response(b"<html>503</html>", 503, {"content-type": "text/html"})
            elif fault == "429":
                return self._too_many()
            else:
                if fault == "latency":
                    await asyncio.sleep(self.config.latency_seconds)
                response = await handler(request)
                if fault == "truncated":
                    body = bytes(response.body)
                    response = Response(body[: len(body) // 2], 200, {"content-type": _JSON})
            response.headers.update(headers)
            return response

        return endpoint

    def _too_many(self) -> Response:
        seconds = max(1, round(self.config.fault_reset_seconds))
        return Response(
            _TOO_MANY,
            429,
            {"content-type": "text/html; charset=UTF-8", "retry-after": str(seconds)},
        )


def create_app(world: World, *, token_ttl: int = 86400) -> Starlette:
    """The Reddit app (mount it at ``/reddit``); ``app.state.reddit`` holds its state."""
    state = RedditSandbox(world, token_ttl=token_ttl)

    async def stats(request: Request) -> Response:
        return _json(200, state.plan.stats.as_json())

    app = Starlette(
        routes=[
            Route("/api/v1/access_token", state.access_token, methods=["POST"]),
            Route("/message/mentions", state.api(state.mentions), methods=["GET"]),
            Route("/search", state.api(state.search), methods=["GET"]),
            Route("/api/v1/me", state.api(state.me), methods=["GET"]),
            Route("/_sandbox/stats", stats, methods=["GET"]),
        ]
    )
    app.state.reddit = state
    return app
