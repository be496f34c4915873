"""The sandbox's X API v2: the brand account's mentions timeline and user lookup.

Served under ``/x``: ``GET /x/2/users/<id>/mentions`` (``since_id``, ``until_id``,
``start_time``, ``end_time``, ``max_results`` 5-100, ``pagination_token``, ``expansions=author_id``
with ``user.fields``) and ``GET /x/2/users/<id>``. Ids are snowflakes (time in the high bits).
Every response carries ``x-rate-limit-limit``/``-remaining``/``-reset`` (epoch seconds); errors
are RFC 7807 problems. ``reads`` counts the posts served, as X would bill them.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left, bisect_right
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.facts import Fact, Plan, PlatformWorld, iso_ms
from sandbox.world import World, dumps

_JSON = "application/json; charset=utf-8"
_PROBLEM = "application/problem+json"
TWEPOCH_MS = 1288834974657
BRAND_USER_ID = "1500000000000000001"


def _problem(status: int, title: str, detail: str, kind: str = "about:blank") -> Response:
    body = {"title": title, "detail": detail, "type": kind, "status": status}
    return Response(dumps(body), status, {"content-type": _PROBLEM})


class XSandbox:
    """State of the X app."""

    def __init__(self, world: World, *, user_id: str = BRAND_USER_ID) -> None:
        self.facts = PlatformWorld(world, "x", keyword_share=0.0)
        self.config = world.config
        self.plan = Plan(world.config, "x")
        self.user_id = user_id
        self.reads = 0

    def tweet_id(self, k: int) -> int:
        fact = self.facts.fact(k)
        return ((fact.at_ms - TWEPOCH_MS) << 22) | (k & 0x3FFFFF)

    def author_id(self, fact: Fact) -> str:
        return str(2_000_000_000 + fact.k % 5_000)

    def tweet(self, fact: Fact) -> dict[str, Any]:
        tid = str(self.tweet_id(fact.k))
        brand = f"@{self.config.brand_handle}"
        created = iso_ms(fact.created_at)
        if fact.bad == "garbage_created_at":
            created = "yesterday-ish"
        elif fact.bad == "future_created_at":
            created = "2099-" + created[5:]
        return {
            "id": tid,
            "edit_history_tweet_ids": [tid],
            "text": f"{brand} {fact.text}".replace("&", "&amp;"),
            "author_id": self.author_id(fact),
            "created_at": created,
            "conversation_id": tid,
            "lang": fact.lang or "und",
            "entities": {
                "mentions": [
                    {
                        "start": 0,
                        "end": len(brand),
                        "username": self.config.brand_handle,
                        "id": self.user_id,
                    }
                ]
            },
            "public_metrics": {
                "retweet_count": 0,
                "reply_count": 0,
                "like_count": fact.k % 9,
                "quote_count": 0,
            },
        }

    def user(self, fact: Fact) -> dict[str, Any]:
        return {
            "id": self.author_id(fact),
            "username": fact.username[:15],
            "name": fact.display_name or fact.username,
            "verified": False,
            "public_metrics": {
                "followers_count": fact.followers,
                "following_count": 10,
                "tweet_count": 100,
                "listed_count": 0,
            },
        }

    # -- handlers ---------------------------------------------------------------------------
    async def mentions(self, request: Request) -> Response:
        if request.path_params["user_id"] != self.user_id:
            return _problem(
                404,
                "Not Found Error",
                f"Could not find user with id: [{request.path_params['user_id']}].",
                "https://api.twitter.com/2/problems/resource-not-found",
            )
        query = request.query_params
        try:
            limit = int(query.get("max_results", "10"))
        except ValueError:
            limit = 0
        if not 5 <= limit <= 100:
            return _problem(
                400,
                "Invalid Request",
                "The `max_results` query parameter value is not between 5 and 100",
                "https://api.twitter.com/2/problems/invalid-request",
            )
        visible = self.facts.visible()
        ks = range(visible.start, visible.stop)
        lo, hi = 0, len(ks)
        since, until = query.get("since_id"), query.get("until_id")
        if since and since.isdigit():
            lo = max(lo, bisect_right(ks, int(since), key=self.tweet_id))
        if until and until.isdigit():
            hi = min(hi, bisect_left(ks, int(until), key=self.tweet_id))
        start = _time(query.get("start_time"))
        if start is not None:
            lo = max(lo, bisect_left(ks, start, key=lambda k: self.facts.fact(k).at))
        token = query.get("pagination_token")
        if token:
            if not token.startswith("7140sbx") or not token[7:].isdigit():
                return _problem(
                    400,
                    "Invalid Request",
                    "The `pagination_token` query parameter value is not valid",
                    "https://api.twitter.com/2/problems/invalid-request",
                )
            hi = min(hi, int(token[7:]) - visible.start + 1)
        data: list[dict[str, Any]] = []
        users: dict[str, dict[str, Any]] = {}
        i = hi - 1
        while i >= lo and len(data) < limit:
            fact = self.facts.fact(ks[i])
            i -= 1
            if not fact.served:
                continue
            data.append(self.tweet(fact))
            if fact.bad != "missing_account":
                user = self.user(fact)
                users[user["id"]] = user
        meta: dict[str, Any] = {"result_count": len(data)}
        body: dict[str, Any] = {}
        if data:
            body["data"] = data
            if "author_id" in query.get("expansions", ""):
                body["includes"] = {"users": list(users.values())}
            meta["newest_id"], meta["oldest_id"] = data[0]["id"], data[-1]["id"]
            if i >= lo:
                meta["next_token"] = f"7140sbx{ks[i]}"
        body["meta"] = meta
        self.reads += len(data)
        self.plan.stats.items_served += len(data)
        return Response(dumps(body), 200, {"content-type": _JSON})

    async def user_lookup(self, request: Request) -> Response:
        if request.path_params["user_id"] != self.user_id:
            return _problem(
                404,
                "Not Found Error",
                "Could not find user.",
                "https://api.twitter.com/2/problems/resource-not-found",
            )
        body = {
            "data": {
                "id": self.user_id,
                "name": self.config.brand_name,
                "username": self.config.brand_handle,
            }
        }
        return Response(dumps(body), 200, {"content-type": _JSON})

    # -- around the handlers ----------------------------------------------------------------
    def api(
        self, handler: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            self.plan.stats.requests += 1
            now = self.config.clock()
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            token = token.strip() if scheme.lower() == "bearer" else ""
            tokens = self.config.tokens
            if not token or (tokens is not None and token not in tokens):
                self.plan.stats.unauthorized += 1
                return _problem(401, "Unauthorized", "Unauthorized")
            limit, remaining, reset = self.plan.count(token, now, limit=450)
            headers = {
                "x-rate-limit-limit": str(limit),
                "x-rate-limit-remaining": str(max(remaining, 0)),
                "x-rate-limit-reset": str(int(reset.timestamp())),
                "api-version": "2.159",
            }
            fault = self.plan.draw_fault() if remaining >= 0 else None
            if remaining < 0:
                self.plan.stats.rate_limited += 1
                response = _problem(429, "Too Many Requests", "Too Many Requests")
            elif fault == "500":
                response = _problem(500, "Internal Server Error", "Internal Server Error")
            elif fault == "503":
                response = _problem(503, "Service Unavailable", "Service Unavailable")
            elif fault == "429":
                headers["x-rate-limit-remaining"] = "0"
                headers["x-rate-limit-reset"] = str(
                    int(now.timestamp() + self.config.fault_reset_seconds) + 1
                )
                response = _problem(429, "Too Many Requests", "Too Many Requests")
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


def _time(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None


def create_app(world: World, *, user_id: str = BRAND_USER_ID) -> Starlette:
    """The X app (mount it at ``/x``); ``app.state.x`` holds its state."""
    state = XSandbox(world, user_id=user_id)

    async def stats(request: Request) -> Response:
        body = {**state.plan.stats.as_json(), "posts_read": state.reads}
        return Response(dumps(body), 200, {"content-type": _JSON})

    app = Starlette(
        routes=[
            Route("/2/users/{user_id}/mentions", state.api(state.mentions), methods=["GET"]),
            Route("/2/users/{user_id}", state.api(state.user_lookup), methods=["GET"]),
            Route("/_sandbox/stats", stats, methods=["GET"]),
        ]
    )
    app.state.x = state
    return app
