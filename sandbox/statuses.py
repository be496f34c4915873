"""Mention ``k`` of a Mastodon instance as the sandbox serves it: the author (one of a few
populations, regulars writing again and again), the text and its entities, media, and the
ways a payload can be broken (``BAD_KINDS``). Mixed into :class:`sandbox.world.Feed`, which
decides when each mention exists and serves the pages.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox import content
from sandbox.config import EPOCH, EPOCH_MS, SandboxConfig, dumps, iso_ms, to_ms

JSONDict = dict[str, Any]

BAD_KINDS: tuple[str, ...] = (
    "null_status",
    "missing_account",
    "garbage_created_at",
    "future_created_at",
)


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
class Seed:
    """What mention ``k`` is made from: its times, ids and random draws (a hash of it)."""

    time_ms: int
    notification_id: int
    status_id: int
    bad_roll: float
    rng_seed: int


class StatusGeneration:
    """Rendering of mention ``k``: deterministic in ``(seed, instance, k)``."""

    config: SandboxConfig
    instance: str
    domain: str
    brand_account: JSONDict
    _accounts: dict[str, JSONDict]

    def _seed(self, k: int) -> Seed:
        raise NotImplementedError

    def _choose_author(self, rng: random.Random, kind: str) -> tuple[str, int]:
        if kind == "press" and rng.random() < 0.85:
            return "press", int(40 * rng.random() ** 1.5)
        if kind == "spam" and rng.random() < 0.7:
            return "bots", int(150 * rng.random() ** 1.5)
        # Skewed to low indices: regulars write again and again.
        return "public", int(3000 * rng.random() ** 2.2)

    def _compose(self, k: int) -> tuple[Seed, random.Random, content.Post, JSONDict]:
        seed = self._seed(k)
        rng = random.Random(seed.rng_seed)
        post = content.compose(
            rng, brand_name=self.config.brand_name, brand_handle=self.config.brand_handle
        )
        population, index = self._choose_author(rng, post.kind)
        return seed, rng, post, self._account(population, index)

    def _persona(self, population: str, index: int) -> content.Persona:
        """Who writes as ``population:index`` here. The Mastodon instances share their people;
        another platform's own stream (``~bluesky``, ...) is other people. Else a regular would
        now and then post the same template on two platforms within hours: a cross-post the
        sandbox did not mean and does not record as one (its deliberate cross-posts copy the
        Mastodon mention, author included)."""
        key = f"{population}:{index}"
        person = f"{self.instance}|{key}" if self.instance.startswith("~") else key
        return content.persona(
            random.Random(f"{self.config.seed}|persona|{person}"),
            population=population,
            index=index,
        )

    def _account(self, population: str, index: int) -> JSONDict:
        key = f"{population}:{index}"
        cached = self._accounts.get(key)
        if cached is not None:
            return cached
        who = self._persona(population, index)
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
        status = self._status(seed, rng, post, author, text, in_reply_to)
        bad: str | None = None
        if seed.bad_roll < self.config.bad_item_rate:
            bad = BAD_KINDS[int(seed.bad_roll / self.config.bad_item_rate * len(BAD_KINDS))]
        nid = str(seed.notification_id)
        notification: JSONDict = {
            "id": nid,
            "type": "mention",
            "created_at": iso_ms(seed.time_ms),
            "group_key": f"ungrouped-{nid}",
            "account": status["account"],
            "status": status,
        }
        _break(notification, bad)
        return Item(
            instance=self.instance,
            k=k,
            kind=post.kind,
            text_language=post.text_language,
            bad=bad,
            notification_id=nid,
            status_id=str(seed.status_id),
            created_at=EPOCH + timedelta(milliseconds=seed.time_ms - EPOCH_MS),
            text=text,
            notification=notification,
            body=dumps(notification),
        )

    def _status(
        self,
        seed: Seed,
        rng: random.Random,
        post: content.Post,
        author: JSONDict,
        text: str,
        in_reply_to: tuple[str, JSONDict] | None,
    ) -> JSONDict:
        """The status as Mastodon serves it: HTML content, its author's or origin server's
        uri and url, counts, media, mentions, tags and the posting app."""
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
        return status

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


def _break(notification: JSONDict, bad: str | None) -> None:
    """Break a notification the way ``bad`` says (nothing when it is ``None``)."""
    status = notification["status"]
    if bad == "null_status":
        notification["status"] = None
    elif bad == "missing_account":
        del status["account"]
    elif bad == "garbage_created_at":
        status["created_at"] = "yesterday-ish"
    elif bad == "future_created_at":
        status["created_at"] = "2099-" + status["created_at"][5:]
