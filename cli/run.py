"""``socialops run``: every stage of the pipeline once, as the deployments run them."""

from __future__ import annotations

from cli.app import CommandFailed, app, guarded, prepare
from cli.pipeline import (
    check_channels,
    run_classify,
    run_ingest,
    run_route,
    show_classify,
    show_ingest,
    show_route,
)


@app.command()
@guarded
def run() -> None:
    """One full cycle of every stage: the same flows the deployments schedule."""
    _settings, org = prepare()
    check_channels(org, None)
    ingest_run, _state = run_ingest(None, None)
    show_ingest(ingest_run)
    # Classify and route even when a channel failed: what was stored still needs an owner.
    show_classify(run_classify())
    show_route(run_route())
    # Sign-off: drafts for what was routed, then publish what people approved.
    from cli.publish import run_drafts, run_publish, show_drafts, show_publish

    show_drafts(run_drafts())
    show_publish(run_publish())
    if ingest_run.failures:
        raise CommandFailed(
            f"{len(ingest_run.failures)} channel(s) failed: {', '.join(ingest_run.failures)}"
        )
