"""Publishing approved replies and due planned posts through the channel's connector.

Each step is committed before the next (see :mod:`socialops.signoff.publishing`), so a crash
at any point leaves a row that the next run finishes without posting twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import httpx
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from connectors import registry
from connectors.errors import ConnectorError, OutcomeUnknown, RateLimited, Rejected, Retryable
from socialops.config import OrgConfig, load_config
from socialops.db import session_scope
from socialops.settings import get_settings
from socialops.signoff import publishing as pub
from socialops.signoff.publishing import PublishRun

RETRY_SOON = timedelta(seconds=2)


def _retry_at(exc: ConnectorError, now: datetime) -> datetime:
    if isinstance(exc, RateLimited) and exc.reset_at is not None:
        return max(exc.reset_at, now)
    return now + RETRY_SOON


def publish_item(
    url: str,
    org: OrgConfig,
    channel: pub.Publisher,
    item: pub.Claimed,
    now: Callable[[], datetime],
) -> tuple[str, str | None]:
    """One claimed item: reconcile if it was ever sent, record the attempt, post, record."""

    def look(since: datetime) -> pub.OwnStatus | None:
        return pub.find_existing(item, channel.own_posts(since=since), since=since)

    def published(status_id: str, link: str | None, *, found: bool) -> str:
        with session_scope(url) as session:
            ok = pub.record_published(
                session=session, item=item, status_id=status_id, url=link, now=now(), found=found
            )
        return ("reconciled" if found else "published") if ok else "lost"

    def retry(error: str, at: datetime) -> tuple[str, str]:
        with session_scope(url) as session:
            ok = pub.release(session=session, item=item, error=error, retry_at=at, now=now())
        return ("retry" if ok else "lost"), error

    if item.post_started_at is not None:  # an earlier attempt may have been written
        try:
            found = look(item.post_started_at)
        except ConnectorError as exc:
            return retry(f"could not check for an earlier post: {exc}", _retry_at(exc, now()))
        if found is not None:
            return published(found.id, found.url, found=True), None
    started = now()
    with session_scope(url) as session:
        if not pub.mark_post_started(session=session, item=item, now=started):
            return "lost", None
    try:
        posted = channel.post(
            in_reply_to=item.in_reply_to_id,
            text=item.text,
            idempotency_key=item.idempotency_key,
            visibility=item.visibility,
            lang=item.lang,
        )
    except OutcomeUnknown as exc:
        since = item.post_started_at or started
        try:
            found = look(since)
        except ConnectorError as check:
            return retry(f"{exc}; the check failed too: {check}", _retry_at(check, now()))
        if found is not None:
            return published(found.id, found.url, found=True), None
        # Not listed (yet): a platform may take a moment to list a new post, so the next look
        # (before any new attempt) comes a little later rather than at once.
        return retry(f"{exc}; not found among the account's posts", now() + RETRY_SOON)
    except (RateLimited, Retryable) as exc:
        return retry(str(exc), _retry_at(exc, now()))
    except Rejected as exc:
        with session_scope(url) as session:
            ok = pub.record_failed(session=session, org=org, item=item, error=str(exc), now=now())
        return ("failed" if ok else "lost"), str(exc)
    return published(posted.id, posted.url, found=False), None


def _utc_now() -> datetime:
    return datetime.now(UTC)


def publish_pending(
    *,
    url: str,
    org: OrgConfig,
    now: Callable[[], datetime] = _utc_now,
    limit: int = 100,
    lease: timedelta = pub.LEASE,
    max_wait: float = 10.0,
    rounds: int = 20,
    transport: httpx.BaseTransport | None = None,
    max_rate_limit_wait: float = 120.0,
) -> PublishRun:
    """Publish everything approved and due; items to retry soon (within ``max_wait``
    seconds) are retried in this run, later ones by the next."""
    run = PublishRun()
    with ExitStack() as stack:
        channels: dict[str, pub.Publisher | str] = {}

        def channel_for(item: pub.Claimed) -> pub.Publisher | str:
            """The item's channel as a publisher, or why it cannot publish (one line)."""
            if item.channel not in channels:
                try:
                    channels[item.channel] = stack.enter_context(
                        registry.open_publisher(
                            org.channel(item.channel),
                            max_rate_limit_wait=max_rate_limit_wait,
                            transport=transport,
                            database_url=url,
                        )
                    )
                except Rejected as exc:  # no publishing for this platform
                    channels[item.channel] = str(exc)
            return channels[item.channel]

        for _ in range(rounds):
            with session_scope(url) as session:
                claimed = pub.claim_due(session=session, now=now(), limit=limit, lease=lease)
            if not claimed:
                if not _wait_for_retries(url, now, max_wait):
                    break
                continue
            for item in claimed:
                chan = channel_for(item)
                if isinstance(chan, str):
                    refusal = chan
                    with session_scope(url) as session:
                        pub.record_failed(
                            session=session, org=org, item=item, error=refusal, now=now()
                        )
                    run.count("failed", refusal, item)
                    continue
                outcome, error = publish_item(url, org, chan, item, now)
                run.count(outcome, error, item)
    return run


def _wait_for_retries(url: str, now: Callable[[], datetime], max_wait: float) -> bool:
    """Sleep until the next released item is due, if that is within ``max_wait`` seconds."""
    from sqlalchemy import func, select

    from socialops import storage
    from socialops.signoff.approvals import APPROVED

    d = storage.DraftRow
    with session_scope(url) as session:
        nxt = session.execute(
            select(func.min(d.next_attempt_at)).where(
                d.status == APPROVED, d.next_attempt_at.is_not(None), d.scheduled_at.is_(None)
            )
        ).scalar_one_or_none()
    if nxt is None:
        return False
    if nxt.tzinfo is None:
        nxt = nxt.replace(tzinfo=UTC)
    wait = (nxt - now()).total_seconds()
    if wait > max_wait:
        return False
    time.sleep(max(wait, 0) + 0.05)
    return True


@task(name="publish-approved", cache_policy=NO_CACHE)
def publish_approved(now: datetime | None = None, limit: int = 100) -> PublishRun:
    """Publish approved replies and due planned posts, each exactly once."""
    settings = get_settings()
    org = load_config(settings.config, channels_path=settings.channels)
    clock = _utc_now if now is None else (lambda: now.astimezone(UTC))
    run = publish_pending(
        url=settings.resolved_database_url(),
        org=org,
        now=clock,
        limit=limit,
        max_wait=10.0 if now is None else 0.0,  # a fixed clock never reaches a retry time
        max_rate_limit_wait=settings.rate_limit_max_wait_seconds,
    )
    get_run_logger().info("%s%s", run.log_line(), "".join(f"\n- {e}" for e in run.errors[:20]))
    return run


@task(name="publish-publishing-summary", cache_policy=NO_CACHE)
def publish_publishing_summary(run: PublishRun) -> str | None:
    """The run's markdown artifact (``publishing-summary``): counts per platform, channel and
    department, and the reasons; none when nothing was posted, refused or put off."""
    if not run.did_something:
        get_run_logger().info("nothing published, failed or put off: no artifact")
        return None
    markdown = run.markdown()
    create_markdown_artifact(
        markdown=markdown,
        key="publishing-summary",
        description="Replies and planned posts published, found, failed and retried, "
        "per channel and department",
    )
    return markdown


__all__ = [
    "PublishRun",
    "publish_approved",
    "publish_item",
    "publish_pending",
    "publish_publishing_summary",
]
