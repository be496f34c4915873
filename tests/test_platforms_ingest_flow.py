"""Bluesky, Reddit and X through the real ingest flow: Prefect, the sandbox over loopback HTTP,
the real database. Ground truth comes from the sandbox's own facts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from flows import run_sync
from flows.ingest_mentions import ingest_mentions
from sandbox.server import SandboxServer
from sandbox.world import SandboxConfig
from socialops import storage
from socialops.db import session_scope
from socialops.ingest import IngestRun
from socialops.settings import get_settings, reset_settings_cache

SECRET = "sbx-app-password-7f3e9a"
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_api")]
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@dataclass
class Clock:
    at: datetime = field(
        default_factory=lambda: datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    )

    def __call__(self) -> datetime:
        return self.at


@dataclass
class Platforms:
    server: SandboxServer
    clock: Clock

    def expected(self, platform: str) -> dict[str, set[str]]:
        """Per outcome, the external ids the platform's sandbox serves now."""
        state = self.server.platform(platform)
        out: dict[str, set[str]] = {"stored": set(), "quarantined": set()}
        for k in state.facts.visible():
            fact = state.facts.fact(k)
            if not fact.served:
                continue
            if platform == "bluesky":
                key = state.uri(fact)
            elif platform == "reddit":
                key = state.fullname(fact)
            else:
                key = str(state.tweet_id(k))
            out["stored" if fact.bad is None else "quarantined"].add(key)
        return out


def channels(server: SandboxServer, **x_options: Any) -> list[dict[str, Any]]:
    return [
        {
            "name": "bluesky-main",
            "platform": "bluesky",
            "base_url": server.platform_url("bluesky"),
            "token_env": "E2E_BSKY_PASSWORD",
            "identifier": "northwind.bsky.social",
            "search": ["northwind"],
            "backfill_hours": 24,
        },
        {
            "name": "reddit-main",
            "platform": "reddit",
            "base_url": server.platform_url("reddit"),
            "auth_url": server.platform_url("reddit"),
            "token_env": "E2E_REDDIT_REFRESH",
            "client_id": "sbx-client",
            "client_secret_env": "E2E_REDDIT_SECRET",
            "search": ["northwind", "northwind coffee"],
            "backfill_hours": 24,
        },
        {
            "name": "x-main",
            "platform": "x",
            "base_url": server.platform_url("x"),
            "token_env": "E2E_X_TOKEN",
            "user_id": "1500000000000000001",
            "backfill_hours": 24,
            **x_options,
        },
    ]


@pytest.fixture
def platforms(
    socialops_env: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Platforms]]:
    stack = ExitStack()

    def start(x_options: dict[str, Any] | None = None, **options: Any) -> Platforms:
        clock = Clock()
        config = SandboxConfig(
            instances=("main",),
            seed=options.pop("seed", 3),
            rate_per_hour=options.pop("rate_per_hour", 400),
            history_hours=options.pop("history_hours", 2),
            bad_item_rate=options.pop("bad_item_rate", 0.03),
            tokens=frozenset({SECRET}),
            now=clock,
            **options,
        )
        server = stack.enter_context(SandboxServer(config))
        path = socialops_env / "channels.yaml"
        entries = channels(server, **(x_options or {}))
        path.write_text(yaml.safe_dump({"channels": entries}), encoding="utf-8")
        monkeypatch.setenv("SOCIALOPS_CHANNELS", str(path))
        for env in ("E2E_BSKY_PASSWORD", "E2E_REDDIT_REFRESH", "E2E_X_TOKEN"):
            monkeypatch.setenv(env, SECRET)
        monkeypatch.setenv("E2E_REDDIT_SECRET", "sbx-client-secret")
        monkeypatch.setenv("SOCIALOPS_RATE_LIMIT_MAX_WAIT_SECONDS", "5")
        reset_settings_cache()
        return Platforms(server, clock)

    yield start
    stack.close()


def run_flow() -> tuple[Any, IngestRun]:
    state = run_sync(ingest_mentions(return_state=True))
    outcome = state.result(raise_on_failure=False)
    assert isinstance(outcome, IngestRun), outcome
    return state, outcome


