"""The platform sandbox: local HTTP servers that speak faithful subsets of platforms' APIs.

Used by the demo, the end-to-end tests and the benchmarks over real loopback HTTP. No Prefect,
no database: a deterministic world of brand mentions (:mod:`.world`, :mod:`.content`), served by
one Starlette app per platform (:mod:`.mastodon`, the Mastodon API) under uvicorn
(:mod:`.server`). A simulator, not a client: ``connectors/`` and ``socialops/`` never import it.
"""

from sandbox.mastodon import create_app
from sandbox.server import SandboxServer, serve
from sandbox.world import SandboxConfig, World

__all__ = ["SandboxConfig", "SandboxServer", "World", "create_app", "serve"]
