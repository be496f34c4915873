"""The sandbox's X API v2: the brand account's mentions timeline and user lookup.

Served under ``/x``: ``GET /x/2/users/<id>/mentions`` (``since_id``, ``until_id``,
``start_time``, ``end_time``, ``max_results`` 5-100, ``pagination_token``, ``expansions=author_id``
with ``user.fields``) and ``GET /x/2/users/<id>``. Ids are snowflakes (time in the high bits).
Every response carries ``x-rate-limit-limit``/``-remaining``/``-reset`` (epoch seconds); errors
are RFC 7807 problems. ``reads`` counts the posts served, as X would bill them.

Writing: ``POST /x/2/tweets`` (``{"text", "reply": {"in_reply_to_tweet_id"}}``) answers
``201`` with ``data.id`` and ``data.text``, or a problem (403 for a reply to a post that is not
there, a text over 280, or a text the account already posted); what the brand posted is listed
by ``GET /x/2/users/<id>/tweets`` (``since_id``, ``until_id``, ``start_time``, ``end_time``,
``max_results``, ``pagination_token``, ``tweet.fields``). ``writes`` holds the write faults
(``/x/_sandbox/publishing``); ``written`` counts the posts created, as X would bill them.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.config import dumps
from sandbox.facts import Fact, Plan, PlatformWorld, answer, iso_ms, parse_time
from sandbox.world import World
from sandbox.writes import WriteFaults, bad_gateway, publishing_view

_JSON = "application/json; charset=utf-8"
_PROBLEM = "application/problem+json"
TWEPOCH_MS = 1288834974657
BRAND_USER_ID = "1500000000000000001"
_URL = re.compile(r"https?://\S+")


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
        self.written = 0
        self.writes = WriteFaults(seed=world.config.seed, platform="x")
        # The brand's posts by id (decimal string), in the order posted (ids grow with time).
        self.posts: dict[str, dict[str, Any]] = {}
        self._post_lock = threading.Lock()

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
    def _timeline_limit(self, request: Request) -> int | Response:
        """A user timeline's ``max_results`` (5 to 100), or X's Problem when the user is not the
        brand's or the number is out of range."""
        if request.path_params["user_id"] != self.user_id:
            return _problem(
                404,
                "Not Found Error",
                f"Could not find user with id: [{request.path_params['user_id']}].",
                "https://api.twitter.com/2/problems/resource-not-found",
            )
        try:
            limit = int(request.query_params.get("max_results", "10"))
        except ValueError:
            limit = 0
        if not 5 <= limit <= 100:
            return _problem(
                400,
                "Invalid Request",
                "The `max_results` query parameter value is not between 5 and 100",
                "https://api.twitter.com/2/problems/invalid-request",
            )
        return limit

    async def mentions(self, request: Request) -> Response:
        limit = self._timeline_limit(request)
        if isinstance(limit, Response):
            return limit
        query = request.query_params
        visible = self.facts.visible()
        ks = range(visible.start, visible.stop)
        lo, hi = 0, len(ks)
        since, until = query.get("since_id"), query.get("until_id")
        if since and since.isdigit():
            lo = max(lo, bisect_right(ks, int(since), key=self.tweet_id))
        if until and until.isdigit():
            hi = min(hi, bisect_left(ks, int(until), key=self.tweet_id))
        start = parse_time(query.get("start_time"))
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

    # -- writing ------------------------------------------------------------------------------
    def find(self, tweet_id: str) -> dict[str, Any] | None:
        """A post that can be answered: a served mention, or one the brand posted."""
        own = self.posts.get(tweet_id)
        if own is not None:
            return own
        if not tweet_id.isdigit():
            return None
        k = int(tweet_id) & 0x3FFFFF
        if k not in self.facts.visible() or str(self.tweet_id(k)) != tweet_id:
            return None
        fact = self.facts.fact(k)
        return self.tweet(fact) if fact.served else None

    def add_post(self, *, text: str, parent: dict[str, Any] | None) -> dict[str, Any]:
        """The brand's post (validation is the caller's job)."""
        now = self.config.clock()
        ms = int(now.timestamp() * 1000)
        with self._post_lock:
            self.written += 1
            tid = ((ms - TWEPOCH_MS) << 22) | (1 << 21) | (self.written & 0x1FFFFF)
            while str(tid) in self.posts:
                tid += 1
            post: dict[str, Any] = {
                "id": str(tid),
                "edit_history_tweet_ids": [str(tid)],
                "text": text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"),
                "author_id": self.user_id,
                "created_at": iso_ms(now),
                "conversation_id": (parent.get("conversation_id") or parent["id"])
                if parent
                else str(tid),
            }
            if parent is not None:
                post["in_reply_to_user_id"] = parent.get("author_id")
                post["referenced_tweets"] = [{"type": "replied_to", "id": parent["id"]}]
            self.posts[post["id"]] = post
        return post

    async def create_tweet(self, request: Request) -> Response:
        try:
            data = json.loads(await request.body())
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("text", ""), str):
            return _problem(
                400,
                "Invalid Request",
                "One or more parameters to your request was invalid.",
                "https://api.twitter.com/2/problems/invalid-request",
            )
        text = data.get("text", "")
        reply = data.get("reply") if isinstance(data.get("reply"), dict) else None
        if not text.strip():
            return _problem(
                400,
                "Invalid Request",
                "One or more parameters to your request was invalid.",
                "https://api.twitter.com/2/problems/invalid-request",
            )
        if len(_URL.sub("x" * 23, text)) > 280:
            return _problem(403, "Forbidden", "Your Tweet text is too long.")
        parent = None
        if reply is not None:
            parent = self.find(str(reply.get("in_reply_to_tweet_id", "")))
            if parent is None:
                return _problem(
                    403,
                    "Forbidden",
                    "You attempted to reply to a Tweet that is deleted or not visible to you.",
                )
        if self.writes.refuse_duplicates:
            with self._post_lock:
                posted = {p["text"] for p in self.posts.values()}
            if text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in posted:
                return _problem(
                    403,
                    "Forbidden",
                    "You are not allowed to create a Tweet with duplicate content.",
                )
        post = self.add_post(text=text, parent=parent)
        if self.writes.fail_after_write():
            return bad_gateway()
        body = {"data": {k: post[k] for k in ("id", "text", "edit_history_tweet_ids")}}
        return Response(dumps(body), 201, {"content-type": _JSON})

    async def user_tweets(self, request: Request) -> Response:
        limit = self._timeline_limit(request)
        if isinstance(limit, Response):
            return limit
        query = request.query_params
        with self._post_lock:
            posts = sorted(self.posts.values(), key=lambda p: int(p["id"]), reverse=True)
        since, until = query.get("since_id"), query.get("until_id")
        start, end = parse_time(query.get("start_time")), parse_time(query.get("end_time"))
        token = query.get("pagination_token")
        if token and not (token.startswith("7140own") and token[7:].isdigit()):
            return _problem(
                400,
                "Invalid Request",
                "The `pagination_token` query parameter value is not valid",
                "https://api.twitter.com/2/problems/invalid-request",
            )

        def keep(post: dict[str, Any]) -> bool:
            pid = int(post["id"])
            at = parse_time(post["created_at"])
            return (
                (not since or not since.isdigit() or pid > int(since))
                and (not until or not until.isdigit() or pid < int(until))
                and (not token or pid <= int(token[7:]))
                and (start is None or at is None or at >= start)
                and (end is None or at is None or at < end)
            )

        selected = [p for p in posts if keep(p)]
        page, rest = selected[:limit], selected[limit:]
        fields = set((query.get("tweet.fields") or "").split(","))
        data = [
            {
                k: v
                for k, v in p.items()
                if k in ("id", "text", "edit_history_tweet_ids") or k in fields
            }
            for p in page
        ]
        meta: dict[str, Any] = {"result_count": len(data)}
        body: dict[str, Any] = {}
        if data:
            body["data"] = data
            meta["newest_id"], meta["oldest_id"] = data[0]["id"], data[-1]["id"]
            if rest:
                meta["next_token"] = f"7140own{rest[0]['id']}"
        body["meta"] = meta
        self.reads += len(data)
        return Response(dumps(body), 200, {"content-type": _JSON})

    # -- around the handlers ----------------------------------------------------------------
    def api(
        self,
        handler: Callable[[Request], Awaitable[Response]],
        *,
        limit: int = 450,
        bucket: str = "",
    ) -> Callable[[Request], Awaitable[Response]]:
        """Auth, the rate-limit window (``limit`` per window, counted per token and ``bucket``:
        X counts posting apart from reading), injected faults."""
        window_limit = limit

        async def endpoint(request: Request) -> Response:
            self.plan.stats.requests += 1
            now = self.config.clock()
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            token = token.strip() if scheme.lower() == "bearer" else ""
            tokens = self.config.tokens
            if not token or (tokens is not None and token not in tokens):
                self.plan.stats.unauthorized += 1
                return _problem(401, "Unauthorized", "Unauthorized")
            limit, remaining, reset = self.plan.count(f"{token}{bucket}", now, limit=window_limit)
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
                response = await answer(
                    handler,
                    request,
                    fault,
                    latency=self.config.latency_seconds,
                    content_type=_JSON,
                )
            response.headers.update(headers)
            return response

        return endpoint


def create_app(world: World, *, user_id: str = BRAND_USER_ID) -> Starlette:
    """The X app (mount it at ``/x``); ``app.state.x`` holds its state."""
    state = XSandbox(world, user_id=user_id)

    async def stats(request: Request) -> Response:
        body = {
            **state.plan.stats.as_json(),
            "posts_read": state.reads,
            "posts_written": state.written,
        }
        return Response(dumps(body), 200, {"content-type": _JSON})

    app = Starlette(
        routes=[
            Route("/2/users/{user_id}/mentions", state.api(state.mentions), methods=["GET"]),
            Route("/2/users/{user_id}", state.api(state.user_lookup), methods=["GET"]),
            Route("/2/users/{user_id}/tweets", state.api(state.user_tweets), methods=["GET"]),
            Route(
                "/2/tweets",
                state.api(state.create_tweet, limit=200, bucket="|post"),
                methods=["POST"],
            ),
            Route("/_sandbox/stats", stats, methods=["GET"]),
            Route(
                "/_sandbox/publishing",
                functools.partial(publishing_view, state.writes),
                methods=["GET", "POST"],
            ),
        ]
    )
    app.state.x = state
    return app
