"""Platform-neutral facts about the sandbox's mentions, for the Bluesky, Reddit and X apps.

Each platform gets its own deterministic stream of mentions from the world's generator
(:class:`sandbox.world.Feed`, under the platform's name), so the three never share a post with
Mastodon or with each other. A :class:`Fact` is what a post *is* (who wrote what, when, in which
language, broken how); each platform module renders facts in its own wire format. Also here:
what the three apps share around their handlers (fault plan, rate-limit windows, counters).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from starlette.requests import Request
from starlette.responses import Response

from sandbox.config import EPOCH, FAULT_KINDS, SandboxConfig, check_faults, reset_time
from sandbox.world import Feed, World

Role = Literal["mention", "keyword"]
"""``mention``: the post names the brand's account (a notification, an inbox mention);
``keyword``: it names the brand only in words (found by search)."""


@dataclass(frozen=True)
class Fact:
    """One post about the brand, as its author wrote it."""

    k: int
    at: datetime
    """When the platform indexed it (its place in every newest-first list)."""
    created_at: datetime
    """When the author's client says it was written (a little earlier)."""
    text: str
    """The text without the leading ``@brand``: each platform adds its own way of naming it."""
    username: str
    display_name: str
    followers: int
    lang: str | None
    role: Role
    bad: str | None
    """As the world's generator says (``null_status`` = deleted: never served)."""
    cross_post_of: str | None = None
    """The Mastodon status (of the world's first instance) this post repeats, by its author."""

    @property
    def at_ms(self) -> int:
        return int(self.at.timestamp() * 1000)

    @property
    def served(self) -> bool:
        return self.bad != "null_status"


class PlatformWorld:
    """The facts of one platform: visible as the sandbox clock moves, oldest first by ``k``."""

    def __init__(self, world: World, platform: str, *, keyword_share: float = 0.4) -> None:
        self.config = world.config
        self.world = world
        self.platform = platform
        self.brand = world.config.brand_name
        # Its own stream, named for the platform: never the same posts as a Mastodon instance.
        # Late reveal (``late_fraction``) is a Mastodon behaviour (ids handed out before the
        # commit); these platforms page by time or by their own cursors, so their feed reveals
        # every item in order and ``visible`` stays one contiguous range.
        self._feed = Feed(replace(world.config, late_fraction=0.0), f"~{platform}")
        self._keyword_share = keyword_share
        self._facts: dict[int, Fact] = {}
        self._lock = threading.Lock()

    @property
    def first_k(self) -> int:
        return self._feed.first_k

    def visible(self) -> range:
        """Every ``k`` indexed by now."""
        ks = self._feed.visible
        return range(ks[0], ks[-1] + 1) if ks else range(self.first_k, self.first_k)

    def fact(self, k: int) -> Fact:
        with self._lock:
            fact = self._facts.get(k)
        if fact is not None:
            return fact
        item = self._feed.item(k)
        cross_post_of: str | None = None
        if self.platform == "bluesky" and self.config.cross_post_share > 0:
            cross = hashlib.blake2b(f"cross|{k}".encode(), digest_size=4).digest()
            if int.from_bytes(cross, "big") / 2**32 < self.config.cross_post_share:
                source = self.world.item(k)  # the Mastodon mention at about the same time
                if source.bad is None and item.bad is None:
                    item = replace(item, text=source.text, notification=source.notification)
                    cross_post_of = source.status_id
        account = item.notification["account"]
        status = item.notification.get("status") or {}
        digest = hashlib.blake2b(f"{self.platform}|{k}".encode(), digest_size=4).digest()
        roll = int.from_bytes(digest, "big") / 2**32
        text = item.text
        handle = "@" + self.config.brand_handle
        if text.lower().startswith(handle):
            text = text[len(handle) :].lstrip()
        delay = timedelta(milliseconds=200 + int(roll * 3000))
        fact = Fact(
            k=k,
            at=item.created_at,
            created_at=item.created_at - delay,
            text=text,
            username=str(account["username"]),
            display_name=str(account.get("display_name") or ""),
            followers=int(account.get("followers_count") or 0),
            lang=status.get("language"),
            role="keyword" if roll < self._keyword_share else "mention",
            bad=item.bad,
            cross_post_of=cross_post_of,
        )
        with self._lock:
            self._facts[k] = fact
        return fact

    def newest_first(self, *, below: int | None = None) -> list[int]:
        """Visible ``k`` newest first, strictly below ``below`` if given."""
        visible = self.visible()
        top = visible.stop if below is None else min(below, visible.stop)
        return list(range(top - 1, visible.start - 1, -1))

    def now(self) -> datetime:
        return self.config.clock()


