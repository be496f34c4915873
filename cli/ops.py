"""Operating commands: ``socialops db upgrade``, ``socialops deployments write``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.app import CommandFailed, app, console, guarded, load_org

db_app = typer.Typer(no_args_is_help=True, help="The application database.")
deployments_app = typer.Typer(no_args_is_help=True, help="The deployment catalog.")
app.add_typer(db_app, name="db")
app.add_typer(deployments_app, name="deployments")


@db_app.command("upgrade")
@guarded
def db_upgrade() -> None:
    """Bring the database schema to the newest migration (safe with other processes)."""
    from socialops.db import current_revision, get_engine, head_revision, migrate

    settings, _org = load_org()
    url = settings.resolved_database_url()
    before = current_revision(get_engine(url))
    migrate(url)
    console.print(f"database schema: {before or 'empty'} -> {head_revision()}")


@deployments_app.command("write")
@guarded
def deployments_write(
    pool: Annotated[
        str | None, typer.Option(help="Work pool name (default SOCIALOPS_WORK_POOL or socialops).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Default deployments/prefect.yaml.")
    ] = None,
    check: Annotated[
        bool, typer.Option(help="Only check the file matches the catalog (exit 1 if not).")
    ] = False,
) -> None:
    """Write deployments/prefect.yaml from deployments/catalog.py."""
    from deployments import prefect_yaml

    path = output or prefect_yaml.PATH
    text = prefect_yaml.render(pool=pool)
    if check:
        if not path.exists() or path.read_text() != text:
            raise CommandFailed(f"{path} differs from deployments/catalog.py: run make deployments")
        console.print(f"{path}: matches the catalog")
        return
    path.write_text(text)
    console.print(f"wrote {path}")


@deployments_app.command("list")
@guarded
def deployments_list() -> None:
    """The catalog: every deployment, its schedule and overlap rule."""
    from deployments.catalog import CATALOG

    for item in CATALOG:
        when = (
            f"every {int(item.interval.total_seconds())} s"
            if item.interval
            else (f"cron {item.cron} {item.timezone or ''}".strip() if item.cron else "on demand")
        )
        console.print(f"{item.full_name:40} {when:24} {item.collision_strategy}")
