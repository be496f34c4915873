"""``socialops check-config``: validate the configuration without touching the database."""

from __future__ import annotations

import os

from cli.app import app, console, guarded, load_org


@app.command("check-config")
@guarded
def check_config() -> None:
    """Validate the organisation file (and channels file) and list the channels."""
    settings, org = load_org()
    console.print(f"[green]ok[/] {settings.config} ({org.organisation.name})")
    for ch in org.channels:
        value = os.environ.get(ch.token_env)
        if value is None:
            token = "[yellow]NOT SET[/]"
        elif not value.strip():
            token = "[yellow]EMPTY[/]"
        else:
            token = "set"
        console.print(
            f"  {ch.name}: {ch.platform} {ch.base_url} token {ch.token_env} {token}",
            highlight=False,
        )
