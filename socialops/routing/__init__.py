"""Routing: every classified mention gets an owner, a due time and a notification.

One module per job, each usable on its own:

- :mod:`.route`: ``route_classified`` assigns new items (urgent first) to the person on duty,
  then :mod:`.reclassify` follows items whose mention was classified again.
- :mod:`.picker`: ``OwnerPicker``/``pick_owner``, who is on duty and gets an item.
- :mod:`.handover`, :mod:`.escalation`, :mod:`.reminders`: ``hand_over`` at shift ends,
  ``escalate`` past due, ``remind_due_soon`` before it.
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
    "ROUTER",
    "WITHDRAWN",
    "AssignmentView",
    "EscalationRun",
    "OwnerPicker",
    "RouteRun",
    "RoutingCycle",
    "RoutingError",
    "assign_manually",
    "assignments_for",
    "escalate",
    "hand_over",
    "mark_acted",
    "notification_values",
    "open_load",
    "pick_owner",
    "queue_item_notification",
    "queue_notification",
    "quiet_until",
    "remind_due_soon",
    "route_classified",
    "skip_stale_deferred",
]
