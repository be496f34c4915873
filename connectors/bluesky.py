"""Bluesky (AT Protocol XRPC): mentions in, from notifications and from keyword search; the
few calls publishing needs (getPosts, resolveHandle, putRecord, listRecords: see
``connectors.bluesky_publish``).

Payload models and their mapping to our ``Mention``: :mod:`connectors.bluesky_payloads`.

The session (createSession: 30 per 5 minutes, 300 a day per account) is cached in the channel's
:class:`~connectors.state.StateStore` and renewed with refreshSession when the PDS answers
``ExpiredToken``; the app password is sent only when there is no usable session.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Unpack

import httpx
from pydantic import SecretStr, ValidationError

from connectors import bluesky_payloads, feeds, http
from connectors.errors import OutcomeUnknown, Rejected, Retryable
from connectors.mastodon_payloads import describe_validation_error
from connectors.state import StateStore

MAX_PAGE_SIZE = 100
REREAD = timedelta(minutes=15)
"""How far below the stored position a forward run reads again (the search index can lag)."""
SESSION_KEY = "session"


# --------------------------------------------------------------------------------------------
# HTTP client
# --------------------------------------------------------------------------------------------


def _list_of(key: str) -> Callable[[Any], None]:
    def check(body: Any) -> None:
        if not isinstance(body, dict) or not isinstance(body.get(key), list):
            raise http.UnreadableBody(f"expected an object with a {key!r} array")

    return check


def _object(body: Any) -> None:
    if not isinstance(body, dict):
        raise http.UnreadableBody("expected a JSON object")


def _strong_ref(body: Any) -> None:
    if not (
        isinstance(body, dict)
        and isinstance(body.get("uri"), str)
        and isinstance(body.get("cid"), str)
    ):
        raise http.UnreadableBody("expected an object with 'uri' and 'cid'")


class BlueskyClient(feeds.MergedFeedSource, http.ReadClient):
    """Bluesky XRPC: the account's mention notifications and keyword searches, as one feed."""

    platform = "Bluesky"

    def __init__(
        self,
        *,
        base_url: str,
        identifier: str,
        password: SecretStr,
        channel: str,
        store: StateStore,
        search: Sequence[str] = (),
        backfill_hours: float = 48,
        max_pages: int = 1000,
        transport: httpx.BaseTransport | None = None,
        **tuning: Unpack[http.Tuning],
    ) -> None:
        super().__init__(
            base_url=base_url,
            channel=channel,
            secrets=(password,),
            user_agent="socialops",
            transport=transport,
            **tuning,
        )
        self._identifier = identifier
        self._password = password
        self._store = store
        self._session: bluesky_payloads.Session | None = None
        self.sessions_created = 0
        self.sessions_refreshed = 0
        self.merge_streams(
            feeds.Stream("notifications", self._notifications),
            search=search,
            searcher=self._searcher,
            backfill_hours=backfill_hours,
            reread=REREAD,
            max_pages=max_pages,
            now=self._now,
        )

    def _notifications(
        self, cursor: str | None, since: datetime | None, limit: int
    ) -> feeds.StreamPage:
        params: list[tuple[str, str]] = [("reasons", r) for r in bluesky_payloads.MENTION_REASONS]
        params.append(("limit", str(max(1, min(limit, MAX_PAGE_SIZE)))))
        if cursor:
            params.append(("cursor", cursor))
        body = self._xrpc(
            "app.bsky.notification.listNotifications", params, check=_list_of("notifications")
        )
        return feeds.StreamPage(
            bluesky_payloads.map_notifications(body["notifications"], channel=self._channel),
            _cursor(body),
        )

    def _searcher(self, query: str) -> feeds.FetchPage:
        def fetch(cursor: str | None, since: datetime | None, limit: int) -> feeds.StreamPage:
            params = [
                ("q", query),
                ("sort", "latest"),
                ("limit", str(max(1, min(limit, MAX_PAGE_SIZE)))),
            ]
            if since is not None:
                params.append(("since", since.strftime("%Y-%m-%dT%H:%M:%S.%fZ")))
            if cursor:
                params.append(("cursor", cursor))
            body = self._xrpc("app.bsky.feed.searchPosts", params, check=_list_of("posts"))
            return feeds.StreamPage(
                bluesky_payloads.map_search_posts(body["posts"], channel=self._channel),
                _cursor(body),
            )

        return fetch

    def verify_credentials(self) -> dict[str, str]:
        """Who the session belongs to (``com.atproto.server.getSession``): a cheap check."""
        body = self._xrpc("com.atproto.server.getSession", [], check=_object)
        return {"did": str(body.get("did", "")), "handle": str(body.get("handle", ""))}

    # -- what publishing needs (connectors.bluesky_publish) ----------------------------------
    def account_did(self) -> str:
        """The DID of the logged-in account (from the session: no request when cached)."""
        return self._current_session().did

    def account_handle(self) -> str:
        return self._current_session().handle

    def get_posts(self, uris: Sequence[str]) -> list[bluesky_payloads.PostView]:
        """``app.bsky.feed.getPosts`` (at most 25 AT-URIs): the posts that still exist."""
        params = [("uris", uri) for uri in uris[:25]]
        body = self._xrpc("app.bsky.feed.getPosts", params, check=_list_of("posts"))
        posts: list[bluesky_payloads.PostView] = []
        for item in body["posts"]:
            try:
                posts.append(bluesky_payloads.PostView.model_validate(item))
            except ValidationError as exc:
                raise Rejected(
                    f"getPosts answered an unreadable post ({describe_validation_error(exc)})"
                ) from exc
        return posts

    def resolve_handle(self, handle: str) -> str | None:
        """``com.atproto.identity.resolveHandle``: the handle's DID, or ``None`` when the
        network does not know it (a 400 ``InvalidRequest``/``HandleNotFound``)."""
        try:
            body = self._xrpc(
                "com.atproto.identity.resolveHandle", [("handle", handle)], check=_object
            )
        except Rejected as exc:
            if exc.status_code in (400, 404):
                return None
            raise
        did = body.get("did")
        return did if isinstance(did, str) and did.startswith("did:") else None

    def put_record(
        self, *, collection: str, rkey: str, record: dict[str, Any]
    ) -> bluesky_payloads.StrongRef:
        """``com.atproto.repo.putRecord`` into the account's own repository.

        Writing the same record under the same key again is a no-op on a real PDS (it compares
        the record's CID: ``packages/pds/src/api/com/atproto/repo/putRecord.ts``), so this write
        is retried in place like a read. When the attempts run out, nobody knows whether it was
        written: ``OutcomeUnknown``.
        """
        payload = {
            "repo": self.account_did(),
            "collection": collection,
            "rkey": rkey,
            "record": record,
        }
        try:
            body = self._xrpc(
                "com.atproto.repo.putRecord", [], check=_strong_ref, method="POST", json=payload
            )
        except Retryable as exc:
            raise OutcomeUnknown(
                f"putRecord {collection}/{rkey}: {exc}; it may have been written"
            ) from exc
        return bluesky_payloads.StrongRef.model_validate(body)

    def list_records(
        self, *, collection: str, cursor: str | None = None, limit: int = MAX_PAGE_SIZE
    ) -> tuple[list[bluesky_payloads.RepoRecord], str | None]:
        """``com.atproto.repo.listRecords`` of the account's own repository, newest record key
        first: straight from the PDS, so a post is there the moment it is written (the
        AppView's ``getAuthorFeed`` lags behind the firehose)."""
        params = [
            ("repo", self.account_did()),
            ("collection", collection),
            ("limit", str(max(1, min(limit, MAX_PAGE_SIZE)))),
        ]
        if cursor:
            params.append(("cursor", cursor))
        body = self._xrpc("com.atproto.repo.listRecords", params, check=_list_of("records"))
        records: list[bluesky_payloads.RepoRecord] = []
        for item in body["records"]:
            try:
                records.append(bluesky_payloads.RepoRecord.model_validate(item))
            except ValidationError:
                continue  # not ours to judge: reconciliation only looks for its own posts
        return records, _cursor(body)

    # -- session ----------------------------------------------------------------------------
    def _xrpc(
        self,
        nsid: str,
        params: list[tuple[str, str]],
        *,
        check: Callable[[Any], None],
        method: str = "GET",
        json: dict[str, Any] | None = None,
    ) -> Any:
        for _attempt in range(3):
            session = self._current_session()
            try:
                body, _response = self._send(
                    method,
                    f"{self._base_url}/xrpc/{nsid}",
                    params=params or None,
                    json=json,
                    headers={"Authorization": f"Bearer {session.access_jwt}"},
                    scope="a session of this account",
                    check=check,
                )
                return body
            except http.AuthExpired:
                # An expired token is refused before anything is written: renew and resend.
                self._renew(session)
        raise Rejected(f"{nsid}: the session kept expiring right after it was renewed")

    def _current_session(self) -> bluesky_payloads.Session:
        if self._session is None:
            stored = self._store.load(SESSION_KEY)
            if stored and stored.get("identifier") == self._identifier:
                try:
                    self._session = bluesky_payloads.Session.model_validate(stored)
                except ValidationError:
                    self._session = None
            if self._session is None:
                self._session = self._create_session()
            self._add_secret(self._session.access_jwt)
            self._add_secret(self._session.refresh_jwt)
        return self._session

    def _renew(self, expired: bluesky_payloads.Session) -> None:
        """refreshSession with the refresh token; createSession only when that is refused."""
        try:
            body, _ = self._send(
                "POST",
                f"{self._base_url}/xrpc/com.atproto.server.refreshSession",
                headers={"Authorization": f"Bearer {expired.refresh_jwt}"},
                scope="a valid refresh token",
                check=_object,
            )
            session = bluesky_payloads.Session.model_validate(body)
            self.sessions_refreshed += 1
        except (http.AuthExpired, Rejected, ValidationError):
            session = self._create_session()
        self._keep(session)

    def _create_session(self) -> bluesky_payloads.Session:
        try:
            body, _ = self._send(
                "POST",
                f"{self._base_url}/xrpc/com.atproto.server.createSession",
                json={
                    "identifier": self._identifier,
                    "password": self._password.get_secret_value(),
                },
                scope="a valid identifier and app password",
                check=_object,
            )
        except http.AuthExpired as exc:
            raise Rejected(f"createSession for {self._identifier!r} was refused") from exc
        try:
            session = bluesky_payloads.Session.model_validate(body)
        except ValidationError as exc:
            raise Rejected(
                f"createSession answered without tokens ({describe_validation_error(exc)})"
            ) from exc
        self.sessions_created += 1
        self._keep(session)
        return session

    def _keep(self, session: bluesky_payloads.Session) -> None:
        self._session = session
        self._add_secret(session.access_jwt)
        self._add_secret(session.refresh_jwt)
        self._store.save(
            SESSION_KEY,
            {"identifier": self._identifier, **session.model_dump(by_alias=True)},
        )

    # -- platform specifics for the outcome loop --------------------------------------------
    def _quota_spent_until(self, response: httpx.Response) -> datetime | None:
        remaining = http.header_float(response, "ratelimit-remaining")
        if remaining is None or remaining > 0:
            return None
        return http.epoch_seconds(response.headers.get("ratelimit-reset"))

    def _rate_limit_lifts_at(self, response: httpx.Response) -> datetime | None:
        return http.epoch_seconds(response.headers.get("ratelimit-reset"))

    def _is_auth_expired(self, response: httpx.Response) -> bool:
        if response.status_code not in (400, 401):
            return False
        return _xrpc_error(response)[0] in ("ExpiredToken", "InvalidToken")

    def _error_detail(self, response: httpx.Response) -> str:
        error, message = _xrpc_error(response)
        return ": ".join(part for part in (error, message) if part)

    def _rejection_hint(self, status: int, scope: str) -> str:
        if status in (400, 401, 403):
            return f"refused; it needs {scope} (check identifier and the app password)"
        return super()._rejection_hint(status, scope)


def _cursor(body: dict[str, Any]) -> str | None:
    cursor = body.get("cursor")
    return cursor if isinstance(cursor, str) and cursor else None


def _xrpc_error(response: httpx.Response) -> tuple[str, str]:
    """XRPC's ``{"error": ..., "message": ...}``, or empty strings."""
    try:
        body = response.json()
    except ValueError:
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    error, message = body.get("error"), body.get("message")
    return (error if isinstance(error, str) else "", message if isinstance(message, str) else "")
