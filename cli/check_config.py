"""``socialops check-config``: validate the configuration; with ``--online``, the credentials."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from cli.app import app, console, guarded, load_org


def _secret_state(env: str) -> str:
    if env not in os.environ:
        return "[yellow]NOT SET[/]"
    return "[yellow]EMPTY[/]" if not os.environ[env].strip() else "set"


@app.command("check-config")
@guarded
def check_config(
    online: Annotated[
        bool,
        typer.Option(
            "--online",
            help="Also verify each enabled channel's credentials with one cheap call to its "
            "platform (Bluesky may create a session; nothing is posted).",
        ),
    ] = False,
) -> None:
    """Validate the organisation file (and channels file) and list the channels."""
    settings, org = load_org()
    console.print(f"[green]ok[/] {settings.config} ({org.organisation.name})")
    for ch in org.channels:
        secrets = f"token {ch.token_env} {_secret_state(ch.token_env)}"
        if ch.client_secret_env:
            secrets += (
                f", client secret {ch.client_secret_env} {_secret_state(ch.client_secret_env)}"
            )
        console.print(f"  {ch.name}: {ch.platform} {ch.base_url} {secrets}", highlight=False)
    if not online:
        return
    from connectors import registry
    from connectors.errors import ConnectorError
    from socialops.config import ConfigError
    from socialops.db import migrate
    from socialops.secrets import redact

    database_url = settings.resolved_database_url()
    migrate(database_url)  # the Bluesky session cache and X usage live there
    failed = 0
    for ch in org.channels:
        if not ch.enabled:
            console.print(f"  {ch.name}: disabled, not checked", highlight=False)
            continue
        try:
            who = registry.verify_credentials(ch, database_url=database_url)
        except (ConfigError, ConnectorError, ValueError) as exc:
            failed += 1
            console.print(f"  [red]FAIL[/] {ch.name}: {redact(str(exc), org)}", highlight=False)
        else:
            console.print(
                f"  [green]ok[/] {ch.name}: credentials work, acting as {who}", highlight=False
            )
    if failed:
        raise typer.Exit(1)
