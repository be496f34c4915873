"""The sandbox's world: a deterministic, time-driven feed of brand mentions per instance.

Mention ``k`` of an instance arrives at ``EPOCH + k * interval + jitter(k)``; everything about it
(ids, author, text, whether it is broken) is a function of ``(seed, instance, k)``. So the same
seed serves the same items for the same times whenever the sandbox is (re)started, and new
mentions keep arriving as the clock moves. Items are materialised lazily: the sorted list of
notification ids grows with the clock, each notification's JSON is serialised once on first use.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import threading
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sandbox import content
from sandbox.config import EPOCH_MS, SandboxConfig, iso_ms, to_ms
from sandbox.statuses import BAD_KINDS, Item, Seed, StatusGeneration

__all__ = ["BAD_KINDS", "VISIBILITIES", "Feed", "Item", "SandboxConfig", "World", "select_page"]

VISIBILITIES: tuple[str, ...] = ("public", "unlisted", "private", "direct")

JSONDict = dict[str, Any]


def select_page(
    ids: Sequence[int],
    *,
    max_id: int | None,
    since_id: int | None,
    min_id: int | None,
    limit: int,
) -> list[int]:
    """Indices into ascending ``ids`` for one page, newest first, with Mastodon's semantics.

    ``max_id``: strictly older. ``since_id``: the newest items newer than it. ``min_id``: the
    items immediately newer than it (``since_id`` is then ignored, as Mastodon does).
    """
    if limit <= 0:
        return []
    hi = bisect_left(ids, max_id) if max_id is not None else len(ids)
    if min_id is not None:
        lo = bisect_right(ids, min_id)
        return list(range(min(lo + limit, hi) - 1, lo - 1, -1))
    lo = bisect_right(ids, since_id) if since_id is not None else 0
    return list(range(hi - 1, max(lo, hi - limit) - 1, -1))


class Feed(StatusGeneration):
    """One instance's notifications (all mentions of the brand) and the brand's own posts."""

    def __init__(self, config: SandboxConfig, instance: str) -> None:
        self.config = config
        self.instance = instance
        self.domain = f"{instance}.{config.domain}"
        self._interval = 3_600_000 / config.rate_per_hour
        self._lock = threading.RLock()
        start_ms = to_ms(config.clock()) - int(config.history_hours * 3_600_000)
        k = math.floor((start_ms - EPOCH_MS) / self._interval) - 1
        while self._seed(k).time_ms < start_ms:
            k += 1
        self.first_k = k
        self._next_k = k  # the first mention whose time has not come yet
        self._held: list[tuple[int, int]] = []  # (visible from ms, k): ids given, not visible
        self._ids: list[int] = []  # visible notification ids, ascending
        self._ks: list[int] = []  # the mention k of each id
        self._bodies: list[bytes | None] = []
        self._accounts: dict[str, JSONDict] = {}
        self.brand_account = self._brand_account()
        self.posted: dict[int, JSONDict] = {}
        self._posted_ids: list[int] = []
        self._post_seq = 0

    # -- time and ids ------------------------------------------------------------------------

    def _seed(self, k: int) -> Seed:
        digest = hashlib.blake2b(
            f"{self.config.seed}|{self.instance}|{k}".encode(), digest_size=24
        ).digest()
        frac = int.from_bytes(digest[0:6], "big") / 2**48
        time_ms = EPOCH_MS + math.floor(k * self._interval + frac * (self._interval - 1))
        nseq = int.from_bytes(digest[6:8], "big")
        sseq = int.from_bytes(digest[8:10], "big")
        delay = 80 + int.from_bytes(digest[10:12], "big") % 900
        return Seed(
            time_ms=time_ms,
            notification_id=(time_ms << 16) | nseq,
            status_id=((time_ms - delay) << 16) | sseq,
            bad_roll=int.from_bytes(digest[12:16], "big") / 2**32,
            rng_seed=int.from_bytes(digest[16:24], "big"),
        )

    def _late_ms(self, k: int) -> int:
        """How long after its id mention ``k`` becomes visible (0 for most)."""
        if self.config.late_fraction <= 0:
            return 0
        digest = hashlib.blake2b(
            f"{self.config.seed}|{self.instance}|{k}|late".encode(), digest_size=4
        ).digest()
        if int.from_bytes(digest, "big") / 2**32 >= self.config.late_fraction:
            return 0
        return int(self.config.late_seconds * 1000)

    def sync(self) -> None:
        """Extend the visible feed up to the clock."""
        now_ms = to_ms(self.config.clock())
        with self._lock:
            k = self._next_k
            while True:
                seed = self._seed(k)
                if seed.time_ms > now_ms:
                    break
                late = self._late_ms(k)
                if late and seed.time_ms + late > now_ms:
                    heapq.heappush(self._held, (seed.time_ms + late, k))
                else:
                    self._reveal(k, seed.notification_id)
                k += 1
            self._next_k = k
            while self._held and self._held[0][0] <= now_ms:
                _, late_k = heapq.heappop(self._held)
                self._reveal(late_k, self._seed(late_k).notification_id)

    def _reveal(self, k: int, notification_id: int) -> None:
        if not self._ids or notification_id > self._ids[-1]:
            self._ids.append(notification_id)
            self._ks.append(k)
            self._bodies.append(None)
            return
        # Visible only now, behind newer ones.
        at = bisect_left(self._ids, notification_id)
        self._ids.insert(at, notification_id)
        self._ks.insert(at, k)
        self._bodies.insert(at, None)

    @property
    def visible(self) -> list[int]:
        """The ``k`` of every mention visible now, oldest id first."""
        self.sync()
        with self._lock:
            return list(self._ks)

    def held(self) -> list[int]:
        """The ``k`` of mentions whose id is given but which are not visible yet."""
        self.sync()
        with self._lock:
            return sorted(k for _, k in self._held)

    def page(
        self,
        *,
        max_id: int | None = None,
        since_id: int | None = None,
        min_id: int | None = None,
        limit: int = 40,
    ) -> tuple[bytes, int, int | None, int | None]:
        """A page of notifications as a JSON array, its size, and its newest and oldest ids."""
        self.sync()
        with self._lock:
            indices = select_page(
                self._ids, max_id=max_id, since_id=since_id, min_id=min_id, limit=limit
            )
            if not indices:
                return b"[]", 0, None, None
            bodies = self._bodies
            parts: list[bytes] = []
            for i in indices:
                body = bodies[i]
                if body is None:
                    body = bodies[i] = self._build(self._ks[i]).body
                parts.append(body)
            body = b"[" + b",".join(parts) + b"]"
            return body, len(parts), self._ids[indices[0]], self._ids[indices[-1]]

    def warm(self, newest: int | None = None) -> int:
        """Serialise the ``newest`` visible notifications (default all) now, not on first use.

        Generating an item costs ~0.1 ms; serving a cached one costs next to nothing.
        Returns how many are cached.
        """
        self.sync()
        with self._lock:
            stop = 0 if newest is None else max(len(self._bodies) - newest, 0)
            for i in range(len(self._bodies) - 1, stop - 1, -1):
                if self._bodies[i] is None:
                    self._bodies[i] = self._build(self._ks[i]).body
            return len(self._bodies) - stop

    # -- items -------------------------------------------------------------------------------

    def item(self, k: int) -> Item:
        """Mention ``k``, whether visible yet or not."""
        return self._build(k)

    def _k_candidates(self, time_ms: int, before_ms: int, after_ms: int) -> range:
        lo = math.floor((time_ms - before_ms - EPOCH_MS) / self._interval) - 1
        hi = math.floor((time_ms + after_ms - EPOCH_MS) / self._interval) + 1
        return range(lo, hi + 1)

    def find_notification(self, notification_id: str) -> Item | None:
        """The visible item with this notification id, if any."""
        return self._find(
            notification_id,
            after_ms=0,
            matches=lambda k, seed, nid, now_ms: (
                seed.notification_id == nid
                and k >= self.first_k
                and seed.time_ms + self._late_ms(k) <= now_ms
            ),
        )

    def find_mention_status(self, status_id: str) -> Item | None:
        """The item whose status has this id, if it exists by now (however old)."""
        return self._find(
            status_id,
            after_ms=1000,
            matches=lambda k, seed, sid, now_ms: seed.status_id == sid and seed.time_ms <= now_ms,
        )

    def _find(
        self,
        raw_id: str,
        *,
        after_ms: int,
        matches: Callable[[int, Seed, int, int], bool],
    ) -> Item | None:
        """The item an id (notification or status: both carry their time in the high bits)
        stands for, searched among the ``k`` around that time."""
        if not raw_id.isdigit():
            return None
        wanted = int(raw_id)
        now_ms = to_ms(self.config.clock())
        for k in self._k_candidates(wanted >> 16, 0, after_ms):
            if matches(k, self._seed(k), wanted, now_ms):
                return self._build(k)
        return None

    def status(self, status_id: str) -> JSONDict | None:
        """A status by id: one the brand posted, or a mention's (``None`` if gone or unknown)."""
        if status_id.isdigit() and int(status_id) in self.posted:
            return self.posted[int(status_id)]
        item = self.find_mention_status(status_id)
        if item is None:
            return None
        status: JSONDict | None = item.notification["status"]
        return status

    # -- the brand's own posts ---------------------------------------------------------------

    def brand_statuses(
        self,
        *,
        max_id: int | None = None,
        since_id: int | None = None,
        min_id: int | None = None,
        limit: int = 20,
    ) -> list[JSONDict]:
        """The brand's posted statuses, newest first, paged like Mastodon."""
        with self._lock:
            indices = select_page(
                self._posted_ids, max_id=max_id, since_id=since_id, min_id=min_id, limit=limit
            )
            return [self.posted[self._posted_ids[i]] for i in indices]

    def post(
        self,
        *,
        text: str,
        in_reply_to: JSONDict | None,
        visibility: str,
        spoiler_text: str,
        language: str | None,
    ) -> JSONDict:
        """Create a status from the brand account (validation is the caller's job)."""
        now_ms = to_ms(self.config.clock())
        with self._lock:
            self._post_seq += 1
            sid = (now_ms << 16) | ((self._post_seq * 7919) & 0xFFFF)
            while sid in self.posted or self.find_mention_status(str(sid)) is not None:
                sid += 1
            known: dict[tuple[str, str | None], JSONDict] = {
                (self.config.brand_handle, None): self.brand_account
            }
            if in_reply_to is not None and "account" in in_reply_to:
                parent = in_reply_to["account"]
                user, _, domain = parent["acct"].partition("@")
                known[(user, domain or None)] = parent
            rendered = content.render_html(
                text,
                local_domain=self.domain,
                author_domain=None,
                linkable=lambda user, domain: (user, domain) in known,
            )
            handle = self.config.brand_handle
            self.brand_account["statuses_count"] += 1
            self.brand_account["last_status_at"] = iso_ms(now_ms)[:10]
            status: JSONDict = {
                "id": str(sid),
                "created_at": iso_ms(now_ms),
                "in_reply_to_id": in_reply_to["id"] if in_reply_to else None,
                "in_reply_to_account_id": (
                    in_reply_to["account"]["id"]
                    if in_reply_to and "account" in in_reply_to
                    else None
                ),
                "sensitive": bool(spoiler_text),
                "spoiler_text": spoiler_text,
                "visibility": visibility,
                "language": language,
                "uri": f"https://{self.domain}/users/{handle}/statuses/{sid}",
                "url": f"https://{self.domain}/@{handle}/{sid}",
                "replies_count": 0,
                "reblogs_count": 0,
                "favourites_count": 0,
                "quotes_count": 0,
                "edited_at": None,
                "favourited": False,
                "reblogged": False,
                "muted": False,
                "bookmarked": False,
                "pinned": False,
                "content": rendered.html,
                "filtered": [],
                "reblog": None,
                "application": {"name": "socialops", "website": None},
                "account": dict(self.brand_account),
                "media_attachments": [],
                **self._entities(rendered, known),
            }
            self.posted[sid] = status
            insort(self._posted_ids, sid)
            return status


class World:
    """Every instance's feed, built from one config."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.feeds: dict[str, Feed] = {name: Feed(config, name) for name in config.instances}

    def feed(self, instance: str | None = None) -> Feed:
        """The feed of ``instance`` (the first one by default). ``KeyError`` if unknown."""
        return self.feeds[instance or self.config.instances[0]]

    def item(self, k: int, instance: str | None = None) -> Item:
        """Mention ``k`` of ``instance``: what it is about, whether it is broken, its payload."""
        return self.feed(instance).item(k)

    def warm(self, newest: int | None = None) -> int:
        """Serialise the ``newest`` (default all) visible notifications of every instance now."""
        return sum(feed.warm(newest) for feed in self.feeds.values())

    def now(self) -> datetime:
        return self.config.clock()
