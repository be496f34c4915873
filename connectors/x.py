"""X API v2: the account's mentions, with a cost guard (X bills every post read and written).

Payload models and their mapping to our ``Mention``: :mod:`connectors.x_payloads`.
Paging: forwards with ``since_id`` (then ``pagination_token`` within one run), backwards with
``until_id`` (stable across runs) and ``start_time`` at the backfill cutoff, so posts older
than the window are never paid for.
No re-read window: X ids are assigned at creation and the mentions timeline is in id order, and
every re-read post would be billed.

The guard (:class:`UsageGuard`) keeps the month's posts read and written in the channel's
:class:`~connectors.state.StateStore` and refuses, **before sending**, a request that could
take the month past its budget (``BudgetExhausted``, a ``Rejected``: retrying cannot help).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Unpack

import httpx
from pydantic import SecretStr, ValidationError

from connectors import http, writes, x_payloads
from connectors.errors import OutcomeUnknown, Rejected
from connectors.state import StateStore
from socialops.mentions import InvalidItem, Mention, MentionPage, SkippedItem

MAX_PAGE_SIZE = 100
MIN_PAGE_SIZE = 5  # the mentions endpoint refuses max_results below 5
TWEET_FIELDS = (
    "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,lang,"
    "entities,public_metrics,note_tweet"
)
USER_FIELDS = "username,name,public_metrics,verified"
OWN_TWEET_FIELDS = "created_at,in_reply_to_user_id,referenced_tweets"
_END = "end"


class BudgetExhausted(Rejected):
    """The channel's monthly X budget would be exceeded by the next request: nothing was sent."""

    def __init__(self, message: str, *, resets_at: datetime) -> None:
        super().__init__(message)
        self.resets_at = resets_at


# --------------------------------------------------------------------------------------------
# Cost guard
# --------------------------------------------------------------------------------------------


