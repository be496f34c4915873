"""What the connector tests share: a clock the client sleeps on instead of waiting."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any


class Clock:
    """A clock that stands still except when the client sleeps on it."""

    def __init__(self, start: datetime) -> None:
        self.current = start
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.current

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.current += timedelta(seconds=seconds)

    def client_options(self, *, jitter: float = 0.0) -> dict[str, Any]:
        """The client keywords that put a connector on this clock, with a fixed jitter."""
        return {"sleep": self.sleep, "now": self.now, "jitter": lambda: jitter}
