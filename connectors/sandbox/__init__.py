"""The platform sandbox: a local HTTP server that speaks a faithful subset of the Mastodon API.

Used by the demo, the end-to-end tests and the benchmarks over real loopback HTTP. No Prefect,
no database: a deterministic world of brand mentions (:mod:`.world`, :mod:`.content`), served by
a Starlette app (:mod:`.app`) under uvicorn (:mod:`.server`).
"""

from connectors.sandbox.app import create_app
from connectors.sandbox.server import SandboxServer, serve
from connectors.sandbox.world import SandboxConfig, World

__all__ = ["SandboxConfig", "SandboxServer", "World", "create_app", "serve"]
