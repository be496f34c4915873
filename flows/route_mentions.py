"""The routing flow: every classified mention gets an owner on duty, a due time, a message."""

from __future__ import annotations

from datetime import datetime

from prefect import flow

from flows.classify_mentions import classify_mentions
from socialops.routing import RoutingCycle
from tasks.notify import send_notifications
from tasks.route import publish_routing_summary, route_classified


@flow(name="route-mentions")
def route_mentions(now: datetime | None = None, limit: int = 500) -> RoutingCycle:
    """Classify what is new, assign it to the person on duty with an SLA due time, notify."""
    # Classifying here, not on a schedule of its own, keeps "stored -> owner notified" within
    # one routing interval, and means only one scheduled run ever classifies (no race).
    classify_mentions()
    routed = route_classified(now, limit)
    delivered = send_notifications(now)
    cycle = RoutingCycle(route=routed, delivery=delivered)
    publish_routing_summary(cycle)
    return cycle
