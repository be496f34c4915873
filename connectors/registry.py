"""Which client speaks for which platform."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from connectors import bluesky, mastodon, reddit, reddit_payloads, x
from connectors.bluesky_publish import BlueskyPublisher
from connectors.errors import Rejected
from connectors.mastodon_publish import MastodonPublisher
from connectors.reddit_publish import RedditPublisher
from connectors.state import StateStore
from connectors.x_publish import XPublisher
from socialops.config import Channel
from socialops.connector_state import DatabaseStateStore
from socialops.ingest import MentionSource
from socialops.settings import get_settings
from socialops.signoff.publishing import Publisher


def reddit_user_agent(channel: Channel) -> str:
    """Reddit asks for ``<platform>:<app id>:<version> (by /u/<username>)``."""
    if channel.user_agent:
        return channel.user_agent
    who = f" (by /u/{channel.username})" if channel.username else ""
    return f"python:socialops.{channel.name}:1.0{who}"


def _client(
    channel: Channel,
    *,
    max_rate_limit_wait: float,
    timeout: float,
    transport: httpx.BaseTransport | None,
    store: StateStore | None,
    database_url: str | None,
) -> Any:
    if channel.platform == "mastodon":
        return mastodon.MastodonClient(
            base_url=channel.base_url,
            token=channel.token(),
            channel=channel.name,
            transport=transport,
            max_rate_limit_wait=max_rate_limit_wait,
            timeout=timeout,
        )
    if store is None:
        store = DatabaseStateStore(
            database_url=database_url or get_settings().resolved_database_url(),
            channel=channel.name,
        )
    common: dict[str, Any] = {
        "channel": channel.name,
        "transport": transport,
        "max_rate_limit_wait": max_rate_limit_wait,
        "backfill_hours": channel.backfill_hours,
        "max_pages": channel.max_pages_per_run,
    }
    if channel.platform == "bluesky":
        return bluesky.BlueskyClient(
            base_url=channel.base_url,
            identifier=channel.identifier or "",
            password=channel.token(),
            store=store,
            search=channel.search,
            **common,
        )
    if channel.platform == "reddit":
        return reddit.RedditClient(
            base_url=channel.base_url,
            auth_url=channel.auth_url or reddit_payloads.WEB,
            client_id=channel.client_id or "",
            client_secret=channel.client_secret(),
            secret=channel.token(),
            username=channel.username,
            user_agent=reddit_user_agent(channel),
            search=channel.search,
            **common,
        )
    if channel.platform == "x":
        return x.XClient(
            base_url=channel.base_url,
            token=channel.token(),
            user_id=channel.user_id or "",
            store=store,
            monthly_read_budget=channel.monthly_read_budget,
            monthly_write_budget=channel.monthly_write_budget,
            **common,
        )
    raise Rejected(f"channel {channel.name!r}: no connector for {channel.platform!r}")


@contextmanager
def open_source(
    channel: Channel,
    *,
    max_rate_limit_wait: float,
    timeout: float = 10.0,
    transport: httpx.BaseTransport | None = None,
    store: StateStore | None = None,
    database_url: str | None = None,
) -> Iterator[MentionSource]:
    """A connected client for the channel's platform, closed on exit.

    Bluesky sessions and X usage persist in ``store`` (default: the database's
    ``connector_state`` rows of the channel).
    """
    client = _client(
        channel,
        max_rate_limit_wait=max_rate_limit_wait,
        timeout=timeout,
        transport=transport,
        store=store,
        database_url=database_url,
    )
    with client:
        yield client


def verify_credentials(
    channel: Channel,
    *,
    transport: httpx.BaseTransport | None = None,
    store: StateStore | None = None,
    database_url: str | None = None,
) -> str:
    """One cheap authenticated call; who the credentials act for, e.g. ``@northwind``.

    Raises ``ConfigError`` (missing or empty secret) or a ``ConnectorError`` (refused, down).
    """
    with open_source(
        channel,
        max_rate_limit_wait=5,
        transport=transport,
        store=store,
        database_url=database_url,
    ) as client:
        who = client.verify_credentials()  # type: ignore[attr-defined]
    if isinstance(who, mastodon.Account):
        return f"@{who.acct}"
    if channel.platform == "bluesky":
        return f"@{who['handle']} ({who['did']})"
    if channel.platform == "reddit":
        return f"u/{who['name']}"
    return f"@{who['username']} (id {who['id']})"


@contextmanager
def open_publisher(
    channel: Channel,
    *,
    max_rate_limit_wait: float,
    timeout: float = 10.0,
    transport: httpx.BaseTransport | None = None,
    store: StateStore | None = None,
    database_url: str | None = None,
) -> Iterator[Publisher]:
    """The channel's account as a :class:`~socialops.signoff.publishing.Publisher`, closed on
    exit. ``Rejected`` for a platform this version cannot publish on."""
    if channel.platform == "bluesky" and store is None:
        # The publisher keeps each item's record key where the client keeps its session.
        store = DatabaseStateStore(
            database_url=database_url or get_settings().resolved_database_url(),
            channel=channel.name,
        )
    client = _client(
        channel,
        max_rate_limit_wait=max_rate_limit_wait,
        timeout=timeout,
        transport=transport,
        store=store,
        database_url=database_url,
    )
    with client:
        if channel.platform == "bluesky":
            assert store is not None
            yield BlueskyPublisher(client, store=store)
        elif channel.platform == "reddit":
            yield RedditPublisher(
                client, channel=channel.name, username=channel.username, subreddit=channel.subreddit
            )
        elif channel.platform == "x":
            yield XPublisher(client, channel=channel.name)
        else:
            yield MastodonPublisher(client)
