"""Prefect global concurrency limits: one per platform account, taken by every task that calls
that account, so a backfill and live ingestion together stay inside the platform's rate limit.

A limit that was never created is silently not enforced (``strict=False``) or fails
(``strict=True``): the first task of a process that needs one creates it (an upsert by name),
and tasks take it strictly.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from prefect.client.orchestration import get_client
from prefect.concurrency.sync import concurrency

# Callers of one account at once. One is enough: a channel's walk is sequential, and the
# connector already spends the account's quota as fast as the platform allows.
ACCOUNT_SLOTS = 1

_created: set[str] = set()
_created_lock = threading.Lock()


def account_limit_name(channel: str) -> str:
    """The global concurrency limit of the platform account behind ``channel``."""
    return f"account-{channel}"


def ensure_limit(name: str, limit: int = ACCOUNT_SLOTS) -> None:
    """Create the limit if it does not exist yet (once per process)."""
    with _created_lock:
        if name in _created:
            return
        with get_client(sync_client=True) as client:
            try:
                client.read_global_concurrency_limit_by_name(name)
            except Exception:  # ObjectNotFound: create it; a race with another process is fine
                client.upsert_global_concurrency_limit_by_name(name, limit)
        _created.add(name)


@contextmanager
def platform_account(channel: str) -> Iterator[None]:
    """Hold the channel's account slot for the duration of the block."""
    name = account_limit_name(channel)
    ensure_limit(name)
    with concurrency(name, occupy=1, strict=True):
        yield
