"""``socialops ingest``: fetch, validate and store new mentions, once."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.app import CommandFailed, app, guarded, prepare
from cli.pipeline import check_channels, run_ingest, show_ingest


@app.command()
@guarded
def ingest(
    channel: Annotated[
        list[str] | None, typer.Option("--channel", "-c", help="Only this channel (repeatable).")
    ] = None,
    backfill_hours: Annotated[
        float | None,
        typer.Option(help="Walk back this many hours again (an ad-hoc backfill)."),
    ] = None,
) -> None:
    """Fetch new mentions from the channels, validate them and store them once."""
    _settings, org = prepare()
    check_channels(org, channel)
    run, _state = run_ingest(channel or None, backfill_hours)
    show_ingest(run)
    if run.failures:
        raise CommandFailed(f"{len(run.failures)} channel(s) failed: {', '.join(run.failures)}")
