"""Bluesky as a publisher: a reply (or a planned post) is an ``app.bsky.feed.post`` record written
with ``com.atproto.repo.putRecord`` under a record key fixed per item.

Exactly once, on top of the claim/record/reconcile steps of ``socialops.signoff.publishing``:

- The record key is a TID (the AT Protocol's timestamp identifier) made once per idempotency
  key: its time is the first attempt's, its clock id comes from the key. It is kept in the
  channel's state store *before* the first write, and ``createdAt`` is that same instant, so
  every retry writes the very same record under the very same key.
- A real PDS answers a ``putRecord`` of a record identical to the stored one with the same
  ``uri`` and ``cid`` and writes nothing (measured on ``@atproto/pds``; see README "Bluesky"),
  so a retry after a 502-after-write, a timeout or a killed process can never make a second post.
  (``createRecord`` with a key that exists answers an error instead, which is why it is not used.)
- ``own_posts`` lists the account's own repository (``com.atproto.repo.listRecords``) on the PDS
  itself, not the AppView's lagging ``getAuthorFeed``: reconciliation sees a post the moment the
  PDS wrote it.

Facets (mentions, links, hashtags) carry UTF-8 **byte** offsets; a mention's handle is resolved
to its DID, and a handle the network does not know stays plain text (as the Bluesky app does).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from connectors import bluesky, bluesky_payloads
from connectors.errors import Rejected
from connectors.state import StateStore
from socialops.signoff.publishing import RECONCILE_SLACK, OwnStatus, Posted
from socialops.signoff.templates import text_length

POST = "app.bsky.feed.post"
MAX_GRAPHEMES = 300  # app.bsky.feed.post: text maxGraphemes
MAX_BYTES = 3000  # app.bsky.feed.post: text maxLength (UTF-8 bytes)
RECONCILE_PAGES = 5
RECONCILE_PAGE_SIZE = 100

_B32 = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable, as TIDs are spelled
_TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")


# --------------------------------------------------------------------------------------------
# Record keys
# --------------------------------------------------------------------------------------------


def make_tid(micros: int, clock_id: int) -> str:
    """A TID: 64 bits (the top one 0), 53 of microseconds since the epoch and 10 of clock id,
    as 13 base32-sortable characters."""
    if not 0 <= micros < 2**53 or not 0 <= clock_id < 2**10:
        raise ValueError("a TID takes 53 bits of microseconds and a 10-bit clock id")
    value = (micros << 10) | clock_id
    return "".join(_B32[(value >> shift) & 31] for shift in range(60, -1, -5))


def tid_micros(tid: str) -> int:
    """The microseconds since the epoch a TID carries."""
    if not _TID.match(tid):
        raise ValueError(f"not a TID: {tid!r}")
    value = 0
    for char in tid:
        value = (value << 5) | _B32.index(char)
    return value >> 10


def clock_id(idempotency_key: str) -> int:
    """The TID's 10-bit clock id, from the item's idempotency key."""
    return int.from_bytes(hashlib.sha256(idempotency_key.encode()).digest()[:2], "big") % 1024


def iso_micros(micros: int) -> str:
    """``createdAt`` as Bluesky's clients write it (milliseconds, ``Z``)."""
    at = datetime.fromtimestamp(micros / 1_000_000, UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def state_key(idempotency_key: str) -> str:
    """Where an item's record key is kept (connector_state keys are at most 64 characters)."""
    return "post:" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]


# --------------------------------------------------------------------------------------------
# Rich text
# --------------------------------------------------------------------------------------------

# As the Bluesky app detects them (@atproto/api RichText.detectFacets), simplified: a mention is
# an @ and a domain-like handle after a space or an opening bracket; a link has a scheme; a tag
# is a # and a word that is not only digits. Trailing punctuation belongs to the sentence.
_MENTION = re.compile(
    r"(?:^|(?<=[\s(]))@([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+)"
)
_LINK = re.compile(r"(?:^|(?<=[\s(]))(https?://[^\s]+)", re.IGNORECASE)
_TAG = re.compile(r"(?:^|(?<=\s))[#\uff03]([^\s\u00ad\u2060\u200a\u200b\u200c\u200d\u20e2#]+)")
_TRAILING = ".,;:!?'\""


