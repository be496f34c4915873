"""What the Reddit and X emulations share for writes: the faults a publisher must survive,
and the view that reads or sets them (``GET``/``POST /<platform>/_sandbox/publishing``)."""

from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response

from sandbox.world import dumps

BAD_GATEWAY = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


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
            if self.fail_after_write_rate > 0 and self.rng.random() < self.fail_after_write_rate:
                self.failed_after_write += 1
                return True
            return False

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
    if request.method == "POST":
        try:
            data = json.loads(await request.body())
            for name in ("fail_after_write_rate", "refusal_rate"):
                rate = float(data.get(name, getattr(faults, name)))
                if not 0 <= rate <= 1:
                    raise ValueError(f"{name}: must be between 0 and 1")
                setattr(faults, name, rate)
            faults.refuse_duplicates = bool(data.get("refuse_duplicates", faults.refuse_duplicates))
        except (ValueError, TypeError, AttributeError) as exc:
            return Response(dumps({"error": str(exc)}), 422, {"content-type": "application/json"})
    return Response(dumps(faults.as_json()), 200, {"content-type": "application/json"})
