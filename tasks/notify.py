"""Delivering queued notifications through Apprise: failures are recorded and retried later."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from socialops import notify, routing
from socialops.config import load_config
from socialops.db import session_scope
from socialops.rota.schedule import engine_for
from socialops.settings import get_settings
from socialops.signoff import notices

SENDERS = 8


@task(name="send-notifications", cache_policy=NO_CACHE)
def send_notifications(now: datetime | None = None, limit: int = 200) -> notify.DeliveryRun:
    """Send what is due (new, a failed send whose retry time has come, or one held for quiet
    hours that still applies); never raises for a failed send: it is recorded and retried by
    the next run."""
    settings = get_settings()
    org = load_config(settings.config, channels_path=settings.channels)
    url = settings.resolved_database_url()
    at = notify.utc(now)
    with session_scope(url) as session:
        skipped = routing.skip_stale_deferred(session=session, engine=engine_for(org), now=at)
        skipped += notices.skip_stale(session=session, now=at)
        claimed = notify.claim_due(session=session, now=at, limit=limit)
    sender = notify.AppriseSender()

    def deliver(item: notify.Outgoing) -> notify.Delivery | None:
        urls = notify.target_urls(org, item.recipient, urgent=item.urgent)
        if not urls:
            return None
        return sender(urls=urls, title=item.title, body=item.body, urgent=item.urgent)

    run = notify.DeliveryRun(skipped=skipped)
    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        outcomes = list(pool.map(deliver, claimed))
    with session_scope(url) as session:
        for item, delivery in zip(claimed, outcomes, strict=True):
            status = notify.record(
                session=session,
                org=org,
                outgoing=item,
                delivery=delivery,
                now=notify.utc(now),
            )
            run.count(status)
            if status == "sent" and item.urgent:
                run.urgent_sent += 1
    get_run_logger().info(delivery_log_line(run))
    return run


def delivery_log_line(run: notify.DeliveryRun) -> str:
    """``notifications: 3 sent, ...``; notices held for quiet hours that no longer applied
    (the item was handed over or acted on first) are named only when there were some."""
    line = (
        f"notifications: {run.sent} sent ({run.urgent_sent} urgent), {run.failed} failed "
        "(retried later), "
        f"{run.gave_up} given up, {run.no_target} with no target configured"
    )
    if run.skipped:
        line += (
            f"; {run.skipped} held for quiet hours and no longer needed "
            "(the item was handed over or acted on meanwhile), not sent"
        )
    return line
