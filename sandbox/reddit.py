"""The sandbox's Reddit: the OAuth token endpoint, the inbox's username mentions and search.

Served under ``/reddit``: ``POST /reddit/api/v1/access_token`` (HTTP Basic client credentials,
``refresh_token`` or ``password`` grants), ``GET /reddit/message/mentions`` (``t1`` inbox
comments naming ``u/<brand>``), ``GET /reddit/search?q=...&sort=new`` (``t3`` posts naming the
brand in words), ``GET /reddit/api/v1/me``. Listings page by ``after``/``before`` fullnames.
Responses carry ``x-ratelimit-used``/``-remaining`` (a float string) and ``-reset`` (seconds);
a 429 is Reddit's HTML page with ``retry-after``.

Writing: ``POST /reddit/api/comment`` (``thing_id``, ``text``, ``api_type=json``) and
``POST /reddit/api/submit`` (``sr``, ``kind=self``, ``title``, ``text``) answer as Reddit does,
refusals included as HTTP 200 with ``json.errors``; what the brand wrote is listed newest first
by ``GET /reddit/user/<brand>/comments`` and ``/submitted``. ``writes`` holds the write faults
(``/reddit/_sandbox/publishing``).
"""

from __future__ import annotations

import base64
import functools
import secrets
import threading
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.config import dumps
from sandbox.facts import Fact, Plan, PlatformWorld, answer
from sandbox.world import World
from sandbox.writes import WriteFaults, bad_gateway, publishing_view

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


def _listing_page(children: list[dict[str, Any]], after: str | None) -> Response:
    """A Listing page as Reddit sends it; ``after`` names the next page's start."""
    body = {
        "kind": "Listing",
        "data": {
            "after": after,
            "before": None,
            "dist": len(children),
            "modhash": None,
            "geo_filter": "",
            "children": children,
        },
    }
    return _json(200, body)


def _errors(*errors: list[str]) -> Response:
    """A refusal the way Reddit sends one: HTTP 200, ``json.errors``."""
    return _json(200, {"json": {"errors": list(errors)}})