def _byte_slice(text: str, start: int, end: int) -> dict[str, int]:
    """Character positions as the UTF-8 byte offsets facets use (end exclusive)."""
    byte_start = len(text[:start].encode("utf-8"))
    return {"byteStart": byte_start, "byteEnd": byte_start + len(text[start:end].encode("utf-8"))}


def _trim_link(url: str) -> str:
    url = url.rstrip(_TRAILING)
    if url.endswith(")") and url.count("(") < url.count(")"):
        url = url[:-1].rstrip(_TRAILING)
    return url


def build_facets(text: str, resolve: Any) -> list[dict[str, Any]]:
    """``app.bsky.richtext.facet`` for each mention, link and hashtag in ``text``.

    ``resolve(handle) -> did | None`` looks a handle up; an unknown handle gets no facet.
    """
    facets: list[tuple[int, dict[str, Any]]] = []
    for match in _MENTION.finditer(text):
        handle = match.group(1).rstrip(".").lower()
        did = resolve(handle)
        if did is None:
            continue
        start = match.start()
        end = start + 1 + len(handle)
        facets.append(
            (
                start,
                {
                    "index": _byte_slice(text, start, end),
                    "features": [{"$type": "app.bsky.richtext.facet#mention", "did": did}],
                },
            )
        )
    for match in _LINK.finditer(text):
        url = _trim_link(match.group(1))
        if len(url) <= len("https://"):
            continue
        start = match.start(1)
        facets.append(
            (
                start,
                {
                    "index": _byte_slice(text, start, start + len(url)),
                    "features": [{"$type": "app.bsky.richtext.facet#link", "uri": url}],
                },
            )
        )
    for match in _TAG.finditer(text):
        tag = match.group(1).rstrip(_TRAILING)
        if not tag or tag.isdigit() or len(tag) > 64:
            continue
        start = match.start()
        facets.append(
            (
                start,
                {
                    "index": _byte_slice(text, start, start + 1 + len(tag)),
                    "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": tag}],
                },
            )
        )
    facets.sort(key=lambda pair: pair[0])
    kept: list[dict[str, Any]] = []
    last_end = -1
    for _start, facet in facets:  # a link's path may look like a tag (#anchor): first wins
        if facet["index"]["byteStart"] < last_end:
            continue
        kept.append(facet)
        last_end = facet["index"]["byteEnd"]
    return kept


# --------------------------------------------------------------------------------------------
# The publisher
# --------------------------------------------------------------------------------------------


