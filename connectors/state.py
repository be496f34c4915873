"""Where a platform client keeps what must outlive one run (a session, monthly usage).

Connectors hold no database: they take a :class:`StateStore`. ``socialops.connector_state``
keeps it in the database; :class:`MemoryStateStore` keeps it in a dict (tests, one-off calls).
"""

from __future__ import annotations

import copy
import threading
from typing import Any, Protocol


class StateStore(Protocol):
    """JSON values by key, for one channel."""

    def load(self, key: str) -> dict[str, Any] | None: ...

    def save(self, key: str, value: dict[str, Any]) -> None: ...

    def delete(self, key: str) -> None: ...


class MemoryStateStore:
    """A :class:`StateStore` in memory (values are copied in and out)."""

    def __init__(self, initial: dict[str, dict[str, Any]] | None = None) -> None:
        self.values: dict[str, dict[str, Any]] = copy.deepcopy(initial or {})
        self._lock = threading.Lock()

    def load(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            value = self.values.get(key)
            return copy.deepcopy(value) if value is not None else None

    def save(self, key: str, value: dict[str, Any]) -> None:
        with self._lock:
            self.values[key] = copy.deepcopy(value)

    def delete(self, key: str) -> None:
        with self._lock:
            self.values.pop(key, None)
