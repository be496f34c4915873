"""Routing: every classified mention gets an owner, a due time and a notification.

One module per job, each usable on its own:

- :mod:`.route`: ``route_classified`` assigns new items (urgent first) to the person on duty,
  then :mod:`.reclassify` follows items whose mention was classified again.
- :mod:`.picker`: ``OwnerPicker``/``pick_owner``, who is on duty and gets an item.
- :mod:`.handover`, :mod:`.escalation`, :mod:`.reminders`: ``hand_over`` at shift ends,
  ``escalate`` past due, ``remind_due_soon`` before it.
- :mod:`.queue`: ``place`` decides between a person and the department's queue (normal items
  nobody on shift can take under ``routing.max_open_per_person`` wait there, without an
  owner); ``assign_queued`` gives queues out by least load; ``requeue`` hands an item back;
  ``queue_lengths`` and ``queued_items`` show what waits.
- :mod:`.quiet_hours`: ``quiet_until`` holds normal items' notices until the department opens;
  ``skip_stale_deferred`` drops held ones that no longer apply.
- :mod:`.notifications`: ``queue_notification`` and ``queue_item_notification``.
- :mod:`.manual`: ``assign_manually`` and ``mark_acted``, for people.

Every change is audited and queues its notification in the caller's transaction (delivery is
separate, see :mod:`socialops.notify`). Data functions take the session, keyword-only, and
never commit. Assignments are one row per mention, so routing twice assigns once.
"""

from socialops.routing.assignments import (
    ACTED,
    ESCALATOR,
    NO_ACTION,
    OPEN,
    QUEUED,
    ROUTER,
    WITHDRAWN,
    AssignmentView,
    RoutingError,
    assignments_for,
)
from socialops.routing.escalation import escalate
from socialops.routing.handover import hand_over
from socialops.routing.manual import MANUAL_GRACE, assign_manually, mark_acted
from socialops.routing.notifications import (
    ANNOUNCEMENTS,
    notification_values,
    queue_item_notification,
    queue_notification,
)
from socialops.routing.picker import OwnerPicker, open_load, pick_owner
from socialops.routing.queue import (
    QUEUE,
    Placement,
    assign_queued,
    can_wait,
    place,
    queue_lengths,
    queued_items,
    requeue,
)
from socialops.routing.quiet_hours import quiet_until, skip_stale_deferred
from socialops.routing.reminders import remind_due_soon
from socialops.routing.route import route_classified
from socialops.routing.runs import EscalationRun, RouteRun, RoutingCycle

__all__ = [
    "ACTED",
    "ANNOUNCEMENTS",
    "ESCALATOR",
    "MANUAL_GRACE",
    "NO_ACTION",
    "OPEN",
    "QUEUE",
    "QUEUED",
    "ROUTER",
    "WITHDRAWN",
    "AssignmentView",
    "EscalationRun",
    "OwnerPicker",
    "Placement",
    "RouteRun",
    "RoutingCycle",
    "RoutingError",
    "assign_manually",
    "assign_queued",
    "assignments_for",
    "can_wait",
    "escalate",
    "hand_over",
    "mark_acted",
    "notification_values",
    "open_load",
    "pick_owner",
    "place",
    "queue_item_notification",
    "queue_lengths",
    "queue_notification",
    "queued_items",
    "quiet_until",
    "remind_due_soon",
    "requeue",
    "route_classified",
    "skip_stale_deferred",
]
