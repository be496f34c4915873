"""Reddit (OAuth API): username mentions from the inbox, and brand keywords from search.

Payload models, their mapping to our ``Mention`` and the text rules of the account's own posts:
:mod:`connectors.reddit_payloads`. Reddit reports some failures as HTTP 200 with ``json.errors``
(``[["RATELIMIT", "... try again in 5 minutes.", "ratelimit"]]``): they are read before the data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Unpack

import httpx
from pydantic import SecretStr

from connectors import feeds, http, reddit_payloads, writes
from connectors.errors import RateLimited, Rejected

MAX_PAGE_SIZE = 100
REREAD = timedelta(minutes=15)
"""How far below the stored position a forward run reads again (late-approved comments)."""
_TOKEN_MARGIN = timedelta(seconds=60)


# --------------------------------------------------------------------------------------------
# HTTP client
# --------------------------------------------------------------------------------------------


class RedditClient(feeds.MergedFeedSource, writes.WriteClient):
    """Reddit's OAuth API: inbox username mentions and keyword searches, as one feed; comments
    and posts by the account (each write sent once), and the account's own history."""

    platform = "Reddit"

    def __init__(
        self,
        *,
        base_url: str = "https://oauth.reddit.com",
        auth_url: str = reddit_payloads.WEB,
        client_id: str,
        client_secret: SecretStr | None,
        secret: SecretStr,
        username: str | None = None,
        user_agent: str,
        channel: str,
        search: Sequence[str] = (),
        backfill_hours: float = 48,
        max_pages: int = 1000,
        transport: httpx.BaseTransport | None = None,
        **tuning: Unpack[http.Tuning],
    ) -> None:
        super().__init__(
            base_url=base_url,
            channel=channel,
            secrets=(secret,) + ((client_secret,) if client_secret else ()),
            user_agent=user_agent,
            transport=transport,
            **tuning,
        )
        self._auth_url = auth_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._secret = secret
        self._username = username
        self._token: str | None = None
        self._token_expires: datetime | None = None
        self.tokens_fetched = 0
        self.merge_streams(
            feeds.Stream("mentions", self._mentions),
            search=search,
            searcher=self._searcher,
            backfill_hours=backfill_hours,
            reread=REREAD,
            max_pages=max_pages,
            now=self._now,
        )

    def verify_credentials(self) -> dict[str, str]:
        """The account the token acts for (``GET /api/v1/me``, scope ``identity``)."""
        body = self._api("/api/v1/me", [], scope="the identity scope", check=_object)
        return {"name": str(body.get("name", ""))}

    # -- streams ----------------------------------------------------------------------------
    def _mentions(self, cursor: str | None, since: datetime | None, limit: int) -> feeds.StreamPage:
        return self._listing(
            "/message/mentions", [], cursor, limit, kind="t1", scope="the privatemessages scope"
        )

    def _searcher(self, query: str) -> feeds.FetchPage:
        def fetch(cursor: str | None, since: datetime | None, limit: int) -> feeds.StreamPage:
            params = [("q", query), ("sort", "new"), ("type", "link")]
            return self._listing(
                "/search", params, cursor, limit, kind="t3", scope="the read scope"
            )

        return fetch

    def _listing(
        self,
        path: str,
        params: list[tuple[str, str]],
        after: str | None,
        limit: int,
        *,
        kind: Literal["t1", "t3"],
        scope: str,
    ) -> feeds.StreamPage:
        query = [*params, ("limit", str(max(1, min(limit, MAX_PAGE_SIZE)))), ("raw_json", "1")]
        if after:
            query.append(("after", after))
        body = self._api(path, query, scope=scope, check=_listing_body)
        data = body["data"]
        next_after = data.get("after")
        return feeds.StreamPage(
            reddit_payloads.map_listing(data["children"], channel=self._channel, kind=kind),
            next_after if isinstance(next_after, str) and next_after else None,
        )

    # -- writing (each sent once) and the account's own history ---------------------------
    def comment(self, *, thing_id: str, text: str) -> reddit_payloads.OwnComment:
        """Reply to a comment, post or message (``POST /api/comment``, scope ``submit``).

        Reddit takes no idempotency key: after ``OutcomeUnknown`` look among
        :meth:`own_comments` before sending again. Refusals arrive as HTTP 200 with
        ``json.errors`` (``RATELIMIT``: ``RateLimited``; others: ``Rejected``)."""
        body = self._write_api(
            "/api/comment",
            {"api_type": "json", "thing_id": thing_id, "text": text},
            scope="the submit scope",
            check=_comment_body,
        )
        return reddit_payloads.OwnComment.model_validate(body["json"]["data"]["things"][0]["data"])

    def submit(self, *, subreddit: str, title: str, text: str) -> reddit_payloads.Submitted:
        """A new text post in ``subreddit`` (``POST /api/submit``, ``kind=self``)."""
        body = self._write_api(
            "/api/submit",
            {
                "api_type": "json",
                "kind": "self",
                "sr": subreddit,
                "title": title,
                "text": text,
                "resubmit": "true",
                "sendreplies": "true",
            },
            scope="the submit scope",
            check=_submitted_body,
        )
        return reddit_payloads.Submitted.model_validate(body["json"]["data"])

    def own_comments(
        self, *, username: str, after: str | None = None, limit: int = MAX_PAGE_SIZE
    ) -> tuple[list[reddit_payloads.OwnComment], str | None]:
        """One page of the account's comments, newest first (``/user/<name>/comments``, scope
        ``history``), and the ``after`` of the next page."""
        children, next_after = self._own("comments", username, after, limit, kind="t1")
        return [reddit_payloads.OwnComment.model_validate(c) for c in children], next_after

    def own_submissions(
        self, *, username: str, after: str | None = None, limit: int = MAX_PAGE_SIZE
    ) -> tuple[list[reddit_payloads.OwnSubmission], str | None]:
        """One page of the account's posts, newest first (``/user/<name>/submitted``)."""
        children, next_after = self._own("submitted", username, after, limit, kind="t3")
        return [reddit_payloads.OwnSubmission.model_validate(c) for c in children], next_after

    def _own(
        self, what: str, username: str, after: str | None, limit: int, *, kind: str
    ) -> tuple[list[dict[str, Any]], str | None]:
        query = [
            ("sort", "new"),
            ("limit", str(max(1, min(limit, MAX_PAGE_SIZE)))),
            ("raw_json", "1"),
        ]
        if after:
            query.append(("after", after))
        body = self._api(
            f"/user/{username}/{what}", query, scope="the history scope", check=_listing_body
        )
        data = body["data"]
        children = [
            c["data"]
            for c in data["children"]
            if isinstance(c, dict) and c.get("kind") == kind and isinstance(c.get("data"), dict)
        ]
        next_after = data.get("after")
        return children, next_after if isinstance(next_after, str) and next_after else None

    def _write_api(
        self,
        path: str,
        form: dict[str, str],
        *,
        scope: str,
        check: Callable[[Any], None],
    ) -> Any:
        return self._authorized(
            lambda headers: self._write(
                "POST",
                f"{self._base_url}{path}",
                params=[("raw_json", "1")],
                data=form,
                headers=headers,
                scope=scope,
                check=check,
            )
        )

    # -- auth -------------------------------------------------------------------------------
    def _api(
        self,
        path: str,
        params: list[tuple[str, str]],
        *,
        scope: str,
        check: Callable[[Any], None],
    ) -> Any:
        return self._authorized(
            lambda headers: self._send(
                "GET",
                f"{self._base_url}{path}",
                params=params,
                headers=headers,
                scope=scope,
                check=check,
            )
        )

    def _authorized(self, send: Callable[[dict[str, str]], tuple[Any, httpx.Response]]) -> Any:
        """``send(headers)`` with the bearer token; its parsed body.

        A 401 is answered before anything is read or written (the token was revoked or expired
        early), so the request goes once more with a new token; a second 401 is final.
        """
        for attempt in range(2):
            token = self._access_token()
            try:
                body, _ = send({"Authorization": f"bearer {token}"})
                return body
            except Rejected as exc:
                if exc.status_code != 401 or attempt:
                    raise
                self._token = None
        raise AssertionError("unreachable")

    def _access_token(self) -> str:
        if self._token and self._token_expires and self._now() < self._token_expires:
            return self._token
        form = (
            {
                "grant_type": "password",
                "username": self._username,
                "password": self._secret.get_secret_value(),
            }
            if self._username
            else {"grant_type": "refresh_token", "refresh_token": self._secret.get_secret_value()}
        )
        secret = self._client_secret.get_secret_value() if self._client_secret else ""
        body, _ = self._send(
            "POST",
            f"{self._auth_url}/api/v1/access_token",
            data=form,
            auth=(self._client_id, secret),
            scope="a valid client id, secret and refresh token (or username and password)",
            check=_object,
        )
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            error = body.get("error") or body.get("message") or "no access_token"
            raise Rejected(
                f"Reddit refused the credentials ({error}): check client_id, the secret in "
                "client_secret_env and the token in token_env",
                status_code=200,
            )
        expires = body.get("expires_in")
        seconds = float(expires) if isinstance(expires, int | float) else 3600.0
        self._token = token
        self._token_expires = self._now() + timedelta(seconds=seconds) - _TOKEN_MARGIN
        self._add_secret(token)
        self.tokens_fetched += 1
        return token

    # -- platform specifics for the outcome loop --------------------------------------------
    def _quota_spent_until(self, response: httpx.Response) -> datetime | None:
        remaining = http.header_float(response, "x-ratelimit-remaining")
        reset = http.header_float(response, "x-ratelimit-reset")
        if remaining is None or reset is None or remaining >= 1:
            return None
        return self._now() + timedelta(seconds=reset)

    def _rate_limit_lifts_at(self, response: httpx.Response) -> datetime | None:
        reset = http.header_float(response, "x-ratelimit-reset")
        return None if reset is None else self._now() + timedelta(seconds=reset)

    def _error_detail(self, response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return ""  # Reddit's error pages are HTML
        if isinstance(body, dict):
            parts = [body.get("message"), body.get("reason"), body.get("explanation")]
            return ": ".join(str(p) for p in parts if p)
        return ""

    def _rejection_hint(self, status: int, scope: str) -> str:
        if status in (401, 403):
            return f"the token is invalid or revoked, or lacks {scope}"
        return super()._rejection_hint(status, scope)


def _object(body: Any) -> None:
    if not isinstance(body, dict):
        raise http.UnreadableBody("expected a JSON object")
    _raise_json_errors(body)


def _listing_body(body: Any) -> None:
    _object(body)
    data = body.get("data")
    if body.get("kind") != "Listing" or not isinstance(data, dict):
        raise http.UnreadableBody("expected a Listing")
    if not isinstance(data.get("children"), list):
        raise http.UnreadableBody("expected a Listing with children")


def _comment_body(body: Any) -> None:
    _object(body)  # json.errors first: RATELIMIT and refusals come as HTTP 200
    inner = body.get("json")
    data = inner.get("data") if isinstance(inner, dict) else None
    things = data.get("things") if isinstance(data, dict) else None
    if not isinstance(things, list) or not things or not isinstance(things[0], dict):
        raise http.UnreadableBody("expected json.data.things with the new comment")
    thing = things[0].get("data")
    if not isinstance(thing, dict) or not isinstance(thing.get("name"), str):
        raise http.UnreadableBody("expected the new comment's name")


def _submitted_body(body: Any) -> None:
    _object(body)
    inner = body.get("json")
    data = inner.get("data") if isinstance(inner, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise http.UnreadableBody("expected json.data with the new post's name")


def _raise_json_errors(body: dict[str, Any]) -> None:
    """Reddit's HTTP 200 failures: ``{"json": {"errors": [[TYPE, message, field], ...]}}``."""
    inner = body.get("json")
    errors = inner.get("errors") if isinstance(inner, dict) else None
    if not errors or not isinstance(errors, list):
        return
    described = []
    for error in errors:
        kind, message = [*error, "", ""][:2] if isinstance(error, list) else (error, "")
        if kind == "RATELIMIT":
            wait = reddit_payloads.ratelimit_wait(str(message))
            raise RateLimited(f"Reddit: {message} (RATELIMIT)", reset_at=datetime.now(UTC) + wait)
        described.append(f"{kind}: {message}" if message else str(kind))
    raise Rejected(f"Reddit refused the request: {'; '.join(described)}", status_code=200)
