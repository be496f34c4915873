"""Which client speaks for which platform."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from connectors import mastodon
from connectors.errors import Rejected
from socialops.config import Channel
from socialops.ingest import MentionSource


@contextmanager
def open_source(
    channel: Channel,
    *,
    max_rate_limit_wait: float,
    timeout: float = 10.0,
    transport: httpx.BaseTransport | None = None,
) -> Iterator[MentionSource]:
    """A connected client for the channel's platform, closed on exit."""
    if channel.platform == "mastodon":
        client = mastodon.MastodonClient(
            base_url=channel.base_url,
            token=channel.token(),
            channel=channel.name,
            transport=transport,
            max_rate_limit_wait=max_rate_limit_wait,
            timeout=timeout,
        )
        with client:
            yield client
        return
    raise Rejected(
        f"channel {channel.name!r}: no {channel.platform} connector in this version "
        "(supported: mastodon)"
    )
