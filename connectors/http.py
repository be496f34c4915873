"""The HTTP outcome loop the Bluesky, Reddit and X clients share (reads only).

A platform client subclasses :class:`ReadClient` and says how its platform spells a spent quota
and a 429's reset, and what its error bodies say. The loop maps every outcome to
``connectors.errors``: short rate-limit waits happen in place (``sleep``), longer ones raise
``RateLimited``; 5xx, timeouts, connection errors and unreadable bodies are retried in place with
exponential backoff and jitter, then raise ``Retryable``; other 4xx raise ``Rejected`` at once.
Everything here is safe to repeat: no method of these clients writes to the platform.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Self, TypedDict

import httpx
import orjson
from pydantic import SecretStr

from connectors.errors import RateLimited, Rejected, Retryable

logger = logging.getLogger(__name__)

HEADER_SAFE = re.compile(r"[\x21-\x7e]+")
_MAX_RATE_LIMIT_WAITS = 5  # per call: a server that keeps answering 429 gets handed back
DEFAULT_RATE_LIMIT_WAIT = 60.0  # a 429 that says nothing about when it lifts
_MIN_RATE_LIMIT_WAIT = 1.0  # a reset already past (clock skew) must not become a hot loop
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Transport errors raised before a byte of the request left: safe to send again."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class UnreadableBody(Exception):
    """A 2xx response whose body is not the JSON we expected (retried like a 5xx)."""


class AuthExpired(Exception):
    """The platform says the credential expired: the client renews it and sends again."""


def retry_after(value: str | None, now: datetime) -> datetime | None:
    """``Retry-After`` as seconds or an HTTP date, as a UTC instant."""
    if not value:
        return None
    value = value.strip()
    try:
        return now + timedelta(seconds=float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def epoch_seconds(value: str | None) -> datetime | None:
    """A unix-seconds header (``RateLimit-Reset``, ``x-rate-limit-reset``) as a UTC instant."""
    try:
        return datetime.fromtimestamp(float(value or ""), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def header_float(response: httpx.Response, name: str) -> float | None:
    """A numeric header; Reddit sends floats as strings (``'9324.0'``)."""
    try:
        return float(response.headers.get(name, ""))
    except ValueError:
        return None


def short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Tuning(TypedDict, total=False):
    """The keywords every platform client takes to tune its outcome loop (all optional).

    ``timeout`` (10 s) per request; ``max_rate_limit_wait`` (120 s): a longer wait raises
    ``RateLimited`` instead of sleeping; ``get_attempts`` (3) and ``backoff_base`` (0.2 s) for
    retries in place; ``sleep``, ``now`` and ``jitter`` are injectable for tests.
    """

    timeout: float
    max_rate_limit_wait: float
    get_attempts: int
    backoff_base: float
    sleep: Callable[[float], None]
    now: Callable[[], datetime]
    jitter: Callable[[], float] | None


class Paced:
    """The waits every platform client makes, in one place: until a spent quota resets, until
    a 429 lifts, and the backoff between attempts of a request that is safe to repeat.

    A client sets the attributes below; what differs by platform (which headers carry the reset,
    how long a 429 says to wait) is read by the client and handed in.
    """

    _max_rate_limit_wait: float
    _get_attempts: int
    _backoff_base: float
    _sleep: Callable[[float], None]
    _now: Callable[[], datetime]
    _jitter: Callable[[], float]
    _quota_reset_at: datetime | None

    def _quota_owner(self) -> str:
        """Whose quota a ``RateLimited`` message names (``"Bluesky "``; empty: unnamed)."""
        return ""

    def _redact(self, message: str) -> str:
        return message

    def _wait_for_quota(self, where: str) -> None:
        """Sleep until the reset when the last response said the quota is spent."""
        reset_at = self._quota_reset_at
        if reset_at is None:
            return
        wait = (reset_at - self._now()).total_seconds()
        if wait > self._max_rate_limit_wait:
            raise RateLimited(
                f"{where}: {self._quota_owner()}rate-limit quota spent until "
                f"{reset_at.isoformat()}, {wait:.0f}s from now",
                reset_at=reset_at,
            )
        if wait > 0:
            logger.info("%s: rate-limit quota spent, waiting %.1fs", where, wait)
            self._sleep(wait)
        self._quota_reset_at = None

    def _lift_time(
        self, response: httpx.Response, platform_reset: datetime | None
    ) -> tuple[datetime, float]:
        """When a 429 lifts and how long until then: the later of the platform's own reset and
        ``Retry-After``, else 60 s; never less than a second (a past reset is clock skew)."""
        now = self._now()
        candidates = [
            when
            for when in (platform_reset, retry_after(response.headers.get("retry-after"), now))
            if when is not None
        ]
        lifted = max(candidates) if candidates else now + timedelta(seconds=DEFAULT_RATE_LIMIT_WAIT)
        return lifted, max((lifted - now).total_seconds(), _MIN_RATE_LIMIT_WAIT)

    def _back_off(self, where: str, failure: str, failures: int) -> None:
        """After the ``failures``-th failed attempt: ``Retryable`` when the attempts are spent,
        else sleep an exponential backoff with jitter."""
        if failures >= self._get_attempts:
            raise Retryable(self._redact(f"{where}: {failure} ({failures} attempts)"))
        delay = self._backoff_base * 2 ** (failures - 1) * (1 + self._jitter())
        logger.info("%s: %s; retrying in %.2fs", where, failure, delay)
        self._sleep(delay)


class ReadClient(Paced):
    """Base of the platform clients: one ``httpx.Client``, the outcome loop, secret redaction."""

    platform = "platform"

    def __init__(
        self,
        *,
        base_url: str,
        channel: str,
        secrets: tuple[SecretStr, ...],
        user_agent: str,
        transport: httpx.BaseTransport | None,
        timeout: float = 10.0,
        max_rate_limit_wait: float = 120.0,
        get_attempts: int = 3,
        backoff_base: float = 0.2,
        sleep: Callable[[float], None] | None = None,
        now: Callable[[], datetime] | None = None,
        jitter: Callable[[], float] | None = None,
    ) -> None:
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"base_url must be an absolute http(s) URL, got {base_url!r}")
        if get_attempts < 1:
            raise ValueError("get_attempts must be at least 1")
        for secret in secrets:
            if not HEADER_SAFE.fullmatch(secret.get_secret_value()):
                # Checked here so an httpx header error can never echo a secret back.
                raise ValueError("a credential is empty or has characters not allowed in HTTP")
        self._secrets = list(secrets)
        self._base_url = base_url.rstrip("/")
        self._base_path = url.path.rstrip("/")
        self._channel = channel
        self._max_rate_limit_wait = max_rate_limit_wait
        self._get_attempts = get_attempts
        self._backoff_base = backoff_base
        self._sleep = sleep or default_sleep
        self._now = now or utc_now
        self._jitter = jitter or make_jitter()
        self._quota_reset_at: datetime | None = None
        self.requests = 0
        self._http = httpx.Client(
            transport=transport,
            timeout=timeout,
            headers={"Accept": "application/json", "User-Agent": user_agent},
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._base_url!r}, channel={self._channel!r})"

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- what a platform says differently ------------------------------------------------------

    def _quota_owner(self) -> str:
        return f"{self.platform} "

    def _quota_spent_until(self, response: httpx.Response) -> datetime | None:
        """When the quota resets, if this response says it is spent; else ``None``."""
        return None

    def _rate_limit_lifts_at(self, response: httpx.Response) -> datetime | None:
        """When a 429 lifts, from the platform's headers (``Retry-After`` is read anyway)."""
        return None

    def _error_detail(self, response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return "" if "html" in response.headers.get("content-type", "") else response.text
        return short(str(body)) if body else ""

    def _is_auth_expired(self, response: httpx.Response) -> bool:
        return False

    def _refused(self, response: httpx.Response) -> str | None:
        """A refusal that waiting will not lift (e.g. X's usage cap, sent as a 429)."""
        return None

    def _rejection_hint(self, status: int, scope: str) -> str:
        if status in (401, 403):
            return f"the credentials are invalid or revoked, or lack {scope}"
        if status == 404:
            return f"not found (check base_url and the account settings for {self.platform})"
        return "rejected"

    # -- the loop -------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        *,
        scope: str,
        params: Any = None,
        data: dict[str, str] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        check: Callable[[Any], None] | None = None,
    ) -> tuple[Any, httpx.Response]:
        """Send until a usable answer: ``(parsed JSON body, response)``."""
        where = f"{method} {httpx.URL(url).path}"
        failures = 0
        rate_limit_waits = 0
        while True:
            self._wait_for_quota(where)
            failure: str
            try:
                self.requests += 1
                response = self._http.request(
                    method, url, params=params, data=data, json=json, headers=headers, auth=auth
                )
            except httpx.TimeoutException as exc:
                failure = f"timed out ({type(exc).__name__})"
            except httpx.TransportError as exc:
                failure = f"connection failed ({type(exc).__name__})"
            else:
                status = response.status_code
                self._quota_reset_at = self._quota_spent_until(response)
                refused = self._refused(response)
                if refused is not None:
                    raise Rejected(self._redact(f"{where}: {refused}"), status_code=status)
                if status == 429:
                    lifted, wait = self._rate_limit_wait(response)
                    rate_limit_waits += 1
                    if wait > self._max_rate_limit_wait or rate_limit_waits > _MAX_RATE_LIMIT_WAITS:
                        raise RateLimited(
                            self._redact(
                                f"{where}: rate limited by {self.platform} (HTTP 429) until "
                                f"{lifted.isoformat()}, {wait:.0f}s from now"
                            ),
                            reset_at=lifted,
                        )
                    logger.info("%s: rate limited, waiting %.1fs", where, wait)
                    self._sleep(wait)
                    self._quota_reset_at = None
                    continue
                if self._is_auth_expired(response):
                    raise AuthExpired(where)
                if 200 <= status < 300:
                    try:
                        body = orjson.loads(response.content)
                        if check is not None:
                            check(body)
                        return body, response
                    except (ValueError, UnreadableBody) as exc:
                        failure = f"HTTP {status} with an unreadable body ({short(str(exc), 120)})"
                elif status >= 500:
                    failure = f"HTTP {status}"
                else:
                    raise Rejected(self._rejection(where, response, scope), status_code=status)
            failures += 1
            self._back_off(where, failure, failures)

    def _rate_limit_wait(self, response: httpx.Response) -> tuple[datetime, float]:
        """When a 429 lifts: the later of the platform's reset and Retry-After, else 60 s."""
        return self._lift_time(response, self._rate_limit_lifts_at(response))

    def _rejection(self, where: str, response: httpx.Response, scope: str) -> str:
        status = response.status_code
        if 300 <= status < 400:
            location = response.headers.get("location", "?")
            message = f"{where}: HTTP {status}: redirected to {location}; fix base_url"
        else:
            message = f"{where}: HTTP {status}: {self._rejection_hint(status, scope)}"
        detail = short(self._error_detail(response))
        if detail:
            message += f' ({self.platform} said: "{detail}")'
        return self._redact(message)

    def _add_secret(self, value: str) -> None:
        """A credential obtained at run time (an access token) is redacted like configured ones."""
        if value and value not in (s.get_secret_value() for s in self._secrets):
            self._secrets.append(SecretStr(value))

    def _redact(self, message: str) -> str:
        for secret in self._secrets:
            message = message.replace(secret.get_secret_value(), "**********")
        return message


def make_jitter() -> Callable[[], float]:
    return random.random


def default_sleep(seconds: float) -> None:
    time.sleep(seconds)