class RedditSandbox:
    """State of the Reddit app."""

    def __init__(self, world: World, *, token_ttl: int = 86400) -> None:
        self.facts = PlatformWorld(world, "reddit")
        self.config = world.config
        self.plan = Plan(world.config, "reddit")
        self.token_ttl = token_ttl
        self.brand = world.config.brand_handle
        self._tokens: dict[str, datetime] = {}
        self.writes = WriteFaults(seed=world.config.seed, platform="reddit")
        # What the brand wrote, by fullname, in the order written (ids grow with it).
        self.comments: dict[str, dict[str, Any]] = {}
        self.submissions: dict[str, dict[str, Any]] = {}
        self._written = 0
        self._write_lock = threading.Lock()

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
        return _listing_page(children, children[-1]["data"]["name"] if more and children else None)

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

    # -- writing ------------------------------------------------------------------------------
    def thing(self, fullname: str) -> dict[str, Any] | None:
        """A comment or post that can be answered: a served mention, or one the brand wrote."""
        own = self.comments.get(fullname) or self.submissions.get(fullname)
        if own is not None:
            return own
        k = self.k_of(fullname)
        if k is None or k not in self.facts.visible():
            return None
        fact = self.facts.fact(k)
        if not fact.served or fullname != self.fullname(fact):
            return None
        rendered = self.comment(fact) if fact.role == "mention" else self.submission(fact)
        data: dict[str, Any] = rendered["data"]
        return data

    def _next_id(self) -> str:
        with self._write_lock:
            self._written += 1
            return base36(30_000_000 + self._written)

    def add_comment(self, *, parent: dict[str, Any], text: str) -> dict[str, Any]:
        """The brand's comment answering ``parent`` (validation is the caller's job)."""
        cid = self._next_id()
        link_id = parent.get("link_id") or (
            parent["name"] if parent["name"].startswith("t3_") else parent.get("parent_id")
        )
        subreddit = parent.get("subreddit") or "coffee"
        comment: dict[str, Any] = {
            "author": self.brand,
            "author_fullname": "t2_sbx1",
            "body": text,
            "body_html": '<div class="md"><p>...</p>\n</div>',
            "created": float(int(self.config.clock().timestamp())),
            "created_utc": float(int(self.config.clock().timestamp())),
            "id": cid,
            "link_id": link_id,
            "name": f"t1_{cid}",
            "parent_id": parent["name"],
            "permalink": f"/r/{subreddit}/comments/{str(link_id)[3:]}/_/{cid}/",
            "score": 1,
            "subreddit": subreddit,
            "subreddit_name_prefixed": f"r/{subreddit}",
        }
        with self._write_lock:
            self.comments[comment["name"]] = comment
        return comment

    def add_submission(self, *, subreddit: str, title: str, text: str) -> dict[str, Any]:
        pid = self._next_id()
        permalink = f"/r/{subreddit}/comments/{pid}/post/"
        post: dict[str, Any] = {
            "author": self.brand,
            "created": float(int(self.config.clock().timestamp())),
            "created_utc": float(int(self.config.clock().timestamp())),
            "id": pid,
            "is_self": True,
            "name": f"t3_{pid}",
            "permalink": permalink,
            "selftext": text,
            "subreddit": subreddit,
            "title": title,
            "url": f"https://www.reddit.com{permalink}",
        }
        with self._write_lock:
            self.submissions[post["name"]] = post
        return post

    def _refused(self) -> Response | None:
        """Reddit's own throttle, as it sends it: HTTP 200 with ``json.errors``."""
        if not self.writes.refuse_now():
            return None
        seconds = max(1, round(self.config.fault_reset_seconds))
        message = (
            "Looks like you've been doing that a lot. Take a break for "
            f"{seconds} second{'s' if seconds != 1 else ''} before trying again."
        )
        return _json(200, {"json": {"errors": [["RATELIMIT", message, "ratelimit"]]}})

    async def post_comment(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        refused = self._refused()
        if refused is not None:
            return refused
        thing_id, text = form.get("thing_id", ""), form.get("text", "")
        parent = self.thing(thing_id)
        if parent is None:
            kind = "DELETED_LINK" if thing_id.startswith("t3_") else "DELETED_COMMENT"
            what = "post" if kind == "DELETED_LINK" else "comment"
            return _errors([kind, f"that {what} has been deleted", "parent"])
        if not text.strip():
            return _errors(["NO_TEXT", "we need something here", "text"])
        if len(text) > 10_000:
            return _errors(["TOO_LONG", "this is too long (max: 10000)", "text"])
        comment = self.add_comment(parent=parent, text=text)
        if self.writes.fail_after_write():
            return bad_gateway()
        things = [{"kind": "t1", "data": comment}]
        return _json(200, {"json": {"errors": [], "data": {"things": things}}})

    async def submit(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        refused = self._refused()
        if refused is not None:
            return refused
        subreddit, title = form.get("sr", "").strip(), form.get("title", "")
        if not subreddit:
            return _errors(["SUBREDDIT_REQUIRED", "you must specify a subreddit", "sr"])
        if form.get("kind") not in ("self", "link"):
            return _errors(["INVALID_OPTION", "that option is not valid", "kind"])
        if not title.strip():
            return _errors(["NO_TEXT", "we need something here", "title"])
        if len(title) > 300:
            return _errors(["TOO_LONG", "this is too long (max: 300)", "title"])
        if len(form.get("text", "")) > 40_000:
            return _errors(["TOO_LONG", "this is too long (max: 40000)", "text"])
        post = self.add_submission(subreddit=subreddit, title=title, text=form.get("text", ""))
        if self.writes.fail_after_write():
            return bad_gateway()
        data = {"url": post["url"], "drafts_count": 0, "id": post["id"], "name": post["name"]}
        return _json(200, {"json": {"errors": [], "data": data}})

    def _own_listing(
        self, request: Request, items: dict[str, dict[str, Any]], kind: str
    ) -> Response:
        if request.path_params["name"].lower() != self.brand.lower():
            return _json(404, {"message": "Not Found", "error": 404})
        query = request.query_params
        try:
            limit = max(1, min(int(query.get("limit", "25")), 100))
        except ValueError:
            limit = 25
        with self._write_lock:
            names = list(reversed(items))  # newest first
        after = query.get("after")
        if after in names:
            names = names[names.index(after) + 1 :]
        page = names[:limit]
        children = [{"kind": kind, "data": items[name]} for name in page]
        more = len(names) > limit
        return _listing_page(children, page[-1] if more and page else None)

    async def own_comments(self, request: Request) -> Response:
        return self._own_listing(request, self.comments, "t1")

    async def own_submitted(self, request: Request) -> Response:
        return self._own_listing(request, self.submissions, "t3")

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
            Route("/api/comment", state.api(state.post_comment), methods=["POST"]),
            Route("/api/submit", state.api(state.submit), methods=["POST"]),
            Route("/user/{name}/comments", state.api(state.own_comments), methods=["GET"]),
            Route("/user/{name}/submitted", state.api(state.own_submitted), methods=["GET"]),
            Route("/_sandbox/stats", stats, methods=["GET"]),
            Route(
                "/_sandbox/publishing",
                functools.partial(publishing_view, state.writes),
                methods=["GET", "POST"],
            ),
        ]
    )
    app.state.reddit = state
    return app
