"""Running the sandbox: blocking for the CLI, or in a background thread for tests and demos.

One port serves every platform: Mastodon at the root (and ``/i/<instance>``), Bluesky under
``/bluesky``, Reddit under ``/reddit`` and X under ``/x``, so a channel's ``base_url`` points
at ``http://127.0.0.1:8787/<platform>``.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from sandbox import bluesky, reddit, x
from sandbox.mastodon import Sandbox, create_app, sandbox_of
from sandbox.world import SandboxConfig, World

PLATFORM_PREFIXES = ("bluesky", "reddit", "x")


def create_combined_app(config: SandboxConfig | None = None) -> Starlette:
    """Every platform's app on one port; ``app.state.sandbox`` is Mastodon's state, and
    ``app.state.platforms`` maps ``bluesky``/``reddit``/``x`` to theirs."""
    mastodon_app = create_app(config)
    world = sandbox_of(mastodon_app).world
    apps = {
        "bluesky": bluesky.create_app(world),
        "reddit": reddit.create_app(world),
        "x": x.create_app(world),
    }
    app = Starlette(
        routes=[
            *(Mount(f"/{name}", app=platform_app) for name, platform_app in apps.items()),
            Mount("", app=mastodon_app),
        ]
    )
    app.state.sandbox = sandbox_of(mastodon_app)
    app.state.platforms = {
        "bluesky": apps["bluesky"].state.bluesky,
        "reddit": apps["reddit"].state.reddit,
        "x": apps["x"].state.x,
    }
    return app


WARM_NEWEST = 100_000
"""How many of the newest notifications are serialised before serving (the rest on demand)."""


def serve(
    config: SandboxConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 8787,
    *,
    warm: bool = True,
) -> None:
    """Serve the sandbox until interrupted (``socialops sandbox --port N``)."""
    app = create_combined_app(config)
    if warm:
        sandbox_of(app).world.warm(WARM_NEWEST)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="info",
        access_log=False,
        lifespan="off",
    )


class SandboxServer:
    """The sandbox on a free loopback port, in a background thread.

    With ``warm`` (the default) the visible history is serialised before the port opens,
    about 0.1 ms per mention (0.3 s for the default 48 hours at 60 an hour).

    ```python
    with SandboxServer(SandboxConfig(seed=7)) as sandbox:
        httpx.get(f"{sandbox.url}/api/v1/notifications", headers=...)
    ```
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        warm: bool = True,
        startup_timeout: float = 10.0,
    ) -> None:
        self.config = config or SandboxConfig()
        self.app = create_combined_app(self.config)
        self._warm = warm
        self._startup_timeout = startup_timeout
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def sandbox(self) -> Sandbox:
        """The app's state: world, stats, fault plan."""
        return sandbox_of(self.app)

    @property
    def world(self) -> World:
        """Ground truth about the generated mentions (``world.item(k).kind``)."""
        return self.sandbox.world

    @property
    def url(self) -> str:
        """Base URL of the first instance, e.g. ``http://127.0.0.1:54321``."""
        if not self.port:
            raise RuntimeError("the sandbox is not running")
        return f"http://127.0.0.1:{self.port}"

    def platform_url(self, platform: str) -> str:
        """Base URL of the Bluesky, Reddit or X emulation (``<url>/<platform>``)."""
        if platform not in PLATFORM_PREFIXES:
            raise KeyError(f"no platform {platform!r}; served: {list(PLATFORM_PREFIXES)}")
        return f"{self.url}/{platform}"

    def platform(self, name: str) -> Any:
        """The state of a platform app (``bluesky.BlueskySandbox`` and so on)."""
        return self.app.state.platforms[name]

    def instance_url(self, name: str) -> str:
        """Base URL of instance ``name`` (``<url>/i/<name>``)."""
        if name not in self.config.instances:
            raise KeyError(f"no instance {name!r}; configured: {list(self.config.instances)}")
        return f"{self.url}/i/{name}"

    def start(self) -> None:
        """Bind a free loopback port, start serving and wait until healthy."""
        if self._thread is not None:
            raise RuntimeError("already started")
        if self._warm:
            # Serialise the history up front, so serving a page is a join of cached bytes.
            self.world.warm(WARM_NEWEST)
        # An explicit IPPROTO_TCP, or asyncio does not set TCP_NODELAY on accepted connections
        # and every small response waits 40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(("127.0.0.1", 0))
        self._socket = sock
        self.port = sock.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                log_level="warning",
                log_config=None,
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=2,
            )
        )
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"sandbox-{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the sandbox did not start")
            time.sleep(0.005)
        with httpx.Client(timeout=5) as client:
            client.get(f"{self.url}/_sandbox/health").raise_for_status()

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None
        self.port = 0

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
