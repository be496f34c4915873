"""The routing flow: every classified mention gets an owner on duty, a due time, a message."""

from __future__ import annotations

from datetime import datetime

from prefect import flow

from socialops.routing import RoutingCycle
from tasks.notify import send_notifications
from tasks.route import route_classified


@flow(name="route-mentions")
def route_mentions(now: datetime | None = None, limit: int = 500) -> RoutingCycle:
    """Assign classified mentions to the person on duty, with an SLA due time, and notify them."""
    routed = route_classified(now, limit)
    delivered = send_notifications(now)
    return RoutingCycle(route=routed, delivery=delivered)