def iso_ms(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


# --------------------------------------------------------------------------------------------
# Around the handlers
# --------------------------------------------------------------------------------------------


@dataclass
class Stats:
    """Counters served at ``GET /<platform>/_sandbox/stats``."""

    requests: int = 0
    items_served: int = 0
    sessions_created: int = 0
    tokens_issued: int = 0
    rate_limited: int = 0
    unauthorized: int = 0
    faults: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "items_served": self.items_served,
            "sessions_created": self.sessions_created,
            "tokens_issued": self.tokens_issued,
            "rate_limited": self.rate_limited,
            "unauthorized": self.unauthorized,
            "faults": dict(sorted(self.faults.items())),
        }


def parse_time(raw: str | None) -> datetime | None:
    """A query's ISO 8601 time (``2026-12-04T09:00:00Z``), else ``None``."""
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None


async def answer(
    handler: Callable[[Request], Awaitable[Response]],
    request: Request,
    fault: str | None,
    *,
    latency: float,
    content_type: str,
    truncated_status: int | None = 200,
) -> Response:
    """The handler's answer, late (fault ``latency``) or with half its body (``truncated``: the
    handler ran; the status is ``truncated_status``, ``None`` for the handler's own)."""
    if fault == "latency":
        await asyncio.sleep(latency)
    response = await handler(request)
    if fault == "truncated":
        body = bytes(response.body)
        status = response.status_code if truncated_status is None else truncated_status
        response = Response(body[: len(body) // 2], status, {"content-type": content_type})
    return response


class Plan:
    """The fault plan and rate-limit windows of one platform app."""

    def __init__(self, config: SandboxConfig, platform: str) -> None:
        self.config = config
        self.stats = Stats()
        self.fault_rate = config.fault_rate
        self.fault_kinds: tuple[str, ...] = tuple(config.fault_kinds)
        self._rng = random.Random(f"{config.seed}|{platform}|faults")
        self._windows: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def set_faults(self, rate: float, kinds: tuple[str, ...] = FAULT_KINDS) -> None:
        check_faults(rate, kinds)
        self.fault_rate, self.fault_kinds = rate, kinds

    def draw_fault(self) -> str | None:
        with self._lock:
            if self.fault_rate <= 0 or not self.fault_kinds:
                return None
            if self._rng.random() >= self.fault_rate:
                return None
            kind = self._rng.choice(self.fault_kinds)
            self.stats.faults[kind] = self.stats.faults.get(kind, 0) + 1
            return kind

    def count(
        self, key: str, now: datetime, *, limit: int | None = None
    ) -> tuple[int, int, datetime]:
        """One request in ``key``'s window: ``(limit, remaining, reset)``; remaining < 0: over."""
        window = self.config.rate_window
        limit = self.config.rate_limit if limit is None else limit
        index = int(now.timestamp()) // window
        with self._lock:
            seen, count = self._windows.get(key, (index, 0))
            count = count + 1 if seen == index else 1
            self._windows[key] = (index, count)
        return limit, limit - count, reset_time(now, window)


__all__ = ["EPOCH", "Fact", "Plan", "PlatformWorld", "Stats", "answer", "iso_ms", "parse_time"]
