"""What the sandbox does, fixed at start-up (:class:`SandboxConfig`), and the few wire helpers
every platform app shares: JSON bytes, millisecond times, rate-limit windows."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

try:  # ten times faster than json; installed with Prefect, so nearly always there
    import orjson
except ImportError:  # pragma: no cover
    orjson = None  # type: ignore[assignment]

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
"""Mention times are anchored here, not at start-up, so restarts agree on what happened when."""
EPOCH_MS = int(EPOCH.timestamp() * 1000)

FAULT_KINDS: tuple[str, ...] = ("500", "503", "429", "truncated", "latency")
_INSTANCE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SandboxConfig:
    """Everything the sandbox does, fixed at start-up (faults can also change at run time)."""

    brand_name: str = "Northwind Coffee"
    brand_handle: str = "northwind"
    instances: Sequence[str] = ("main",)
    """Instance names; the first is also served at the root. URLs use ``<name>.<domain>``."""
    domain: str = "social.example"
    seed: int = 0
    rate_per_hour: float = 60.0
    """Mentions arriving per instance per hour."""
    history_hours: float = 48.0
    """How far back the feed reaches, from the moment the sandbox starts."""
    bad_item_rate: float = 0.01
    fault_rate: float = 0.0
    fault_kinds: Sequence[str] = FAULT_KINDS
    latency_seconds: float = 0.3
    fault_reset_seconds: float = 1.0
    """How far ahead an injected 429 puts ``X-RateLimit-Reset``."""
    rate_limit: int = 300
    rate_window: int = 300
    """Seconds; windows are aligned to the epoch, like Mastodon's rack-attack."""
    tokens: frozenset[str] | None = None
    """Accepted bearer tokens; ``None`` accepts any non-empty token."""
    late_fraction: float = 0.0
    """Share of mentions that become visible only ``late_seconds`` after their id was given,
    so after newer ones: real servers assign ids before the insert commits, in concurrent
    workers. 0: every mention is visible in id order."""
    late_seconds: float = 30.0
    cross_post_share: float = 0.0
    """Share of Bluesky posts that are someone's Mastodon mention posted again: the same person
    (the same persona: username and display name), the same words, minutes apart (issue 11's
    conversations). 0: the platforms never share a post."""
    now: Callable[[], datetime] | None = field(default=None, compare=False, repr=False)
    """The clock (aware UTC datetimes); tests inject one to make time pass."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "instances", tuple(self.instances))
        object.__setattr__(self, "fault_kinds", tuple(self.fault_kinds))
        if self.tokens is not None:
            object.__setattr__(self, "tokens", frozenset(self.tokens))
        if not self.instances or len(set(self.instances)) != len(self.instances):
            raise ValueError("instances: give at least one name, each once")
        for name in self.instances:
            if not _INSTANCE_NAME.match(name):
                raise ValueError(f"instances: {name!r} is not a lowercase name like 'main'")
        if not re.fullmatch(r"[A-Za-z0-9_]{1,30}", self.brand_handle):
            raise ValueError("brand_handle: letters, digits and underscores only")
        if not 0 < self.rate_per_hour <= 1_800_000:
            raise ValueError("rate_per_hour: must be > 0 and <= 1,800,000")
        if self.history_hours < 0:
            raise ValueError("history_hours: must be >= 0")
        if not 0 <= self.bad_item_rate <= 1:
            raise ValueError("bad_item_rate: must be between 0 and 1")
        check_faults(self.fault_rate, self.fault_kinds)
        if self.rate_limit < 1 or self.rate_window < 1:
            raise ValueError("rate_limit and rate_window: must be >= 1")
        if not 0 <= self.late_fraction <= 1 or self.late_seconds < 0:
            raise ValueError("late_fraction: between 0 and 1; late_seconds: >= 0")
        if not 0 <= self.cross_post_share <= 1:
            raise ValueError("cross_post_share: must be between 0 and 1")

    def clock(self) -> datetime:
        """The current time, from ``now`` if injected."""
        return (self.now or _utc_now)()


def check_faults(rate: float, kinds: Sequence[str]) -> None:
    """Raise ``ValueError`` unless ``rate`` is in [0, 1] and every kind is known."""
    if not 0 <= rate <= 1:
        raise ValueError("fault rate: must be between 0 and 1")
    unknown = sorted(set(kinds) - set(FAULT_KINDS))
    if unknown:
        raise ValueError(f"fault kinds: unknown {unknown}; choose from {list(FAULT_KINDS)}")
    if rate > 0 and not kinds:
        raise ValueError("fault kinds: give at least one kind when the rate is above 0")


def iso_ms(ms: int) -> str:
    """Mastodon's timestamp format: RFC 3339, milliseconds, ``Z``."""
    seconds, millis = divmod(ms, 1000)
    return f"{datetime.fromtimestamp(seconds, UTC).isoformat()[:19]}.{millis:03d}Z"


def to_ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def dumps(obj: object) -> bytes:
    """Compact UTF-8 JSON, as Mastodon sends it."""
    if orjson is not None:
        # Copied to its own size: orjson's bytes keep its whole output buffer, and the sandbox
        # caches a body per mention (measured: 380 MB for 24,000 mentions without the copy).
        return bytes(memoryview(orjson.dumps(obj)))
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def reset_time(now: datetime, window: int) -> datetime:
    """When the current rate-limit window ends (aligned to the epoch, like rack-attack)."""
    seconds = int(now.timestamp())
    return now + timedelta(seconds=window - seconds % window)
