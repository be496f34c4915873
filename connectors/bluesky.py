"""Bluesky (AT Protocol XRPC): mentions in, from notifications and from keyword search; the
few calls publishing needs (getPosts, resolveHandle, putRecord, listRecords: see
``connectors.bluesky_publish``).

Payload models mirror what the AppView sends (see tests/fixtures/bluesky); lenient about fields
we do not read (the whole payload is kept as ``raw``). A mention is a post: its AT-URI is the
``external_id``, so a post found as a notification and again by search is stored once.

The session (createSession: 30 per 5 minutes, 300 a day per account) is cached in the channel's
:class:`~connectors.state.StateStore` and renewed with refreshSession when the PDS answers
``ExpiredToken``; the app password is sent only when there is no usable session.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Unpack

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from connectors import feeds, http
from connectors.errors import OutcomeUnknown, Rejected, Retryable
from connectors.mastodon import describe_validation_error
from connectors.state import StateStore
from socialops.mentions import InvalidItem, Mention, RawJSON, SkippedItem

MAX_PAGE_SIZE = 100
MENTION_REASONS = ("mention", "reply", "quote")
REREAD = timedelta(minutes=15)
"""How far below the stored position a forward run reads again (the search index can lag)."""
SESSION_KEY = "session"


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Author(_Payload):
    """``app.bsky.actor.defs#profileViewBasic`` (the fields we read)."""

    did: str
    handle: str
    display_name: str | None = Field(default=None, alias="displayName")


class StrongRef(_Payload):
    uri: str
    cid: str | None = None


class ReplyRef(_Payload):
    root: StrongRef
    parent: StrongRef


class ByteSlice(_Payload):
    byte_start: int = Field(alias="byteStart", ge=0)
    byte_end: int = Field(alias="byteEnd", ge=0)


class Facet(_Payload):
    """``app.bsky.richtext.facet``: a byte range of the text and what it is."""

    index: ByteSlice
    features: list[dict[str, Any]] = Field(default_factory=list)


class PostRecord(_Payload):
    """``app.bsky.feed.post``. ``createdAt`` stays a string: the quality suite judges it."""

    text: str = ""
    created_at: str | None = Field(default=None, alias="createdAt")
    langs: list[str] = Field(default_factory=list)
    facets: list[Facet] = Field(default_factory=list)
    reply: ReplyRef | None = None


class Notification(_Payload):
    """``app.bsky.notification.listNotifications#notification``."""

    uri: str
    cid: str | None = None
    author: Author
    reason: str
    reason_subject: str | None = Field(default=None, alias="reasonSubject")
    record: dict[str, Any]
    indexed_at: str = Field(alias="indexedAt")


class PostView(_Payload):
    """``app.bsky.feed.defs#postView`` (a search result)."""

    uri: str
    cid: str | None = None
    author: Author
    record: dict[str, Any]
    indexed_at: str = Field(alias="indexedAt")


class RepoRecord(_Payload):
    """One item of ``com.atproto.repo.listRecords``."""

    uri: str
    cid: str
    value: dict[str, Any]


class Session(_Payload):
    """``com.atproto.server.createSession`` / ``refreshSession`` output (the fields we keep)."""

    did: str
    handle: str
    access_jwt: str = Field(alias="accessJwt")
    refresh_jwt: str = Field(alias="refreshJwt")


# --------------------------------------------------------------------------------------------
# Mapping
# --------------------------------------------------------------------------------------------

_ISO = re.compile(r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})?")


def parse_time(value: object) -> datetime | None:
    """Bluesky's timestamps, leniently: ``Z``, ``+00:00``, micro- or milliseconds, or no zone
    at all (seen in real records; read as UTC). Anything else gives ``None``."""
    if not isinstance(value, str):
        return None
    match = _ISO.fullmatch(value.strip())
    if match is None:
        return None
    date, clock, fraction, zone = match.groups()
    fraction = (fraction or "")[:7]  # fromisoformat takes at most 6 digits
    zone = "+00:00" if zone in (None, "Z", "z") else zone
    try:
        parsed = datetime.fromisoformat(f"{date}T{clock}{fraction}{zone}")
    except ValueError:
        return None
    return parsed.astimezone(UTC)


def text_with_facets(text: str, facets: Sequence[Facet]) -> str:
    """The post's text with each link facet's shortened display replaced by its full URI.

    Facet offsets are UTF-8 **byte** offsets, end exclusive. Mentions (``@handle``) and tags
    already read as text. Overlapping or out-of-range facets are ignored, never guessed at.
    """
    data = text.encode("utf-8")
    replacements: list[tuple[int, int, bytes]] = []
    last_end = 0
    for facet in sorted(facets, key=lambda f: f.index.byte_start):
        start, end = facet.index.byte_start, facet.index.byte_end
        if start < last_end or end <= start or end > len(data):
            continue
        link = next(
            (
                f.get("uri")
                for f in facet.features
                if f.get("$type") == "app.bsky.richtext.facet#link"
                and isinstance(f.get("uri"), str)
            ),
            None,
        )
        last_end = end
        if link is None:
            continue
        shown = data[start:end].decode("utf-8", errors="replace")
        if link == shown or link.split("://", 1)[-1] == shown:
            continue
        replacements.append((start, end, link.encode("utf-8")))
    for start, end, link in reversed(replacements):
        data = data[:start] + link + data[end:]
    return data.decode("utf-8", errors="replace")


