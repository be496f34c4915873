"""Per-channel state a platform client keeps between runs (a cached session, monthly usage).

Satisfies ``connectors.state.StateStore``. Each ``save`` is its own short transaction: it
records what the platform already did (issued a session, counted a read), so it must not wait
for, or roll back with, the ingest batch.
"""

from __future__ import annotations

from typing import Any

from socialops import storage
from socialops.db import session_scope


class DatabaseStateStore:
    """``connector_state`` rows of one channel."""

    def __init__(self, *, database_url: str, channel: str) -> None:
        self._database_url = database_url
        self._channel = channel

    def load(self, key: str) -> dict[str, Any] | None:
        with session_scope(self._database_url) as session:
            row = session.get(storage.ConnectorStateRow, (self._channel, key))
            return dict(row.value) if row is not None else None

    def save(self, key: str, value: dict[str, Any]) -> None:
        values = {
            "channel": self._channel,
            "key": key,
            "value": value,
            "updated_at": storage.utcnow(),
        }
        with session_scope(self._database_url) as session:
            stmt = storage.dialect_insert(session, storage.ConnectorStateRow).values(values)
            session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["channel", "key"],
                    set_={"value": value, "updated_at": values["updated_at"]},
                )
            )

    def delete(self, key: str) -> None:
        with session_scope(self._database_url) as session:
            row = session.get(storage.ConnectorStateRow, (self._channel, key))
            if row is not None:
                session.delete(row)
