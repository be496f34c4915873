"""The escalation flow: hand over at shift ends, escalate what is overdue, remind, deliver."""

from __future__ import annotations

from datetime import datetime

from prefect import flow

from socialops.notify import utc
from socialops.routing import RoutingCycle
from tasks.notify import send_notifications
from tasks.route import (
    escalate_overdue_items,
    hand_over,
    publish_routing_summary,
    remind_due_soon,
)


@flow(name="escalate-overdue")
def escalate_overdue(now: datetime | None = None) -> RoutingCycle:
    """Hand items over at shift ends, escalate overdue ones, remind, and send (and retry)."""
    at = utc(now)
    handed = hand_over(at)
    escalated = escalate_overdue_items(at)
    reminded = remind_due_soon(at)
    delivered = send_notifications(now)
    cycle = RoutingCycle.combine(at, handed, escalated, reminded, delivered)
    publish_routing_summary(cycle)
    return cycle
