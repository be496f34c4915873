"""Mastodon REST API: mentions in, replies out.

The HTTP client: paging, quotas and HTTP 429, retries and what a failure means for a write.
The payload models and their mapping to our mentions are in :mod:`connectors.mastodon_payloads`
(re-exported here).
"""

from __future__ import annotations

import contextlib
import logging
import random
import re
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Self, TypeVar

import httpx
import orjson
from pydantic import SecretStr, ValidationError

from connectors import http
from connectors.errors import OutcomeUnknown, RateLimited, Rejected, Retryable
from connectors.mastodon_payloads import (
    JSON_TYPE_NAMES,
    Account,
    Notification,
    Status,
    describe_validation_error,
    map_notifications_page,
    parse_link_header,
    parse_rfc3339,
    to_mention,
)
from socialops.mentions import MentionPage
from socialops.text_safety import neutralise

__all__ = [
    "Account",
    "MastodonClient",
    "Notification",
    "Status",
    "describe_validation_error",
    "map_notifications_page",
    "parse_link_header",
    "parse_rfc3339",
    "to_mention",
]

# --------------------------------------------------------------------------------------------
# HTTP client
# --------------------------------------------------------------------------------------------

logger = logging.getLogger(__name__)

MAX_PAGE_SIZE = 80
VISIBILITIES = frozenset({"public", "unlisted", "private", "direct"})
ISO_639 = re.compile(r"[a-z]{2,3}")
"""A language code Mastodon accepts for a status (``language``): ISO 639-1, or -3."""
_MAX_RATE_LIMIT_WAITS = 5  # per call: a server that keeps answering 429 gets handed back
RESET_MARGIN = timedelta(seconds=1)
"""Added to ``X-RateLimit-Reset``: GoToSocial rounds it down to the second, so waiting exactly
until it sends the first request of the next window a fraction of a second early (one 429)."""
_HEADER_SAFE_TOKEN = re.compile(r"[\x21-\x7e]+")

T = TypeVar("T")


_PLAIN_HTTP_REASONS = frozenset({"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST"})


@dataclass(frozen=True, slots=True)
class _Unreadable:
    """A 2xx answer whose body could not be read: why, for the retry loop."""

    failure: str


