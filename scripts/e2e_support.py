"""What both end-to-end scripts need (scripts/e2e.py and scripts/e2e_atproto.py): timestamped
progress lines, free loopback ports, waiting for a condition, commands that must succeed, and the
processes a run starts, stopped by process group in reverse order, also when a step fails."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
STARTED = time.monotonic()
_PREFIX = ["e2e"]


def name_run(prefix: str) -> None:
    """The tag every progress line of this run starts with."""
    _PREFIX[0] = prefix


def say(message: str) -> None:
    print(f"[{_PREFIX[0]} {time.monotonic() - STARTED:6.1f}s] {message}", flush=True)  # noqa: T201


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, check: Callable[[], Any], timeout: float, every: float = 1.0) -> Any:
    """``check()``'s first truthy value, or TimeoutError naming ``what`` and the last error."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:  # not up yet
            last = exc
        time.sleep(every)
    raise TimeoutError(f"{what}: not within {timeout:.0f} s" + (f" (last: {last})" if last else ""))


def run(
    args: list[str], env: dict[str, str] | None = None, timeout: float = 600, cwd: Path = REPO
) -> str:
    """A command that must succeed: its standard output, or RuntimeError with all it printed."""
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
        )
    return done.stdout


class Processes:
    """What a run started, stopped by PID (their process groups) in reverse order.

    ``signals`` is the sequence tried, each with its grace in seconds: a Prefect worker needed
    SIGTERM, then SIGINT, then SIGKILL (PREFECT_NOTES.md)."""

    def __init__(
        self,
        logs: Path,
        signals: tuple[tuple[signal.Signals, float], ...] = (
            (signal.SIGTERM, 10),
            (signal.SIGINT, 5),
            (signal.SIGKILL, 5),
        ),
    ) -> None:
        self.logs = logs
        self.signals = signals
        self.started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(
        self, name: str, args: list[str], env: dict[str, str], cwd: Path = REPO
    ) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.started.append((name, proc))
        say(f"started {name} (pid {proc.pid})")
        return proc

    def stop_all(self) -> None:
        for name, proc in reversed(self.started):
            for sig, grace in self.signals:
                if proc.poll() is not None:
                    break
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    continue
            say(f"stopped {name} (pid {proc.pid}, exit {proc.poll()})")
