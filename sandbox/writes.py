"""What the Reddit and X emulations share for writes: the faults a publisher must survive,
and the view that reads or sets them (``GET``/``POST /<platform>/_sandbox/publishing``)."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response

from sandbox.config import dumps

BAD_GATEWAY = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


class _AsJSON(Protocol):
    def as_json(self) -> Any: ...


def fails_after_write(faults: Any) -> bool:
    """Whether this write, which happened, is answered 502 (``faults.fail_after_write_rate``
    of them, drawn from ``faults.rng``); counted in ``faults.failed_after_write``."""
    if faults.fail_after_write_rate > 0 and faults.rng.random() < faults.fail_after_write_rate:
        faults.failed_after_write += 1
        return True
    return False


@dataclass
class WriteFaults:
    """``fail_after_write_rate``: the share of writes that are made and then answered
    ``502 Bad Gateway`` (a proxy timing out in front of a server that did the work).
    ``refusal_rate``: the share refused before writing the platform's own way (Reddit's HTTP 200
    ``RATELIMIT``). ``refuse_duplicates``: X refuses a text the account already posted."""

    seed: int = 0
    platform: str = ""
    fail_after_write_rate: float = 0.0
    refusal_rate: float = 0.0
    refuse_duplicates: bool = True
    failed_after_write: int = 0
    refused: int = 0
    rng: random.Random = field(init=False)
    lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.rng = random.Random(f"{self.seed}|{self.platform}|writes")

    def refuse_now(self) -> bool:
        with self.lock:
            if self.refusal_rate > 0 and self.rng.random() < self.refusal_rate:
                self.refused += 1
                return True
            return False

    def fail_after_write(self) -> bool:
        with self.lock:
            return fails_after_write(self)

    def as_json(self) -> dict[str, object]:
        return {
            "fail_after_write_rate": self.fail_after_write_rate,
            "refusal_rate": self.refusal_rate,
            "refuse_duplicates": self.refuse_duplicates,
            "failed_after_write": self.failed_after_write,
            "refused": self.refused,
        }


def bad_gateway() -> Response:
    return Response(BAD_GATEWAY, 502, {"content-type": "text/html"})


async def publishing_view(faults: WriteFaults, request: Request) -> Response:
    """Read (GET) or set (POST a JSON object) the write faults."""

    def apply(data: Any) -> None:
        for name in ("fail_after_write_rate", "refusal_rate"):
            set_rate(faults, data, name)
        faults.refuse_duplicates = bool(data.get("refuse_duplicates", faults.refuse_duplicates))

    return await faults_view(faults, request, apply, content_type="application/json")


async def faults_view(
    faults: _AsJSON,
    request: Request,
    apply: Callable[[Any], None],
    *,
    content_type: str,
) -> Response:
    """``GET``/``POST /<platform>/_sandbox/publishing``: ``apply`` reads a POSTed JSON object
    into ``faults`` (an error in it answers 422 with the reason); both answer the faults."""
    if request.method == "POST":
        try:
            apply(json.loads(await request.body()))
        except (ValueError, TypeError, AttributeError) as exc:
            return Response(dumps({"error": str(exc)}), 422, {"content-type": content_type})
    return Response(dumps(faults.as_json()), 200, {"content-type": content_type})


def set_rate(faults: object, data: Any, name: str) -> None:
    """``faults.<name>`` from ``data`` (kept when absent): a share between 0 and 1."""
    rate = float(data.get(name, getattr(faults, name)))
    if not 0 <= rate <= 1:
        raise ValueError(f"{name}: must be between 0 and 1")
    setattr(faults, name, rate)