def stored(platform: str) -> list[str]:
    with session_scope(get_settings().resolved_database_url()) as session:
        query = select(storage.MentionRow.external_id).where(
            storage.MentionRow.platform == platform
        )
        return list(session.execute(query).scalars())


def quarantined(platform: str) -> int:
    with session_scope(get_settings().resolved_database_url()) as session:
        query = select(storage.QuarantineRow).where(storage.QuarantineRow.platform == platform)
        return len(session.execute(query).scalars().all())


def test_every_platform_stores_each_mention_once_across_runs(
    platforms: Callable[..., Platforms],
) -> None:
    sandbox = platforms()
    state, first = run_flow()
    assert state.is_completed(), state.message
    for platform in ("bluesky", "reddit", "x"):
        expected = sandbox.expected(platform)
        ids = stored(platform)
        assert len(ids) == len(set(ids)) == len(expected["stored"]) > 300, platform
        assert set(ids) == expected["stored"], platform
        assert quarantined(platform) == len(expected["quarantined"]) > 0, platform
    by_channel = {r.channel: r for r in first.results}
    # One post seen as a notification and again by search: one row, the second sighting skipped.
    seen_twice = by_channel["bluesky-main"].skipped.get("already found through notifications")
    assert seen_twice and seen_twice > 10
    assert any(
        r.startswith("already found through search") for r in by_channel["reddit-main"].skipped
    )

    sandbox.clock.at += timedelta(minutes=40)  # new posts everywhere
    state, third = run_flow()
    assert state.is_completed(), state.message
    for platform in ("bluesky", "reddit", "x"):
        ids = stored(platform)
        assert len(ids) == len(set(ids)) and set(ids) == sandbox.expected(platform)["stored"]
    new = {r.channel: r.stored for r in third.results}
    assert all(count > 0 for count in new.values()), new
    # The session was created once and reused from the database on the later run.
    assert sandbox.server.platform("bluesky").plan.stats.sessions_created == 1


def test_under_20_percent_faults_every_platform_stores_each_mention_once(
    platforms: Callable[..., Platforms],
) -> None:
    sandbox = platforms(
        fault_rate=0.2, latency_seconds=0.05, fault_reset_seconds=0.2, rate_per_hour=1200
    )
    state, _run = run_flow()
    if not state.is_completed():
        state, _run = run_flow()
    assert state.is_completed(), state.message
    for platform in ("bluesky", "reddit", "x"):
        ids = stored(platform)
        assert len(ids) == len(set(ids)), platform
        assert set(ids) == sandbox.expected(platform)["stored"], platform
        faults = sandbox.server.platform(platform).plan.stats.faults
        assert sum(faults.values()) >= 3 and len(faults) >= 2, (platform, faults)


@SQLITE_ONLY
def test_an_expired_bluesky_session_is_refreshed_not_recreated(
    platforms: Callable[..., Platforms],
) -> None:
    sandbox = platforms(history_hours=1)
    bluesky = sandbox.server.platform("bluesky")
    bluesky.access_ttl = timedelta(minutes=5)
    assert run_flow()[0].is_completed()
    sandbox.clock.at += timedelta(minutes=20)  # the cached access token has expired
    state, _ = run_flow()
    assert state.is_completed(), state.message
    assert bluesky.plan.stats.sessions_created == 1
    assert set(stored("bluesky")) == sandbox.expected("bluesky")["stored"]


@SQLITE_ONLY
def test_an_x_channel_stops_at_its_monthly_budget_before_exceeding_it(
    platforms: Callable[..., Platforms],
) -> None:
    sandbox = platforms(x_options={"monthly_read_budget": 250})
    state, run = run_flow()
    assert state.is_failed()
    assert set(run.failures) == {"x-main"}
    message = run.failures["x-main"]
    assert "BudgetExhausted" in message and "X monthly read budget reached" in message
    assert "of 250 posts read in" in message and "it was not sent" in message
    x_state = sandbox.server.platform("x")
    assert 245 < x_state.reads <= 250  # the sandbox served (billed) no more than the budget
    ids = stored("x")
    assert len(ids) == len(set(ids)) and set(ids) <= sandbox.expected("x")["stored"]
    before = x_state.plan.stats.requests
    state, run = run_flow()  # the next run stops before sending anything
    assert "x-main" in run.failures and x_state.plan.stats.requests == before
