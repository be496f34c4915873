"""Replay recorded HTTP exchanges (vcrpy YAML cassettes) through ``httpx.MockTransport``.

A ``RouteTable`` maps method + URL to a queue of responders and raises on anything else, so no
test can reach the network. Responders are ``RecordedResponse`` objects (from a cassette, or
built with ``json_response``) or any ``request -> httpx.Response`` function, e.g. one that
raises ``httpx.ReadTimeout``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import yaml

FIXTURES = Path(__file__).parent / "fixtures"

Responder = Callable[[httpx.Request], httpx.Response]

# Recomputed by httpx from the body we serve; the recorded ones can be wrong (trimmed bodies).
_DROPPED_HEADERS = frozenset({"content-length", "transfer-encoding"})


@dataclass(frozen=True)
class RecordedResponse:
    """A response to serve, as often as it is routed. Header names keep their recorded case."""

    status_code: int
    headers: tuple[tuple[str, str], ...] = ()
    content: bytes = b""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            self.status_code, headers=list(self.headers), content=self.content, request=request
        )

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def json(self) -> Any:
        return json.loads(self.content)

    def without_headers(self, *names: str) -> RecordedResponse:
        drop = {name.lower() for name in names}
        return replace(
            self, headers=tuple((k, v) for k, v in self.headers if k.lower() not in drop)
        )

    def with_headers(self, headers: dict[str, str]) -> RecordedResponse:
        """A copy with these headers set (replacing recorded ones of the same name)."""
        kept = self.without_headers(*headers).headers
        return replace(self, headers=kept + tuple(headers.items()))

    def with_content(self, content: bytes, *, status_code: int | None = None) -> RecordedResponse:
        return replace(
            self,
            content=content,
            status_code=self.status_code if status_code is None else status_code,
        )


def json_response(
    status_code: int, body: Any, headers: dict[str, str] | None = None
) -> RecordedResponse:
    """A JSON response built in a test (for cases no recording shows)."""
    all_headers = {"content-type": "application/json; charset=utf-8", **(headers or {})}
    return RecordedResponse(
        status_code, tuple(all_headers.items()), json.dumps(body).encode("utf-8")
    )


@dataclass(frozen=True)
class Interaction:
    method: str
    url: str
    request_headers: dict[str, list[str]]
    request_body: str | bytes | None
    response: RecordedResponse


@dataclass(frozen=True)
class Cassette:
    name: str
    interactions: tuple[Interaction, ...]

    def response(self, method: str, url: str, *, occurrence: int = 0) -> RecordedResponse:
        """The recorded response to ``method url`` (exact URL as recorded)."""
        matches = [i for i in self.interactions if i.method == method.upper() and i.url == url]
        if len(matches) <= occurrence:
            raise KeyError(f"{self.name}: no recorded {method} {url} (occurrence {occurrence})")
        return matches[occurrence].response

    def route_table(self) -> RouteTable:
        """Serve every interaction by method + recorded URL, in recorded order."""
        routes = RouteTable()
        for interaction in self.interactions:
            routes.add(interaction.method, interaction.url, interaction.response)
        return routes


def load_cassette(relative_path: str) -> Cassette:
    """Load ``tests/fixtures/<relative_path>`` (vcrpy format version 1)."""
    path = FIXTURES / relative_path
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    interactions = []
    for raw in data["interactions"]:
        request, response = raw["request"], raw["response"]
        interactions.append(
            Interaction(
                method=request["method"].upper(),
                url=request["uri"],
                request_headers=request.get("headers") or {},
                request_body=request.get("body"),
                response=_recorded_response(response),
            )
        )
    return Cassette(name=relative_path, interactions=tuple(interactions))


def _recorded_response(response: dict[str, Any]) -> RecordedResponse:
    body = (response.get("body") or {}).get("string", b"")
    headers = [
        (name, str(value))
        for name, values in (response.get("headers") or {}).items()
        for value in (values if isinstance(values, list) else [values])
        if name.lower() not in _DROPPED_HEADERS
    ]
    if isinstance(body, str):
        # Stored decoded: serving it with the recorded content-encoding would corrupt it.
        headers = [(k, v) for k, v in headers if k.lower() != "content-encoding"]
        content = body.encode("utf-8")
    else:
        content = body  # bytes (``!!binary``): served with its content-encoding, httpx decodes
    return RecordedResponse(response["status"]["code"], tuple(headers), content)


class UnroutedRequest(AssertionError):
    """A request no route expects: fails the test instead of reaching the network."""


def _route_key(method: str, url: httpx.URL | str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    url = httpx.URL(url)
    base = str(url.copy_with(query=None, fragment=None))
    return method.upper(), base, tuple(sorted(url.params.multi_items()))


@dataclass
class RouteTable:
    """method + URL -> responders served in order, each once. Every request is recorded.

    A route URL without a query string matches any query on that path (assert the query through
    ``requests``); with one, the query must match exactly, in any order.
    """

    requests: list[httpx.Request] = field(default_factory=list)
    _routes: dict[tuple[str, str, tuple[tuple[str, str], ...]], list[Responder]] = field(
        default_factory=dict
    )

    def add(self, method: str, url: str, *responders: Responder) -> RouteTable:
        self._routes.setdefault(_route_key(method, url), []).extend(responders)
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        method, base, query = _route_key(request.method, request.url)
        queue = self._routes.get((method, base, query))
        if queue is None:
            queue = self._routes.get((method, base, ()))
        if queue is None:
            raise UnroutedRequest(f"no route for {request.method} {request.url}")
        if not queue:
            raise UnroutedRequest(f"no response left for {request.method} {request.url}")
        return queue.pop(0)(request)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    @property
    def unused(self) -> int:
        """Responders never served (a test can assert it ended at 0)."""
        return sum(len(queue) for queue in self._routes.values())
