"""Prefect flows: each composes tasks and subflows, one flow per module."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from prefect.context import SyncClientContext

T = TypeVar("T")


def run_sync(call: Awaitable[T]) -> T:
    """Run an async flow call from synchronous code (the CLI, tests, benchmarks).

    ``run_sync(ingest_mentions(return_state=True))``. Prefect 3.9's async engine reads the
    server's default result storage with a sync API client; with none in context it opens one
    and never closes it, leaking a socket per run (a ResourceWarning). The client provided here
    is closed when the run ends.
    """

    async def run() -> T:
        return await call

    with SyncClientContext.get_or_create():
        return asyncio.run(run())
