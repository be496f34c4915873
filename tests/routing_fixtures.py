"""Helpers for the rota, routing and notification tests: a small organisation, a local HTTP
endpoint that records what Apprise delivers, and classified mentions written straight to the
database (standing in for the classification stage)."""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from socialops import storage
from socialops.config import OrgConfig

LONDON = "Europe/London"
NEW_YORK = "America/New_York"


def _person(handle: str, tz: str, departments: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "handle": handle,
        "name": handle.title(),
        "email": f"{handle}@test.example",
        "timezone": tz,
        "departments": departments,
        **extra,
    }


def small_org() -> dict[str, Any]:
    """Legal (a lunch break, a holiday) and a care desk shared with triage; London + New York."""
    return {
        "organisation": {"name": "Test Co", "timezone": LONDON},
        "departments": {
            "legal": {
                "name": "Legal",
                "timezone": LONDON,
                "business_hours": {"mon-fri": ["09:00-12:30", "13:30-17:30"]},
                "holidays": "uk",
            },
            "customer_relations": {
                "name": "Care",
                "timezone": LONDON,
                "business_hours": {"mon-fri": ["08:00-20:00"], "sat": ["10:00-14:00"]},
            },
            "triage": {
                "name": "Community desk",
                "timezone": LONDON,
                "business_hours": {"mon-fri": ["08:00-20:00"]},
            },
        },
        "holidays": {"uk": [{"date": "2026-12-25", "name": "Christmas Day"}]},
        "people": [
            _person("lee", LONDON, ["legal", "customer_relations", "triage"], roles=["lead"]),
            _person("liz", LONDON, ["customer_relations", "triage"], roles=["lead"]),
            _person("ann", LONDON, ["legal"]),
            _person("bob", LONDON, ["legal"], leave=[{"start": "2026-12-01", "end": "2026-12-03"}]),
            _person("cat", NEW_YORK, ["legal"]),
            _person("dan", NEW_YORK, ["legal"]),
            _person("eve", LONDON, ["customer_relations", "triage"]),
            _person(
                "fay",
                LONDON,
                ["customer_relations", "triage"],
                working_hours={"mon-fri": ["12:00-20:00"], "sat": ["10:00-14:00"]},
            ),
            _person("gus", NEW_YORK, ["customer_relations", "triage"]),
            _person("hal", NEW_YORK, ["customer_relations"]),
        ],
        "rotas": {
            "epoch": "2026-03-02",
            "duty_manager": {"people": ["lee", "liz"], "timezone": LONDON},
            "departments": {
                "legal": {
                    "business_hours": ["ann", "bob", "lee"],
                    "on_call": {"people": ["ann", "bob", "cat", "dan"]},
                },
                "customer_relations": {
                    "business_hours": ["eve", "fay"],
                    "on_call": {"people": ["eve", "fay", "gus", "hal"]},
                },
                "triage": {
                    "business_hours": ["eve", "fay"],
                    "on_call": {"shared_with": "customer_relations"},
                },
            },
        },
        "notifications": {"default_url_env": "TEST_NOTIFY_URL"},
    }


def org_from(data: dict[str, Any]) -> OrgConfig:
    return OrgConfig.model_validate(copy.deepcopy(data))


def write_org(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# A local endpoint for Apprise's json:// URLs
# --------------------------------------------------------------------------------------------


@dataclass
class Arrival:
    path: str
    payload: dict[str, Any]
    at: datetime


@dataclass
class Endpoint:
    """Records every JSON POST; ``fail`` makes it answer 500 (a broken chat service)."""

    server: ThreadingHTTPServer
    arrivals: list[Arrival] = field(default_factory=list)
    fail: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def url(self, path: str = "notify/{handle}") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def to(self, handle: str) -> list[Arrival]:
        with self.lock:
            return [a for a in self.arrivals if a.path.rstrip("/").endswith(f"/{handle}")]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Arrival]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.arrivals) >= count:
                    return list(self.arrivals)
            time.sleep(0.02)
        with self.lock:
            return list(self.arrivals)


