"""``socialops sandbox``: the platform simulator on a loopback port, until interrupted."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.app import app, console, guarded


@app.command()
@guarded
def sandbox(
    port: Annotated[int, typer.Option(help="Loopback port to listen on.")] = 8787,
    host: Annotated[str, typer.Option(help="Interface (keep it on loopback).")] = "127.0.0.1",
    instances: Annotated[str, typer.Option(help="Comma-separated instance names.")] = "main,help",
    rate_per_hour: Annotated[float, typer.Option(help="New mentions per instance per hour.")] = 60,
    fault_rate: Annotated[
        float, typer.Option(min=0, max=1, help="Share of API requests that fail.")
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Same seed, same mentions.")] = 7,
    late_fraction: Annotated[
        float,
        typer.Option(
            min=0, max=1, help="Share of mentions visible only --late-seconds after newer ones."
        ),
    ] = 0.0,
    late_seconds: Annotated[float, typer.Option(min=0)] = 30.0,
) -> None:
    """Run the built-in platform sandbox (Mastodon, Bluesky, Reddit, X) until interrupted."""
    from sandbox.server import serve
    from sandbox.world import SandboxConfig

    names = [name.strip() for name in instances.split(",") if name.strip()]
    config = SandboxConfig(
        instances=names,
        rate_per_hour=rate_per_hour,
        fault_rate=fault_rate,
        seed=seed,
        late_fraction=late_fraction,
        late_seconds=late_seconds,
    )
    base = f"http://{host}:{port}"
    console.print(
        f"sandbox: Mastodon API for {', '.join(names)} at {base}/i/<instance>; Bluesky at "
        f"{base}/bluesky (identifier northwind.bsky.social), Reddit at {base}/reddit "
        f"(also its auth_url), X at {base}/x (user_id 1500000000000000001); any secret is "
        "accepted. Ctrl-C stops."
    )
    serve(config, host=host, port=port)
