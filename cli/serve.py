"""``socialops serve``: the scheduled deployments in this process, until stopped."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.app import app, guarded, prepare


@app.command()
@guarded
def serve(
    ingest_every: Annotated[int, typer.Option(min=1, help="Minutes between ingests.")] = 5,
) -> None:
    """Serve every deployment in deployments/catalog.py until stopped."""
    from datetime import timedelta

    from deployments.serve import main as serve_deployments

    prepare()
    serve_deployments(timedelta(minutes=ingest_every))