def start_endpoint() -> Iterator[Endpoint]:
    holder: dict[str, Endpoint] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            endpoint = holder["endpoint"]
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if endpoint.fail:
                self.send_response(500)
                self.end_headers()
                return
            with endpoint.lock:
                endpoint.arrivals.append(Arrival(self.path, json.loads(body), datetime.now(UTC)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["endpoint"] = endpoint = Endpoint(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --------------------------------------------------------------------------------------------
# Classified mentions (what the classification stage will write)
# --------------------------------------------------------------------------------------------


def add_classified(
    session: Session,
    *,
    external_id: str,
    department: str,
    urgent: bool = False,
    fetched_at: datetime,
    text: str = "hello @northwind",
    author: str = "ann@social.example",
) -> int:
    """A stored mention with a current classification; returns the mention id."""
    mention = storage.MentionRow(
        platform="mastodon",
        external_id=external_id,
        channel="mastodon-main",
        url=f"https://social.example/@ann/{external_id}",
        author_handle=author,
        text=text,
        created_at=fetched_at,
        fetched_at=fetched_at,
        raw={"id": external_id},
    )
    session.add(mention)
    session.flush()
    session.add(
        storage.ClassificationRow(
            mention_id=mention.id,
            department=department,
            urgent=urgent,
            sentiment="negative" if urgent else "neutral",
            confidence=0.9,
            explanation={"test": True},
            model_version="test",
            classified_at=fetched_at,
            is_current=True,
        )
    )
    session.flush()
    return mention.id


def reclassify(
    session: Session,
    mention_id: int,
    *,
    department: str,
    urgent: bool = False,
    model_version: str = "test-2",
) -> int:
    """A new current decision for a mention, stored as the classification stage stores one
    (the previous decision stays as history); returns the new classification's id."""
    from sqlalchemy import select

    from socialops.classification.classifier import Classification
    from socialops.classification.store import save_classifications

    decision = Classification(
        department=department,
        confidence=0.8,
        urgent=urgent,
        sentiment="negative" if urgent else "neutral",
        explanation={"test": "reclassified"},
        model_version=model_version,
    )
    result = save_classifications(session=session, decisions=[(mention_id, decision)])
    assert result.changed == 1, result
    c = storage.ClassificationRow
    return int(
        session.execute(
            select(c.id).where(c.mention_id == mention_id, c.is_current.is_(True))
        ).scalar_one()
    )


# --------------------------------------------------------------------------------------------
# End to end: ingest -> classify -> route, and how long urgent notifications take
# --------------------------------------------------------------------------------------------

# The sandbox's ground truth ("kind") stands in for the classifier until its flow exists.
ORACLE = {
    "support": ("customer_relations", False),
    "praise": ("marketing", False),
    "press": ("public_relations", False),
    "careers": ("hr", False),
    "legal": ("legal", False),
    "safety": ("customer_relations", True),
    "spam": ("none", False),  # no owner needed
}


def oracle_classifier(world: Any, channels: dict[str, str], database_url: str) -> Any:
    """A stage that classifies every stored, unclassified mention from the sandbox's truth."""
    from sqlalchemy import exists, select

    from socialops.db import session_scope

    def classify() -> int:
        m, c = storage.MentionRow, storage.ClassificationRow
        count = 0
        with session_scope(database_url) as session:
            todo = session.execute(
                select(m).where(~exists().where(c.mention_id == m.id)).order_by(m.id)
            ).scalars()
            for mention in todo:
                item = world.feed(channels[mention.channel]).find_mention_status(
                    mention.external_id
                )
                department, urgent = ORACLE[item.kind] if item else ("triage", False)
                session.add(
                    storage.ClassificationRow(
                        mention_id=mention.id,
                        department=department,
                        urgent=urgent,
                        sentiment="negative" if urgent else "neutral",
                        confidence=1.0,
                        explanation={"oracle": item.kind if item else None},
                        model_version="sandbox-oracle",
                        classified_at=datetime.now(UTC),
                        is_current=True,
                    )
                )
                count += 1
        return count

    return classify


@dataclass
class Latency:
    """From a mention being stored to its urgent notification arriving, in seconds."""

    urgent: int
    notified: int
    seconds: list[float]

    @property
    def worst(self) -> float:
        return max(self.seconds, default=0.0)

    @property
    def median(self) -> float:
        ordered = sorted(self.seconds)
        return ordered[len(ordered) // 2] if ordered else 0.0


def urgent_latency(stages: list[Any], endpoint: Endpoint, database_url: str) -> Latency:
    """Run the pipeline's stages in order (e.g. the ingest flow, the classify flow, the route
    flow), then match every urgent assignment to the notification that arrived for it."""
    from sqlalchemy import select

    from socialops.db import session_scope

    for stage in stages:
        stage()
    a, m = storage.AssignmentRow, storage.MentionRow
    with session_scope(database_url) as session:
        urgent = session.execute(
            select(a.mention_id, m.fetched_at).join(m, m.id == a.mention_id).where(a.urgent)
        ).all()
    arrivals = endpoint.wait_for(len(urgent), timeout=30)
    seconds = []
    for mention_id, fetched_at in urgent:
        marker = f"mention {mention_id}:"
        hit = next(
            (
                x
                for x in arrivals
                if x.payload["title"].startswith("URGENT") and marker in x.payload["title"]
            ),
            None,
        )
        if hit is not None:
            seconds.append((hit.at - fetched_at).total_seconds())
    return Latency(urgent=len(urgent), notified=len(seconds), seconds=seconds)