class BlueskyPublisher:
    """One Bluesky account as a :class:`~socialops.signoff.publishing.Publisher`."""

    def __init__(
        self,
        client: bluesky.BlueskyClient,
        *,
        store: StateStore,
        now: Any = None,
    ) -> None:
        self.client = client
        self._store = store
        self._now = now or (lambda: datetime.now(UTC))
        self._dids: dict[str, str | None] = {}

    # -- post -------------------------------------------------------------------------------
    def post(
        self,
        *,
        text: str,
        in_reply_to: str | None,
        idempotency_key: str,
        visibility: str,
        lang: str | None = None,
    ) -> Posted:
        """Write the item's post (a reply to the AT-URI ``in_reply_to``, or a top-level post).
        Bluesky posts are all public: ``visibility`` has nothing to choose."""
        text = text.strip()
        if not text:
            raise Rejected("the post is empty")
        length = text_length("bluesky", text)
        if length > MAX_GRAPHEMES or len(text.encode("utf-8")) > MAX_BYTES:
            raise Rejected(
                f"the post is {length} graphemes ({len(text.encode('utf-8'))} bytes); Bluesky "
                f"allows {MAX_GRAPHEMES} graphemes and {MAX_BYTES} bytes"
            )
        rkey = self.record_key(idempotency_key)
        record: dict[str, Any] = {
            "$type": POST,
            "text": text,
            "createdAt": iso_micros(tid_micros(rkey)),
        }
        if in_reply_to is not None:
            record["reply"] = self._reply_refs(in_reply_to)
        facets = build_facets(text, self._resolve)
        if facets:
            record["facets"] = facets
        if lang:
            record["langs"] = [lang]
        ref = self.client.put_record(collection=POST, rkey=rkey, record=record)
        return Posted(
            id=ref.uri,
            url=bluesky_payloads.post_url(
                ref.uri,
                bluesky_payloads.Author(did=self.client.account_did(), handle=self._handle()),
            ),
        )

    def record_key(self, idempotency_key: str) -> str:
        """The item's record key: made and kept on the first attempt, the same ever after."""
        key = state_key(idempotency_key)
        kept = self._store.load(key)
        if kept and isinstance(kept.get("rkey"), str) and _TID.match(kept["rkey"]):
            return str(kept["rkey"])
        now = self._now().astimezone(UTC)
        micros = int(now.timestamp() * 1_000_000)
        rkey = make_tid(micros, clock_id(idempotency_key))
        self._store.save(key, {"rkey": rkey, "made_at": now.isoformat()})
        return rkey

    def _reply_refs(self, parent_uri: str) -> dict[str, Any]:
        """``reply.root`` and ``reply.parent`` strong refs (uri + cid) from ``getPosts``."""
        if not parent_uri.startswith("at://"):
            raise Rejected(f"cannot reply on Bluesky to {parent_uri!r}: not an AT-URI")
        found = [p for p in self.client.get_posts([parent_uri]) if p.uri == parent_uri]
        if not found or not found[0].cid:
            raise Rejected(f"the post {parent_uri} no longer exists (deleted, or hidden)")
        parent = found[0]
        try:
            record = bluesky_payloads.PostRecord.model_validate(parent.record)
        except ValueError as exc:
            raise Rejected(f"the post {parent_uri} has an unreadable record") from exc
        parent_ref = {"uri": parent.uri, "cid": parent.cid}
        root = record.reply.root if record.reply else None
        root_ref = {"uri": root.uri, "cid": root.cid} if root and root.cid else parent_ref
        return {"root": root_ref, "parent": parent_ref}

    def _resolve(self, handle: str) -> str | None:
        if handle not in self._dids:
            self._dids[handle] = self.client.resolve_handle(handle)
        return self._dids[handle]

    def _handle(self) -> str:
        return self.client.account_handle()

    # -- reconciliation ---------------------------------------------------------------------
    def own_posts(self, *, since: datetime) -> Iterator[OwnStatus]:
        """The account's own posts, newest record key first, back to ``since`` (less slack)."""
        cursor: str | None = None
        author = bluesky_payloads.Author(did=self.client.account_did(), handle=self._handle())
        for _ in range(RECONCILE_PAGES):
            records, cursor = self.client.list_records(
                collection=POST, cursor=cursor, limit=RECONCILE_PAGE_SIZE
            )
            oldest: datetime | None = None
            for item in records:
                try:
                    record = bluesky_payloads.PostRecord.model_validate(item.value)
                except ValueError:
                    continue
                created = bluesky_payloads.parse_time(record.created_at)
                oldest = created if oldest is None or (created and created < oldest) else oldest
                yield OwnStatus(
                    id=item.uri,
                    url=bluesky_payloads.post_url(item.uri, author),
                    in_reply_to_id=record.reply.parent.uri if record.reply else None,
                    text=record.text,
                    created_at=created,
                )
            if len(records) < RECONCILE_PAGE_SIZE or cursor is None:
                return  # a PDS sends a cursor even with its last page
            if oldest is not None and oldest < since - RECONCILE_SLACK:
                return
