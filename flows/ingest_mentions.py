"""The ingest flow: every channel, concurrently, into storage once."""

from __future__ import annotations

from prefect import State, flow
from prefect.states import Failed

from socialops.ingest import ChannelFailed, IngestRun
from tasks.ingest import (
    ingest_channel,
    load_channels,
    prepare_quality_suite,
    publish_ingest_summary,
)


# Async although its tasks are sync (they run in the task runner's threads): Prefect 3.9 ends a
# sync flow run by joining its heartbeat thread, which sleeps in 1-second steps, so every sync
# run ends on a whole second after it began (measured 0.1-1.0 s per run, ~20% of a 20,000-mention
# ingest). The async engine does not wait for it. Call it from sync code with `flows.run_sync`.
@flow(name="ingest-mentions")
async def ingest_mentions(
    channels: list[str] | None = None, backfill_hours: float | None = None
) -> IngestRun | State:
    """Fetch new mentions from every channel, validate them and store each once."""
    names = load_channels(channels)
    prepare_quality_suite()
    futures = {name: ingest_channel.submit(name, backfill_hours) for name in names}
    run = IngestRun()
    for name, future in futures.items():
        try:
            run.results.append(future.result())
        except ChannelFailed as exc:  # what it committed before failing is in its result
            run.results.append(exc.result)
            run.failures[name] = str(exc)
        except Exception as exc:  # one channel's failure must not hide the others' results
            run.failures[name] = f"{type(exc).__name__}: {exc}"
    publish_ingest_summary(run)
    if run.failures:
        return Failed(
            message=f"{len(run.failures)} of {len(names)} channels failed: "
            + "; ".join(f"{name} ({reason})" for name, reason in run.failures.items()),
            data=run,
        )
    return run