def post_url(uri: str, author: Author) -> str:
    """``https://bsky.app/profile/<handle>/post/<rkey>`` (Bluesky returns no URL)."""
    rkey = uri.rsplit("/", 1)[-1]
    who = author.handle if author.handle and author.handle != "handle.invalid" else author.did
    return f"https://bsky.app/profile/{who}/post/{rkey}"


def to_mention(
    *, uri: str, author: Author, record: PostRecord, channel: str, raw: RawJSON
) -> Mention:
    """A post (from a notification or a search result) as our ``Mention``."""
    return Mention(
        platform="bluesky",
        external_id=uri,
        channel=channel,
        url=post_url(uri, author),
        author_handle=author.handle,
        author_display_name=author.display_name or None,
        text=text_with_facets(record.text, record.facets),
        lang=record.langs[0] if record.langs else None,
        created_at=parse_time(record.created_at),
        thread_id=record.reply.root.uri if record.reply else uri,
        in_reply_to_id=record.reply.parent.uri if record.reply else None,
        visibility="public",
        raw=raw,
    )


def _map_post(
    item: Any, *, channel: str, model: type[Notification] | type[PostView]
) -> feeds.Entry:
    if not isinstance(item, dict):
        return feeds.Entry(InvalidItem(raw=item, reason="item is not a JSON object"), None)
    at = parse_time(item.get("indexedAt"))
    uri = item.get("uri") if isinstance(item.get("uri"), str) else None
    try:
        post = model.model_validate(item)
    except ValidationError as exc:
        invalid = InvalidItem(raw=item, reason=describe_validation_error(exc))
        return feeds.Entry(invalid, at, key=uri)
    if isinstance(post, Notification) and post.reason not in MENTION_REASONS:
        skipped = SkippedItem(
            cursor=post.uri, reason=f"notification reason {post.reason!r} is not a mention"
        )
        return feeds.Entry(skipped, at)
    try:
        record = PostRecord.model_validate(post.record)
        mention = to_mention(
            uri=post.uri, author=post.author, record=record, channel=channel, raw=RawJSON.of(item)
        )
    except ValidationError as exc:
        reason = "record." + describe_validation_error(exc)
        return feeds.Entry(InvalidItem(raw=item, reason=reason), at, key=uri)
    return feeds.Entry(mention, at, key=mention.external_id)


def map_notifications(items: list[Any], *, channel: str) -> list[feeds.Entry]:
    """A ``listNotifications`` page (newest first) as feed entries."""
    return [_map_post(item, channel=channel, model=Notification) for item in items]


def map_search_posts(items: list[Any], *, channel: str) -> list[feeds.Entry]:
    """A ``searchPosts`` page as feed entries."""
    return [_map_post(item, channel=channel, model=PostView) for item in items]


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
        self._session: Session | None = None
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
        params: list[tuple[str, str]] = [("reasons", r) for r in MENTION_REASONS]
        params.append(("limit", str(max(1, min(limit, MAX_PAGE_SIZE)))))
        if cursor:
            params.append(("cursor", cursor))
        body = self._xrpc(
            "app.bsky.notification.listNotifications", params, check=_list_of("notifications")
        )
        return feeds.StreamPage(
            map_notifications(body["notifications"], channel=self._channel),
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
                map_search_posts(body["posts"], channel=self._channel), _cursor(body)
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

    def get_posts(self, uris: Sequence[str]) -> list[PostView]:
        """``app.bsky.feed.getPosts`` (at most 25 AT-URIs): the posts that still exist."""
        params = [("uris", uri) for uri in uris[:25]]
        body = self._xrpc("app.bsky.feed.getPosts", params, check=_list_of("posts"))
        posts: list[PostView] = []
        for item in body["posts"]:
            try:
                posts.append(PostView.model_validate(item))
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

    def put_record(self, *, collection: str, rkey: str, record: dict[str, Any]) -> StrongRef:
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
        return StrongRef.model_validate(body)

    def list_records(
        self, *, collection: str, cursor: str | None = None, limit: int = MAX_PAGE_SIZE
    ) -> tuple[list[RepoRecord], str | None]:
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
        records: list[RepoRecord] = []
        for item in body["records"]:
            try:
                records.append(RepoRecord.model_validate(item))
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

    def _current_session(self) -> Session:
        if self._session is None:
            stored = self._store.load(SESSION_KEY)
            if stored and stored.get("identifier") == self._identifier:
                try:
                    self._session = Session.model_validate(stored)
                except ValidationError:
                    self._session = None
            if self._session is None:
                self._session = self._create_session()
            self._add_secret(self._session.access_jwt)
            self._add_secret(self._session.refresh_jwt)
        return self._session

    def _renew(self, expired: Session) -> None:
        """refreshSession with the refresh token; createSession only when that is refused."""
        try:
            body, _ = self._send(
                "POST",
                f"{self._base_url}/xrpc/com.atproto.server.refreshSession",
                headers={"Authorization": f"Bearer {expired.refresh_jwt}"},
                scope="a valid refresh token",
                check=_object,
            )
            session = Session.model_validate(body)
            self.sessions_refreshed += 1
        except (http.AuthExpired, Rejected, ValidationError):
            session = self._create_session()
        self._keep(session)

    def _create_session(self) -> Session:
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
            session = Session.model_validate(body)
        except ValidationError as exc:
            raise Rejected(
                f"createSession answered without tokens ({describe_validation_error(exc)})"
            ) from exc
        self.sessions_created += 1
        self._keep(session)
        return session

    def _keep(self, session: Session) -> None:
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