class MastodonClient(http.Paced):
    """Mastodon REST API: mentions in, replies out.

    Outcomes map to ``connectors.errors``: ``RateLimited`` (waits longer than
    ``max_rate_limit_wait``), ``Retryable`` (GETs that kept failing after ``get_attempts``),
    ``Rejected`` (4xx), ``OutcomeUnknown`` (a POST that may have happened). Short rate-limit
    waits happen in place through ``sleep``; GETs are retried in place, POSTs never are.
    """

    def __init__(
        self,
        *,
        base_url: str,
        token: SecretStr,
        channel: str,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        max_rate_limit_wait: float = 120.0,
        get_attempts: int = 3,
        backoff_base: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = http.utc_now,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        secret = token.get_secret_value()
        if not _HEADER_SAFE_TOKEN.fullmatch(secret):
            # Checked here so an httpx header error can never echo the token back.
            raise ValueError("token is empty or has characters not allowed in an HTTP header")
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"base_url must be an absolute http(s) URL, got {base_url!r}")
        if get_attempts < 1:
            raise ValueError("get_attempts must be at least 1")
        self._token = token
        self._base_url = base_url
        self._url = url
        self._https = url.scheme == "https"
        self._timeout = timeout
        # Only a real network has a port to ask whether it speaks TLS.
        self._probe_tls = transport is None
        self._base_path = url.path.rstrip("/")
        self._channel = channel
        self._max_rate_limit_wait = max_rate_limit_wait
        self._get_attempts = get_attempts
        self._backoff_base = backoff_base
        self._sleep = sleep
        self._now = now
        self._jitter = jitter
        self._quota_reset_at: datetime | None = None
        self._http = httpx.Client(
            base_url=base_url,
            transport=transport,
            timeout=timeout,
            headers={
                "Authorization": f"Bearer {secret}",
                "Accept": "application/json",
                "User-Agent": "socialops",
            },
        )

    def __repr__(self) -> str:
        return (
            f"MastodonClient(base_url={self._base_url!r}, channel={self._channel!r}, "
            f"token={self._token!r})"
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- API ------------------------------------------------------------------------------------

    def fetch_mentions_page(
        self, *, max_id: str | None = None, min_id: str | None = None, limit: int = MAX_PAGE_SIZE
    ) -> MentionPage:
        """One page of mention notifications, newest first, mapped to a ``MentionPage``.

        ``max_id``: the page older than that notification id (``direction="older"``);
        ``min_id``: the page just newer than it (``direction="newer"``); neither: the newest page.
        Cursors are notification ids, not status ids.
        """
        if max_id is not None and min_id is not None:
            raise ValueError("pass max_id or min_id, not both")
        query: list[tuple[str, str]] = [
            ("types[]", "mention"),
            ("limit", str(max(1, min(limit, MAX_PAGE_SIZE)))),
        ]
        direction: Literal["older", "newer"] = "older"
        if max_id is not None:
            query.append(("max_id", max_id))
        if min_id is not None:
            query.append(("min_id", min_id))
            direction = "newer"
        items, link_header = self._request(
            "GET",
            "/api/v1/notifications",
            params=httpx.QueryParams(tuple(query)),
            scope="read:notifications",
            parse=_parse_notification_list,
        )
        return map_notifications_page(
            items, channel=self._channel, link_header=link_header, direction=direction
        )

    def verify_credentials(self) -> Account:
        """The account the token belongs to (also a cheap check that the token works)."""
        return self._request(
            "GET",
            "/api/v1/accounts/verify_credentials",
            scope="read:accounts",
            parse=lambda body, _link: Account.model_validate(body),
        )

    def post_status(
        self,
        *,
        text: str,
        idempotency_key: str,
        in_reply_to_id: str | None = None,
        visibility: str = "public",
        language: str | None = None,
    ) -> Status:
        """Post a status (a reply when ``in_reply_to_id`` is given). Never retried in place.
        ``language``: an ISO 639 code (``es``); anything else is left out, and the server
        labels the status with the account's default language.

        Mastodon and Pleroma honour ``Idempotency-Key`` for an hour; other servers ignore it, so
        after ``OutcomeUnknown`` look for the status among the account's own before posting again.
        """
        if visibility not in VISIBILITIES:
            raise ValueError(
                f"visibility must be one of {', '.join(sorted(VISIBILITIES))}, got {visibility!r}"
            )
        if not idempotency_key:
            raise ValueError("idempotency_key must not be empty")
        form = {"status": text, "visibility": visibility}
        if in_reply_to_id is not None:
            form["in_reply_to_id"] = in_reply_to_id
        if language and ISO_639.fullmatch(language):
            form["language"] = language
        return self._request(
            "POST",
            "/api/v1/statuses",
            data=form,
            headers={"Idempotency-Key": idempotency_key},
            scope="write:statuses",
            parse=lambda body, _link: Status.model_validate(body),
        )

    def post_reply(
        self,
        *,
        in_reply_to: str | None,
        text: str,
        idempotency_key: str,
        visibility: str,
        language: str | None = None,
    ) -> Status:
        """Publish a reply (or, without ``in_reply_to``, a post): ``post_status`` for the
        sign-off stage. ``OutcomeUnknown``: look among ``recent_statuses`` before trying again."""
        return self.post_status(
            text=text,
            idempotency_key=idempotency_key,
            in_reply_to_id=in_reply_to,
            visibility=visibility,
            language=language,
        )

    def recent_statuses(
        self, *, account_id: str, max_id: str | None = None, limit: int = 40
    ) -> list[Status]:
        """The account's own statuses, newest first (``GET /api/v1/accounts/:id/statuses``),
        one page older than ``max_id``; retried in place like every GET."""
        query: list[tuple[str, str]] = [("limit", str(max(1, min(limit, 40))))]
        if max_id is not None:
            query.append(("max_id", max_id))
        return self._request(
            "GET",
            f"/api/v1/accounts/{account_id}/statuses",
            params=httpx.QueryParams(tuple(query)),
            scope="read:statuses",
            parse=_parse_status_list,
        )

    # -- HTTP outcomes --------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        scope: str,
        parse: Callable[[Any, str | None], T],
        params: httpx.QueryParams | None = None,
        data: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> T:
        where = f"{method} {self._base_path}{path}"
        is_write = method != "GET"
        failures = 0
        rate_limit_waits = 0
        while True:
            self._wait_for_quota(where)
            try:
                response = self._http.request(
                    method, path, params=params, data=data, headers=headers
                )
            except httpx.TransportError as exc:
                failure = self._transport_failed(exc, where, is_write=is_write)
            else:
                self._note_quota(response)
                status = response.status_code
                if status == 429:
                    rate_limit_waits += 1
                    self._wait_out_rate_limit(
                        response, where, is_write=is_write, waits=rate_limit_waits
                    )
                    continue
                if 200 <= status < 300:
                    read = self._read_ok(response, where, parse, is_write=is_write)
                    if not isinstance(read, _Unreadable):
                        return read
                    failure = read.failure
                elif status >= 500:
                    kind = _content_type(response)
                    failure = f"HTTP {status} ({kind})" if kind else f"HTTP {status}"
                    if is_write:
                        raise OutcomeUnknown(self._unknown_outcome(where, failure))
                else:
                    raise Rejected(self._rejection(where, response, scope), status_code=status)
            failures += 1
            self._back_off(where, failure, failures)

    def _transport_failed(self, exc: httpx.TransportError, where: str, *, is_write: bool) -> str:
        """A failure below HTTP: what went wrong when trying again can help, else the error
        to raise (a write that may have reached the server is an unknown outcome)."""
        failure, retryable = self._transport_failure(exc)
        if not retryable:
            raise Rejected(self._redact(f"{where}: {failure}")) from exc
        if is_write and isinstance(exc, http.NOT_SENT):
            # No connection, so nothing was sent: safe to retry even a POST.
            raise Retryable(self._redact(f"{where}: {failure}")) from exc
        if is_write:
            raise OutcomeUnknown(self._unknown_outcome(where, failure)) from exc
        return failure

    def _wait_out_rate_limit(
        self, response: httpx.Response, where: str, *, is_write: bool, waits: int
    ) -> None:
        """HTTP 429: sleep until the quota resets, unless this is a write, the wait is too
        long or this request already waited too often (then :class:`RateLimited`)."""
        reset_at, wait = self._rate_limit_reset(response)
        if is_write or wait > self._max_rate_limit_wait:
            raise RateLimited(
                f"{where}: rate limited (HTTP 429) until {reset_at.isoformat()}, "
                f"{wait:.0f}s from now",
                reset_at=reset_at,
            )
        if waits > _MAX_RATE_LIMIT_WAITS:
            raise RateLimited(
                f"{where}: still rate limited (HTTP 429) after {_MAX_RATE_LIMIT_WAITS} waits",
                reset_at=reset_at,
            )
        logger.info("%s: rate limited, waiting %.1fs", where, wait)
        self._sleep(wait)
        self._quota_reset_at = None

    def _read_ok(
        self,
        response: httpx.Response,
        where: str,
        parse: Callable[[Any, str | None], T],
        *,
        is_write: bool,
    ) -> T | _Unreadable:
        """A 2xx answer parsed; a web page instead of JSON is rejected (retrying cannot help),
        an unreadable body is a failure to retry (or an unknown outcome for a write)."""
        status = response.status_code
        kind = _content_type(response)
        if not _is_json(kind) and _looks_like_markup(response.content):
            # A web page, a login wall or a parked domain: retrying cannot help.
            raise Rejected(
                self._redact(
                    f"{where}: HTTP {status} with {kind or 'no content type'}, "
                    f"not JSON: {self._base_url} does not look like a Mastodon "
                    "API (check base_url)"
                ),
                status_code=status,
            )
        try:
            # orjson: a page of 80 notifications is ~260 KB; stdlib json was a
            # third of the fetching thread's time in the ingest benchmark.
            return parse(orjson.loads(response.content), response.headers.get("link"))
        except (ValueError, http.UnreadableBody) as exc:
            failure = f"HTTP {status} with an unreadable body ({_short_reason(exc)})"
            if is_write:
                raise OutcomeUnknown(self._unknown_outcome(where, failure)) from exc
            return _Unreadable(failure)

    def _transport_failure(self, exc: httpx.TransportError) -> tuple[str, bool]:
        """What went wrong below HTTP, in a few words, and whether trying again can help."""
        name = type(exc).__name__
        origin = f"{self._url.host}:{self._url.port or (443 if self._https else 80)}"
        if isinstance(exc, httpx.TimeoutException):
            return f"timed out ({name}): no answer from {origin} within {self._timeout:g}s", True
        cause = _root_cause(exc)
        if isinstance(cause, ssl.SSLError):
            reason = _ssl_reason(cause)
            hint = (
                ": the port speaks plain HTTP, use http:// in base_url"
                if getattr(cause, "reason", "") in _PLAIN_HTTP_REASONS
                else ""
            )
            return f"TLS handshake with {origin} failed ({reason}){hint}", False
        if (
            self._probe_tls
            and not self._https
            and not isinstance(exc, httpx.ConnectError)
            and _speaks_tls(self._url.host, self._url.port or 80, self._timeout)
        ):
            return (
                f"{self._base_url} speaks TLS on this port ({name}): use https:// in base_url"
            ), False
        if isinstance(cause, ConnectionRefusedError):
            return f"could not connect ({name}): connection refused by {origin}", True
        if isinstance(cause, socket.gaierror):
            return f"could not connect ({name}): host {self._url.host} not found", True
        detail = _first_line(str(exc)) or type(cause).__name__
        if isinstance(exc, httpx.ConnectError):
            return f"could not connect ({name}): {detail}", True
        return f"connection failed ({name}): {detail}", True

    def _note_quota(self, response: httpx.Response) -> None:
        try:
            remaining = int(response.headers.get("x-ratelimit-remaining", ""))
        except ValueError:
            return  # servers without rate-limit headers (Takahē, Bluesky dev)
        reset_at = parse_rfc3339(response.headers.get("x-ratelimit-reset"))
        if reset_at is not None:
            reset_at += RESET_MARGIN
        self._quota_reset_at = reset_at if remaining <= 0 else None

    def _rate_limit_reset(self, response: httpx.Response) -> tuple[datetime, float]:
        """When a 429 lifts: the later of X-RateLimit-Reset and Retry-After, else 60 s."""
        reset_at = parse_rfc3339(response.headers.get("x-ratelimit-reset"))
        return self._lift_time(response, None if reset_at is None else reset_at + RESET_MARGIN)

    def _rejection(self, where: str, response: httpx.Response, scope: str) -> str:
        status = response.status_code
        if status in (401, 403):
            message = (
                f"{where}: HTTP {status}: the access token is invalid or revoked, "
                f"or lacks the {scope} scope"
            )
        elif status == 404:
            message = f"{where}: HTTP 404: not found (gone, or base_url is not a Mastodon API)"
        elif 300 <= status < 400:
            location = response.headers.get("location", "?")
            message = f"{where}: HTTP {status}: redirected to {location}; fix base_url"
        else:
            message = f"{where}: rejected with HTTP {status}"
        detail = _error_detail(response)
        if detail:
            message += f' (Mastodon said: "{detail}")'
        return self._redact(message)

    def _unknown_outcome(self, where: str, failure: str) -> str:
        return self._redact(
            f"{where}: {failure}; the status may or may not have been posted: "
            "look for it among the account's statuses before posting again"
        )

    def _redact(self, message: str) -> str:
        """The message without the token and without control characters: it is shown."""
        return neutralise(message.replace(self._token.get_secret_value(), "**********"))


def _parse_notification_list(body: Any, link_header: str | None) -> tuple[list[Any], str | None]:
    if not isinstance(body, list):
        name = "object" if isinstance(body, dict) else JSON_TYPE_NAMES.get(type(body), "value")
        raise http.UnreadableBody(f"expected a JSON array of notifications, got {name}")
    return body, link_header


def _parse_status_list(body: Any, _link_header: str | None) -> list[Status]:
    if not isinstance(body, list):
        raise http.UnreadableBody("expected a JSON array of statuses")
    return [Status.model_validate(item) for item in body]


def _error_detail(response: httpx.Response, limit: int = 200) -> str:
    """Mastodon's ``{"error": ..., "error_description": ...}``, or a short plain-text body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        parts = [body.get("error"), body.get("error_description")]
        text = ": ".join(part for part in parts if isinstance(part, str) and part)
    elif body is None and "html" not in response.headers.get("content-type", ""):
        text = response.text.strip()
    else:
        text = ""
    text = " ".join(neutralise(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _content_type(response: httpx.Response) -> str:
    """``text/html`` from ``text/html; charset=utf-8``; empty when absent."""
    value: str = response.headers.get("content-type", "")
    return value.split(";", 1)[0].strip().lower()


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


def _looks_like_markup(body: bytes) -> bool:
    """An HTML or XML document, whatever the content type says."""
    return body.lstrip()[:1] == b"<"


def _root_cause(exc: BaseException) -> BaseException:
    seen = {id(exc)}
    while (nxt := exc.__cause__ or exc.__context__) is not None and id(nxt) not in seen:
        seen.add(id(nxt))
        exc = nxt
    return exc


def _ssl_reason(exc: ssl.SSLError) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        return f"certificate: {exc.verify_message}"
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str) and reason:
        return reason.replace("_", " ").lower()
    return _first_line(str(exc)) or "TLS error"


def _first_line(text: str, limit: int = 160) -> str:
    line = neutralise(text.strip().split("\n", 1)[0])
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _speaks_tls(host: str, port: int, timeout: float) -> bool:
    """Whether ``host:port`` answers a TLS ClientHello with a TLS record.

    Asked only after a plain-HTTP exchange with it broke: a TLS server given plain HTTP resets
    the connection or sends an alert, which looks like any flaky network until asked this way.
    """
    hello = ssl.MemoryBIO()
    tls = ssl.create_default_context()
    tls.check_hostname = False
    tls.verify_mode = ssl.CERT_NONE
    client = tls.wrap_bio(ssl.MemoryBIO(), hello, server_hostname=host)
    with contextlib.suppress(ssl.SSLWantReadError):  # the ClientHello is written by then
        client.do_handshake()
    try:
        with socket.create_connection((host, port), timeout=min(timeout, 3.0)) as conn:
            conn.sendall(hello.read())
            answer = conn.recv(3)
    except OSError:
        return False
    # A TLS record: handshake (22) or alert (21), then the protocol's major version 3.
    return len(answer) >= 2 and answer[0] in (21, 22) and answer[1] == 3


def _short_reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return describe_validation_error(exc, limit=1)
    return str(exc).split("\n", 1)[0][:120]
