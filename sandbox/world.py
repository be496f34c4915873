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
import random
import threading
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox import content
from sandbox.config import EPOCH, EPOCH_MS, SandboxConfig, dumps, iso_ms, to_ms

__all__ = ["BAD_KINDS", "VISIBILITIES", "Feed", "Item", "SandboxConfig", "World", "select_page"]

BAD_KINDS: tuple[str, ...] = (
    "null_status",
    "missing_account",
    "garbage_created_at",
    "future_created_at",
)
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


@dataclass(frozen=True)
class Item:
    """One generated mention: ground truth for tests, and its notification JSON as served."""

    instance: str
    k: int
    kind: str
    text_language: str
    bad: str | None
    """Which way the payload is broken (one of ``BAD_KINDS``), or ``None``."""
    notification_id: str
    status_id: str
    created_at: datetime
    text: str
    """The post as its author typed it (the payload carries the rendered HTML)."""
    notification: JSONDict = field(repr=False)
    body: bytes = field(repr=False)


@dataclass(frozen=True)
class _Seed:
    time_ms: int
    notification_id: int
    status_id: int
    bad_roll: float
    rng_seed: int


class Feed:
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

    def _seed(self, k: int) -> _Seed:
        digest = hashlib.blake2b(
            f"{self.config.seed}|{self.instance}|{k}".encode(), digest_size=24
        ).digest()
        frac = int.from_bytes(digest[0:6], "big") / 2**48
        time_ms = EPOCH_MS + math.floor(k * self._interval + frac * (self._interval - 1))
        nseq = int.from_bytes(digest[6:8], "big")
        sseq = int.from_bytes(digest[8:10], "big")
        delay = 80 + int.from_bytes(digest[10:12], "big") % 900
        return _Seed(
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
        matches: Callable[[int, _Seed, int, int], bool],
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

    # -- generation --------------------------------------------------------------------------

    def _choose_author(self, rng: random.Random, kind: str) -> tuple[str, int]:
        if kind == "press" and rng.random() < 0.85:
            return "press", int(40 * rng.random() ** 1.5)
        if kind == "spam" and rng.random() < 0.7:
            return "bots", int(150 * rng.random() ** 1.5)
        # Skewed to low indices: regulars write again and again.
        return "public", int(3000 * rng.random() ** 2.2)

    def _compose(self, k: int) -> tuple[_Seed, random.Random, content.Post, JSONDict]:
        seed = self._seed(k)
        rng = random.Random(seed.rng_seed)
        post = content.compose(
            rng, brand_name=self.config.brand_name, brand_handle=self.config.brand_handle
        )
        population, index = self._choose_author(rng, post.kind)
        return seed, rng, post, self._account(population, index)

    def _account(self, population: str, index: int) -> JSONDict:
        key = f"{population}:{index}"
        cached = self._accounts.get(key)
        if cached is not None:
            return cached
        who = content.persona(
            random.Random(f"{self.config.seed}|persona|{key}"), population=population, index=index
        )
        digest = hashlib.blake2b(f"{self.instance}|{key}".encode(), digest_size=2).digest()
        created_ms = EPOCH_MS - who.created_day * 86_400_000
        home = who.domain or self.domain
        avatar = f"https://{self.domain}/avatars/original/missing.png"
        header = f"https://{self.domain}/headers/original/missing.png"
        emojis = []
        if who.emoji:
            emoji_url = f"https://{self.domain}/system/custom_emojis/images/{who.emoji}.png"
            emojis.append(
                {
                    "shortcode": who.emoji,
                    "url": emoji_url,
                    "static_url": emoji_url,
                    "visible_in_picker": True,
                }
            )
        account: JSONDict = {
            "id": str((created_ms << 16) | int.from_bytes(digest, "big")),
            "username": who.username,
            "acct": who.username if who.domain is None else f"{who.username}@{who.domain}",
            "display_name": who.display_name,
            "locked": False,
            "bot": who.bot,
            "discoverable": not who.bot,
            "indexable": not who.bot,
            "group": False,
            "created_at": iso_ms(created_ms - created_ms % 86_400_000),
            "note": who.note,
            "url": f"https://{home}/@{who.username}",
            "uri": f"https://{home}/users/{who.username}",
            "avatar": avatar,
            "avatar_static": avatar,
            "avatar_description": "",
            "header": header,
            "header_static": header,
            "header_description": "",
            "followers_count": who.followers,
            "following_count": who.following,
            "statuses_count": who.statuses,
            "last_status_at": None,
            "hide_collections": None,
            "show_media": True,
            "show_media_replies": True,
            "show_featured": True,
            "noindex": False,
            "emojis": emojis,
            "roles": [],
            "fields": [],
        }
        self._accounts[key] = account
        return account

    def _brand_account(self) -> JSONDict:
        handle = self.config.brand_handle
        digest = hashlib.blake2b(f"{self.instance}|brand".encode(), digest_size=2).digest()
        created_ms = to_ms(datetime(2019, 5, 1, tzinfo=UTC))
        avatar = f"https://{self.domain}/avatars/original/missing.png"
        header = f"https://{self.domain}/headers/original/missing.png"
        return {
            "id": str((created_ms << 16) | int.from_bytes(digest, "big")),
            "username": handle,
            "acct": handle,
            "display_name": self.config.brand_name,
            "locked": False,
            "bot": False,
            "discoverable": True,
            "indexable": True,
            "group": False,
            "created_at": iso_ms(created_ms),
            "note": f"<p>Official account of {content.escape(self.config.brand_name)}. "
            "We read every mention, 7am–10pm.</p>",
            "url": f"https://{self.domain}/@{handle}",
            "uri": f"https://{self.domain}/users/{handle}",
            "avatar": avatar,
            "avatar_static": avatar,
            "avatar_description": "",
            "header": header,
            "header_static": header,
            "header_description": "",
            "followers_count": 4210,
            "following_count": 87,
            "statuses_count": 1312,
            "last_status_at": "2025-12-31",
            "hide_collections": False,
            "show_media": True,
            "show_media_replies": True,
            "show_featured": True,
            "noindex": False,
            "emojis": [],
            "roles": [],
            "fields": [],
        }

    def _entities(self, rendered: content.Rendered, known: dict[Any, JSONDict]) -> JSONDict:
        """The parts of a Status every status shares: mentions, tags and empty extras."""
        return {
            "mentions": [self._mention_entry(known[m]) for m in rendered.mentions],
            "tags": [
                {"name": t.lower(), "url": f"https://{self.domain}/tags/{t.lower()}"}
                for t in rendered.tags
            ],
            "emojis": [],
            "quote": None,
            "card": None,
            "poll": None,
        }

    def _mention_entry(self, account: JSONDict) -> JSONDict:
        return {
            "id": account["id"],
            "username": account["username"],
            "url": account["url"],
            "acct": account["acct"],
        }

    def _build(self, k: int) -> Item:
        seed, rng, post, author = self._compose(k)
        text = post.text
        in_reply_to: tuple[str, JSONDict] | None = None
        if rng.random() < 0.1:
            parent_k = k - rng.randint(1, 40)
            parent_seed, _, _, parent_author = self._compose(parent_k)
            if parent_author["id"] != author["id"]:
                text = f"@{parent_author['acct']} {text}"
            in_reply_to = (str(parent_seed.status_id), parent_author)
        author_domain = None if "@" not in author["acct"] else author["acct"].split("@", 1)[1]
        known = {
            (self.config.brand_handle, None): self.brand_account,
            (self.config.brand_handle, self.domain): self.brand_account,
        }
        if in_reply_to is not None:
            parent = in_reply_to[1]
            parent_user, _, parent_domain = parent["acct"].partition("@")
            known[(parent_user, parent_domain or None)] = parent
        rendered = content.render_html(
            text,
            local_domain=self.domain,
            author_domain=author_domain,
            linkable=lambda user, domain: (user, domain) in known,
        )
        status_ms = seed.status_id >> 16
        sid = str(seed.status_id)
        if author_domain is None:
            uri = f"https://{self.domain}/users/{author['username']}/statuses/{sid}"
            url = f"https://{self.domain}/@{author['username']}/{sid}"
        else:
            origin_id = str((status_ms << 16) | (seed.rng_seed & 0xFFFF))
            uri = f"https://{author_domain}/users/{author['username']}/statuses/{origin_id}"
            url = f"https://{author_domain}/@{author['username']}/{origin_id}"
        account = {**author, "last_status_at": iso_ms(status_ms)[:10]}
        media = [self._attachment(rng, sid, i, alt) for i, alt in enumerate(post.photos)]
        popular = author["followers_count"] >= 10_000
        status: JSONDict = {
            "id": sid,
            "created_at": iso_ms(
                status_ms if author_domain is None else status_ms - status_ms % 1000
            ),
            "in_reply_to_id": in_reply_to[0] if in_reply_to else None,
            "in_reply_to_account_id": in_reply_to[1]["id"] if in_reply_to else None,
            "sensitive": bool(post.spoiler_text),
            "spoiler_text": post.spoiler_text,
            "visibility": post.visibility,
            "language": post.language,
            "uri": uri,
            "url": url,
            "replies_count": rng.randint(0, 40 if popular else 3),
            "reblogs_count": rng.randint(0, 300 if popular else 4),
            "favourites_count": rng.randint(0, 900 if popular else 12),
            "quotes_count": 0,
            "edited_at": None,
            "favourited": False,
            "reblogged": False,
            "muted": False,
            "bookmarked": False,
            "content": rendered.html,
            "filtered": [],
            "reblog": None,
            "account": account,
            "media_attachments": media,
            **self._entities(rendered, known),
        }
        if author_domain is None:
            app = rng.choice(("Web", "Web", "Web", "Ivory", "Tusky", "Elk", "Phanpy", "Ice Cubes"))
            status["application"] = {"name": app, "website": None}

        bad: str | None = None
        if seed.bad_roll < self.config.bad_item_rate:
            bad = BAD_KINDS[int(seed.bad_roll / self.config.bad_item_rate * len(BAD_KINDS))]
        nid = str(seed.notification_id)
        notification: JSONDict = {
            "id": nid,
            "type": "mention",
            "created_at": iso_ms(seed.time_ms),
            "group_key": f"ungrouped-{nid}",
            "account": account,
            "status": status,
        }
        if bad == "null_status":
            notification["status"] = None
        elif bad == "missing_account":
            del status["account"]
        elif bad == "garbage_created_at":
            status["created_at"] = "yesterday-ish"
        elif bad == "future_created_at":
            status["created_at"] = "2099-" + status["created_at"][5:]
        return Item(
            instance=self.instance,
            k=k,
            kind=post.kind,
            text_language=post.text_language,
            bad=bad,
            notification_id=nid,
            status_id=sid,
            created_at=EPOCH + timedelta(milliseconds=seed.time_ms - EPOCH_MS),
            text=text,
            notification=notification,
            body=dumps(notification),
        )

    def _attachment(self, rng: random.Random, sid: str, index: int, alt: str) -> JSONDict:
        name = f"{rng.getrandbits(64):016x}"
        path = f"{sid[:3]}/{sid[3:6]}/{sid[6:9]}/{sid[9:12]}/{sid[12:15]}/{sid[15:]}"
        base = f"https://{self.domain}/system/media_attachments/files/{path}"
        width, height = rng.choice(((1600, 1200), (1200, 1600), (1080, 1080), (2048, 1536)))
        small_w, small_h = (640, round(640 * height / width))
        return {
            "id": str(int(sid) + index + 1),
            "type": "image",
            "url": f"{base}/original/{name}.jpeg",
            "preview_url": f"{base}/small/{name}.jpeg",
            "remote_url": None,
            "preview_remote_url": None,
            "text_url": None,
            "meta": {
                "original": {
                    "width": width,
                    "height": height,
                    "size": f"{width}x{height}",
                    "aspect": round(width / height, 6),
                },
                "small": {
                    "width": small_w,
                    "height": small_h,
                    "size": f"{small_w}x{small_h}",
                    "aspect": round(small_w / small_h, 6),
                },
            },
            "description": alt,
            "blurhash": "UFG8_v~q00M{-;WBRjt7D%Rj%Mxu9Fj[xuWB",
        }

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
