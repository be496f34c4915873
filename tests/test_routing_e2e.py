"""End to end through the sandbox: ingest -> classify -> route on the real Prefect engine, with
the shipped organisation; every urgent mention is notified within one schedule interval of
being stored. Urgency is decided by the real classifier (`classify-mentions`), as in production."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from deployments.serve import ROUTE_EVERY
from flows import run_sync
from flows.classify_mentions import classify_mentions
from flows.ingest_mentions import ingest_mentions
from flows.route_mentions import route_mentions
from sandbox.server import SandboxServer
from sandbox.world import SandboxConfig
from socialops.settings import get_settings, reset_settings_cache
from tests.routing_fixtures import Endpoint, start_endpoint, urgent_latency

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_api")]
CHANNELS = {"mastodon-main": "main", "mastodon-help": "help"}


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    yield from start_endpoint()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_urgent_mention_is_notified_within_one_schedule_interval(
    socialops_env: Path, monkeypatch: pytest.MonkeyPatch, endpoint: Endpoint
) -> None:
    config = SandboxConfig(
        instances=tuple(CHANNELS.values()), seed=21, rate_per_hour=240, history_hours=1
    )
    with SandboxServer(config) as sandbox:
        path = socialops_env / "channels.yaml"
        entries = [
            {
                "name": name,
                "platform": "mastodon",
                "base_url": sandbox.instance_url(instance),
                "token_env": "E2E_TOKEN",
                "backfill_hours": 2,
            }
            for name, instance in CHANNELS.items()
        ]
        path.write_text(yaml.safe_dump({"channels": entries}))
        monkeypatch.setenv("SOCIALOPS_CHANNELS", str(path))
        monkeypatch.setenv("E2E_TOKEN", "e2e-token")
        monkeypatch.setenv("SOCIALOPS_NOTIFY_URL", endpoint.url("notify/{handle}"))
        reset_settings_cache()
        url = get_settings().resolved_database_url()
        stages = [
            lambda: run_sync(ingest_mentions(return_state=True)).result(),
            lambda: classify_mentions(return_state=True).result(),
            lambda: route_mentions(return_state=True).result(),
        ]
        latency = urgent_latency(stages, endpoint, url)
    assert latency.urgent >= 5  # the sandbox sends safety issues: allergens, injuries, leaks
    assert latency.notified == latency.urgent
    assert 0 < latency.worst < ROUTE_EVERY.total_seconds()
    # Every urgent page went to someone in the shipped organisation.
    handles = {a.path.rsplit("/", 1)[-1] for a in endpoint.arrivals}
    assert handles and all("." in handle for handle in handles)
