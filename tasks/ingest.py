"""Ingest tasks: one channel's fetch-validate-store, and the run's summary artifact."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import MissingContextError
from prefect.logging.handlers import APILogHandler
from prefect.runtime import task_run
from prefect.tasks import exponential_backoff

from connectors import registry
from connectors.errors import RateLimited, Retryable
from socialops import quality
from socialops.config import Channel, OrgConfig, load_config
from socialops.ingest import ChannelFailed, ChannelIngest, ChannelResult, IngestRun
from socialops.reports import ingest_summary_markdown
from socialops.secrets import redact
from socialops.settings import get_settings
from socialops.text_safety import neutralise
from tasks.limits import platform_account


def _org() -> OrgConfig:
    settings = get_settings()
    return load_config(settings.config, channels_path=settings.channels)


def retry_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry on transient platform errors only (a retry resumes where the last one stopped).

    ``RateLimited`` reaches a task only when the reset is further away than the connector was
    allowed to wait; retrying seconds later cannot help, so the channel fails with the reset
    time and the next scheduled run resumes from the stored position.
    """
    try:
        state.result()
    except ChannelFailed as exc:
        return exc.retryable
    except Retryable:
        return True
    except Exception:
        return False
    return False


RETRIES = 3


class _ConnectorLogToRun(logging.Handler):
    """What the platform clients log (a 503 retried in place, a rate-limit wait) goes to the
    log of the task run it happened in, tokens redacted; outside a run it is left alone."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            logger = get_run_logger()
        except MissingContextError:
            return
        try:
            message = redact(neutralise(record.getMessage()), _org())
        except Exception:  # a log line must never break a walk
            message = redact(neutralise(record.getMessage()))
        logger.log(record.levelno, "%s", message)


_BRIDGE = _ConnectorLogToRun(level=logging.INFO)


def _log_connectors_to_run() -> None:
    """The platform clients log under ``connectors`` at INFO (a 503 retried in place, a
    rate-limit wait): make those lines reach the task run's log. When Prefect sends that
    logger to the API already (``PREFECT_LOGGING_EXTRA_LOGGERS``, which the CLI sets) only its
    level is needed (it inherits the root's WARNING); otherwise (a worker started by hand)
    the bridge is installed, once per process."""
    connectors = logging.getLogger("connectors")
    if connectors.getEffectiveLevel() > logging.INFO:
        connectors.setLevel(logging.INFO)
    if any(isinstance(h, APILogHandler) for h in connectors.handlers):
        return
    if _BRIDGE not in connectors.handlers:
        connectors.addHandler(_BRIDGE)


def figures_line(result: ChannelResult) -> str:
    """``mastodon-main: fetched 120 = 2 skipped + 1 quarantined + ...``: one channel's run."""
    f = result.accounted()
    line = (
        f"{result.channel}: fetched {f['fetched']} = {f['skipped']} skipped + "
        f"{f['quarantined']} quarantined + {f['stored']} stored + {f['already_stored']} "
        f"already stored + {f['outside_window']} outside the window; {result.pages} pages "
        f"in {result.seconds:.1f} s"
    )
    if result.rechecked:
        line += f"; re-read {result.rechecked} behind the position ({result.late} found late)"
    if not result.backfill_complete:
        line += "; the backfill continues next run"
    return line


# What earlier attempts of a task run committed, so the summary counts the whole run. Retries
# run in the same process as the attempt before them.
_EARLIER: dict[str, ChannelResult] = {}
_EARLIER_LOCK = threading.Lock()


@task(name="load-channels", cache_policy=NO_CACHE)
def load_channels(names: list[str] | None) -> list[str]:
    """The enabled channels to ingest (all of them, or the named ones: unknown names fail)."""
    org = _org()
    if names:
        return [org.channel(name).name for name in names]
    return [channel.name for channel in org.channels if channel.enabled]


@task(name="prepare-quality-suite", cache_policy=NO_CACHE)
def prepare_quality_suite() -> None:
    """Load Great Expectations once, before channels validate concurrently."""
    quality.warm_up(quality_rules())


def quality_rules() -> quality.QualityRules:
    """The data-quality thresholds from the settings."""
    settings = get_settings()
    return quality.QualityRules(
        clock_skew=timedelta(seconds=settings.clock_skew_seconds),
        max_text_length=settings.max_text_length,
    )


@task(
    name="ingest-channel",
    task_run_name="ingest-{channel_name}",
    retries=RETRIES,
    retry_delay_seconds=exponential_backoff(backoff_factor=1),
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
)
def ingest_channel(channel_name: str, backfill_hours: float | None = None) -> ChannelResult:
    """Fetch one channel from its stored position, validate, quarantine, store, move on.

    On an error, what was fetched is committed first; ``ChannelFailed`` then carries those
    figures, the reason and, when rate limited, the time the channel can resume.
    """
    settings = get_settings()
    channel = _org().channel(channel_name)
    if backfill_hours is not None:
        channel = channel.model_copy(update={"backfill_hours": backfill_hours})
    attempt = str(task_run.id)
    logger = get_run_logger()
    _log_connectors_to_run()
    with _EARLIER_LOCK:
        earlier = _EARLIER.pop(attempt, None)
    walk: ChannelIngest | None = None
    try:
        # The account's slot first: a backfill of the same channel waits, and vice versa.
        with (
            platform_account(channel.name),
            registry.open_source(
                channel,
                max_rate_limit_wait=settings.rate_limit_max_wait_seconds,
                timeout=settings.http_timeout_seconds,
            ) as source,
        ):
            walk = ChannelIngest(
                channel=channel,
                source=source,
                database_url=settings.resolved_database_url(),
                batch_size=settings.ingest_batch_size,
                rules=quality_rules(),
                backfill=backfill_hours is not None,
            )
            result = walk.run()
    except Exception as exc:
        failed = _failed(channel, walk, exc, earlier)
        cause = redact(str(failed), _org())
        if failed.retryable and task_run.run_count <= RETRIES:
            with _EARLIER_LOCK:
                _EARLIER[attempt] = failed.result
            # INFO: the command's console stays one line per failed channel; the UI shows it.
            logger.info(
                "retrying channel %s after a transient error (attempt %d of %d, from where it "
                "stopped; kept so far: %d stored, %d quarantined). Cause: %s",
                channel.name,
                task_run.run_count + 1,
                RETRIES + 1,
                failed.result.stored,
                failed.result.quarantined,
                cause,
            )
        else:
            # The traceback goes to the run's logs (the CLI's console shows one line instead).
            logger.error(
                "channel %s failed: %s; %s",
                channel.name,
                cause,
                figures_line(failed.result),
                exc_info=exc,
            )
        raise failed from exc
    if earlier is not None:
        result.carry(earlier)
    logger.info("%s", figures_line(result))
    return result


def _failed(
    channel: Channel, walk: ChannelIngest | None, exc: Exception, earlier: ChannelResult | None
) -> ChannelFailed:
    reason = neutralise(f"{type(exc).__name__}: {exc}")
    result = (
        walk.result
        if walk is not None
        else ChannelResult(channel=channel.name, platform=channel.platform)
    )
    result.error = reason
    if isinstance(exc, RateLimited):
        result.resume_at = exc.reset_at
    if earlier is not None:
        result.carry(earlier)
    return ChannelFailed(
        reason,
        result=result,
        retryable=isinstance(exc, Retryable),
        resume_at=result.resume_at,
    )


@task(name="publish-ingest-summary", cache_policy=NO_CACHE)
def publish_ingest_summary(run: IngestRun) -> str:
    """A markdown artifact for the run: one row per channel, reasons below (tokens redacted);
    none for a run that found nothing new and failed nowhere (most scheduled minutes), so the
    latest ``ingest-summary`` in the UI stays the last run that did something."""
    markdown = redact(ingest_summary_markdown(run.results, run.failures), _org())
    if not run.failures and not any(r.accounted()["fetched"] for r in run.results):
        get_run_logger().info("nothing new on any channel: no artifact")
        return markdown
    create_markdown_artifact(
        markdown=markdown, key="ingest-summary", description="Mentions ingested per channel"
    )
    return markdown
