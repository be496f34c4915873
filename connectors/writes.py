"""One write to a platform, sent once: what the Reddit and X publishers share.

A read may be repeated at will (``http.ReadClient._send`` retries it in place); a write may not.
:meth:`WriteClient._write` sends the request exactly once and maps the outcome so the publisher
knows what happened:

- no connection was made (connect error or timeout, no pooled connection): ``Retryable``;
- 429, or a spent quota before sending: ``RateLimited`` (nothing was written);
- 2xx with the expected JSON: the body;
- 5xx, a timeout or reset after the request left, a 2xx that cannot be read: ``OutcomeUnknown``
  (it may have been written: look among the account's own posts before sending it again);
- other 4xx: ``Rejected`` with the platform's message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import orjson

from connectors import http
from connectors.errors import OutcomeUnknown, RateLimited, Rejected, Retryable

logger = logging.getLogger(__name__)


class WriteClient(http.ReadClient):
    """A :class:`~connectors.http.ReadClient` that can also write, once per call."""

    def _write(
        self,
        method: str,
        url: str,
        *,
        scope: str,
        data: dict[str, str] | None = None,
        json: Any = None,
        params: Any = None,
        headers: dict[str, str] | None = None,
        check: Callable[[Any], None] | None = None,
    ) -> tuple[Any, httpx.Response]:
        """Send one write and return ``(parsed JSON body, response)``; never retried here."""
        where = f"{method} {httpx.URL(url).path}"
        self._wait_for_quota(where)  # RateLimited when the wait is too long: nothing sent
        try:
            self.requests += 1
            response = self._http.request(
                method, url, params=params, data=data, json=json, headers=headers
            )
        except http.NOT_SENT as exc:
            raise Retryable(
                self._redact(f"{where}: could not connect ({type(exc).__name__}); not sent")
            ) from exc
        except httpx.TransportError as exc:
            raise OutcomeUnknown(
                self._unknown(where, f"{type(exc).__name__} after the request was sent")
            ) from exc
        status = response.status_code
        self._quota_reset_at = self._quota_spent_until(response)
        refused = self._refused(response)
        if refused is not None:
            raise Rejected(self._redact(f"{where}: {refused}"), status_code=status)
        if status == 429:
            lifted, wait = self._rate_limit_wait(response)
            raise RateLimited(
                self._redact(
                    f"{where}: rate limited by {self.platform} (HTTP 429) until "
                    f"{lifted.isoformat()}, {wait:.0f}s from now; nothing was written"
                ),
                reset_at=lifted,
            )
        if self._is_auth_expired(response):
            raise http.AuthExpired(where)
        if status >= 500:
            kind = response.headers.get("content-type", "").split(";")[0].strip()
            failure = f"HTTP {status} ({kind})" if kind else f"HTTP {status}"
            raise OutcomeUnknown(self._unknown(where, failure))
        if 200 <= status < 300:
            try:
                body = orjson.loads(response.content)
            except ValueError as exc:
                raise OutcomeUnknown(
                    self._unknown(where, f"HTTP {status} with a body that is not JSON")
                ) from exc
            if check is not None:
                try:
                    check(body)
                except http.UnreadableBody as exc:
                    raise OutcomeUnknown(
                        self._unknown(where, f"HTTP {status} with an unreadable body ({exc})")
                    ) from exc
            return body, response
        raise Rejected(self._rejection(where, response, scope), status_code=status)

    def _unknown(self, where: str, failure: str) -> str:
        return self._redact(
            f"{where}: {failure}: the post may or may not have been made "
            "(look among the account's own posts before sending it again)"
        )