class UsageGuard:
    """Monthly (UTC calendar month) budgets of posts read and written, kept in a StateStore."""

    def __init__(
        self,
        *,
        store: StateStore,
        channel: str,
        monthly_reads: int | None,
        monthly_writes: int | None,
        now: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._channel = channel
        self.monthly_reads = monthly_reads
        self.monthly_writes = monthly_writes
        self._now = now

    def _month(self) -> tuple[str, str]:
        now = self._now().astimezone(UTC)
        return now.strftime("%Y-%m"), self.next_month().strftime("%Y-%m-01 00:00 UTC")

    def now(self) -> datetime:
        return self._now()

    def next_month(self) -> datetime:
        """When the budgets start again: midnight UTC on the first of next month."""
        now = self._now().astimezone(UTC)
        first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return (first + timedelta(days=32)).replace(day=1)

    def usage(self) -> dict[str, int]:
        month, _ = self._month()
        stored = self._store.load(f"usage:{month}") or {}
        return {"reads": int(stored.get("reads", 0)), "writes": int(stored.get("writes", 0))}

    def allow_read(self, wanted: int, *, minimum: int = MIN_PAGE_SIZE) -> int:
        """How many posts the next read may ask for; ``BudgetExhausted`` if not even ``minimum``."""
        return self._allow("reads", self.monthly_reads, wanted, minimum, "read")

    def allow_write(self) -> None:
        """``BudgetExhausted`` if one more post would exceed the month's write budget."""
        self._allow("writes", self.monthly_writes, 1, 1, "written")

    def record(self, *, reads: int = 0, writes: int = 0) -> None:
        if not reads and not writes:
            return
        month, _ = self._month()
        used = self.usage()
        self._store.save(
            f"usage:{month}",
            {"reads": used["reads"] + reads, "writes": used["writes"] + writes},
        )

    def _allow(self, kind: str, budget: int | None, wanted: int, minimum: int, verb: str) -> int:
        if budget is None:
            return wanted
        used = self.usage()[kind]
        left = budget - used
        if left >= minimum:
            return min(wanted, left)
        month, following = self._month()
        raise BudgetExhausted(
            f"channel {self._channel!r}: X monthly {kind[:-1]} budget reached: {used} of "
            f"{budget} posts {verb} in {month}, and the next request could take "
            f"{minimum} more; it was not sent. Raise monthly_{kind[:-1]}_budget in the "
            f"channel's configuration, or wait until {following}.",
            resets_at=self.next_month(),
        )


# --------------------------------------------------------------------------------------------
# HTTP client
# --------------------------------------------------------------------------------------------


def _mentions_body(body: Any) -> None:
    if not isinstance(body, dict) or not isinstance(body.get("meta", {}), dict):
        raise http.UnreadableBody("expected an object with meta")
    data = body.get("data", [])
    if not isinstance(data, list):
        raise http.UnreadableBody("expected data to be an array")
    if "data" not in body and "meta" not in body:
        raise http.UnreadableBody("expected data or meta")


class XClient(writes.WriteClient):
    """X API v2: mentions of ``user_id``, posts and replies by it (each sent once) and its own
    recent posts, under the channel's monthly budgets."""

    platform = "X"

    def __init__(
        self,
        *,
        base_url: str = "https://api.x.com",
        token: SecretStr,
        user_id: str,
        channel: str,
        store: StateStore,
        monthly_read_budget: int | None = None,
        monthly_write_budget: int | None = None,
        backfill_hours: float = 48,
        max_pages: int = 1000,
        transport: httpx.BaseTransport | None = None,
        **tuning: Unpack[http.Tuning],
    ) -> None:
        super().__init__(
            base_url=base_url,
            channel=channel,
            secrets=(token,),
            user_agent="socialops",
            transport=transport,
            **tuning,
        )
        self._auth = {"Authorization": f"Bearer {token.get_secret_value()}"}
        self._user_id = user_id
        self._cutoff = self._now() - timedelta(hours=backfill_hours)
        self._max_pages = max_pages
        self.guard = UsageGuard(
            store=store,
            channel=channel,
            monthly_reads=monthly_read_budget,
            monthly_writes=monthly_write_budget,
            now=self._now,
        )
        self._pending: list[Mention | InvalidItem | SkippedItem] | None = None
        self._stopped: BudgetExhausted | None = None
        self.complete = True

    # -- MentionSource ----------------------------------------------------------------------
    def fetch_mentions_page(
        self, *, max_id: str | None = None, min_id: str | None = None, limit: int = 80
    ) -> MentionPage:
        """Backwards (``max_id``: older than that post) or forwards (``min_id``: newer)."""
        if max_id is not None and min_id is not None:
            raise ValueError("pass max_id or min_id, not both")
        if min_id is not None:
            return self._newer(min_id, limit)
        if max_id == _END:
            return MentionPage(direction="older")
        params = {"start_time": self._cutoff.strftime("%Y-%m-%dT%H:%M:%SZ")}
        if max_id is not None:
            params["until_id"] = max_id
        body = self._mentions(params, limit)
        items = x_payloads.map_mentions_page(body, channel=self._channel)
        page = self._page(items, "older")
        if page.oldest_cursor is not None and not _next_token(body):
            page.oldest_cursor = _END  # the last page: no request for an empty one
        return page

    def _newer(self, since_id: str, limit: int) -> MentionPage:
        if self._pending is None:
            found: list[Mention | InvalidItem | SkippedItem] = []
            token: str | None = None
            for pages in range(1, self._max_pages + 1):
                params = {"since_id": since_id}
                if token:
                    params["pagination_token"] = token
                try:
                    body = self._mentions(params, MAX_PAGE_SIZE)
                except BudgetExhausted as exc:
                    # What was read (and paid for) is stored, but the position stays put: the
                    # posts between it and the oldest read here are still to be fetched.
                    self._stopped = exc
                    break
                found += x_payloads.map_mentions_page(body, channel=self._channel)
                token = _next_token(body)
                if token is None:
                    break
                if pages == self._max_pages:
                    self.complete = False
            ordered = [(i, x_payloads.item_id(i)) for i in found]
            ordered.sort(key=lambda pair: x_payloads.id_key(pair[1] or since_id))
            self._pending = [item for item, _ in ordered]
        chunk, self._pending = self._pending[:limit], self._pending[limit:]
        if not chunk and self._stopped is not None:
            raise self._stopped
        page = self._page(chunk, "newer")
        if chunk:
            newest = max(
                [since_id, *(i for i in map(x_payloads.item_id, chunk) if i)], key=x_payloads.id_key
            )
            if self._stopped is not None:
                newest = since_id
            page.newest_cursor = page.oldest_cursor = newest
        return page

    def _page(
        self, items: list[Mention | InvalidItem | SkippedItem], direction: Literal["older", "newer"]
    ) -> MentionPage:
        page = MentionPage(direction=direction)
        for item in items:
            if isinstance(item, Mention):
                page.mentions.append(item)
            elif isinstance(item, InvalidItem):
                page.invalid.append(item)
            else:
                page.skipped.append(item)
        ids = sorted((i for i in map(x_payloads.item_id, items) if i), key=x_payloads.id_key)
        if ids:
            page.newest_cursor, page.oldest_cursor = ids[-1], ids[0]
        return page

    def _mentions(self, params: dict[str, str], limit: int) -> dict[str, Any]:
        wanted = max(MIN_PAGE_SIZE, min(limit, MAX_PAGE_SIZE))
        allowed = self.guard.allow_read(wanted)
        query = {
            **params,
            "max_results": str(max(MIN_PAGE_SIZE, allowed)),
            "tweet.fields": TWEET_FIELDS,
            "expansions": "author_id",
            "user.fields": USER_FIELDS,
        }
        body, _ = self._send(
            "GET",
            f"{self._base_url}/2/users/{self._user_id}/mentions",
            params=query,
            headers=self._auth,
            scope="tweet.read and users.read",
            check=_mentions_body,
        )
        includes = body.get("includes")
        expanded = includes.get("tweets", []) if isinstance(includes, dict) else []
        self.guard.record(reads=len(body.get("data") or []) + len(expanded or []))
        result: dict[str, Any] = body
        return result

    # -- posting (each sent once) and the account's own posts -----------------------------
    def create_post(self, *, text: str, in_reply_to: str | None = None) -> x_payloads.Tweet:
        """A post, or a reply to ``in_reply_to`` (``POST /2/tweets``, scopes ``tweet.write``,
        ``tweet.read``, ``users.read`` in OAuth 2.0 user context). Checked against the monthly
        write budget before sending (``BudgetExhausted``: nothing was sent). X takes no
        idempotency key: after ``OutcomeUnknown`` look among :meth:`own_posts_page` first."""
        self.guard.allow_write()
        payload: dict[str, Any] = {"text": text}
        if in_reply_to is not None:
            payload["reply"] = {"in_reply_to_tweet_id": in_reply_to}
        try:
            body, _ = self._write(
                "POST",
                f"{self._base_url}/2/tweets",
                json=payload,
                headers=self._auth,
                scope="tweet.write, tweet.read and users.read (OAuth 2.0 user context)",
                check=_created_body,
            )
        except OutcomeUnknown:
            self.guard.record(writes=1)  # it may have been made, and billed
            raise
        self.guard.record(writes=1)
        return x_payloads.Tweet.model_validate(body["data"])

    def own_posts_page(
        self,
        *,
        start_time: datetime,
        since_id: str | None = None,
        pagination_token: str | None = None,
        limit: int = MAX_PAGE_SIZE,
    ) -> tuple[list[x_payloads.Tweet], str | None]:
        """One page of the account's own posts and replies, newest first
        (``GET /2/users/:id/tweets``), no older than ``start_time``; read against the budget."""
        allowed = self.guard.allow_read(max(MIN_PAGE_SIZE, min(limit, MAX_PAGE_SIZE)))
        params = {
            "max_results": str(max(MIN_PAGE_SIZE, allowed)),
            "start_time": start_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tweet.fields": OWN_TWEET_FIELDS,
        }
        if since_id:
            params["since_id"] = since_id
        if pagination_token:
            params["pagination_token"] = pagination_token
        body, _ = self._send(
            "GET",
            f"{self._base_url}/2/users/{self._user_id}/tweets",
            params=params,
            headers=self._auth,
            scope="tweet.read and users.read",
            check=_mentions_body,
        )
        data = body.get("data") or []
        self.guard.record(reads=len(data))
        tweets = []
        for item in data:
            try:
                tweets.append(x_payloads.Tweet.model_validate(item))
            except ValidationError:
                continue  # not ours to judge here: an unreadable post cannot be the one sought
        return tweets, _next_token(body)

    def verify_credentials(self) -> dict[str, str]:
        """The watched account (``GET /2/users/:id``): checks the token and ``user_id``.

        Reads a user, not a post: it does not count against the posts-read budget.
        """
        body, _ = self._send(
            "GET",
            f"{self._base_url}/2/users/{self._user_id}",
            headers=self._auth,
            scope="users.read",
            check=lambda b: None if isinstance(b, dict) else _raise_unreadable(),
        )
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise Rejected(f"X: user {self._user_id} not found ({_problem(body)})")
        return {"id": str(data.get("id", "")), "username": str(data.get("username", ""))}

    # -- platform specifics for the outcome loop --------------------------------------------
    def _quota_spent_until(self, response: httpx.Response) -> datetime | None:
        remaining = http.header_float(response, "x-rate-limit-remaining")
        if remaining is None or remaining > 0:
            return None
        return http.epoch_seconds(response.headers.get("x-rate-limit-reset"))

    def _rate_limit_lifts_at(self, response: httpx.Response) -> datetime | None:
        return http.epoch_seconds(response.headers.get("x-rate-limit-reset"))

    def _refused(self, response: httpx.Response) -> str | None:
        if response.status_code != 429:
            return None
        try:
            body = response.json()
        except ValueError:
            return None
        if isinstance(body, dict) and str(body.get("type", "")).endswith("/usage-capped"):
            return (
                f"X usage cap reached ({body.get('period', '?')} cap, scope "
                f"{body.get('scope', '?')}): waiting will not help before the period ends"
            )
        return None

    def _error_detail(self, response: httpx.Response) -> str:
        try:
            return _problem(response.json())
        except ValueError:
            return ""


def _created_body(body: Any) -> None:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise http.UnreadableBody("expected data with the new post's id")


def _raise_unreadable() -> None:
    raise http.UnreadableBody("expected a JSON object")


def _next_token(body: dict[str, Any]) -> str | None:
    meta = body.get("meta")
    token = meta.get("next_token") if isinstance(meta, dict) else None
    return token if isinstance(token, str) and token else None


def _problem(body: Any) -> str:
    """An RFC 7807 Problem (``title``, ``detail``) or v1.1-style ``errors`` as one line."""
    if not isinstance(body, dict):
        return ""
    if body.get("title") or body.get("detail"):
        parts = [body.get("title"), body.get("detail")]
        return ": ".join(dict.fromkeys(str(p) for p in parts if p))
    errors = body.get("errors")
    if isinstance(errors, list):
        return "; ".join(
            str(e.get("message") or e.get("detail") or e) for e in errors if isinstance(e, dict)
        )
    return ""
