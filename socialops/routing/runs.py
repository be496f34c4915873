"""What a routing or escalation pass did, as plain data for the flows and the CLI."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from socialops import notify


class RouteRun(BaseModel):
    """What one routing pass did."""

    at: datetime
    routed: int = 0  # new items given an owner
    urgent: int = 0
    unassigned: int = 0  # nobody on duty, no fallback: left for the next run
    queued: int = 0  # new items waiting in their department's queue (nobody on shift to take)
    from_queue: int = 0  # items that waited in a queue, given an owner by this pass
    # Items given an owner by this pass (new ones and those from the queues):
    by_department: dict[str, int] = Field(default_factory=dict)
    by_assignee: dict[str, int] = Field(default_factory=dict)
    queue: dict[str, int] = Field(default_factory=dict)  # queue length per department, after
    notifications: list[int] = Field(default_factory=list)
    deferred: int = 0  # notifications held until the department's business hours
    linked: int = 0  # new mentions attached to a conversation's assignment (no new one)
    # Open items whose mention was classified again since they were routed:
    rerouted: int = 0  # to another department, and its person on duty
    withdrawn: int = 0  # now spam or chit-chat: nobody needs to act
    reopened: int = 0  # withdrawn before, now needing someone again
    raised: int = 0  # same department, now urgent: deadline tightened, owner paged
    relabelled: int = 0  # owner and deadline kept (assigned by hand, urgency lowered, ...)
    changes: list[str] = Field(default_factory=list)  # "mention 12: legal/ann -> triage/eve"


class EscalationRun(BaseModel):
    """What one escalation pass (hand-over, escalation, reminders) did."""

    at: datetime
    handed_over: int = 0
    requeued: int = 0  # handed back to the department's queue: nobody on duty could take it
    escalated: int = 0
    skipped_steps: int = 0
    reminded: int = 0
    deferred: int = 0  # notifications held until the department's business hours
    steps: list[str] = Field(default_factory=list)  # "mention 12: ann -> bob (backup)"
    notifications: list[int] = Field(default_factory=list)


class RoutingCycle(BaseModel):
    """The result of a routing or escalation flow run: what changed, what was delivered."""

    route: RouteRun | None = None
    escalation: EscalationRun | None = None
    delivery: notify.DeliveryRun = Field(default_factory=notify.DeliveryRun)

    @staticmethod
    def combine(
        at: datetime,
        hand_over: EscalationRun,
        escalated: EscalationRun,
        reminded: EscalationRun,
        delivery: notify.DeliveryRun,
    ) -> RoutingCycle:
        merged = EscalationRun(
            at=at,
            handed_over=hand_over.handed_over,
            requeued=hand_over.requeued,
            escalated=escalated.escalated,
            skipped_steps=escalated.skipped_steps,
            reminded=reminded.reminded,
            deferred=hand_over.deferred + reminded.deferred,
            steps=escalated.steps,
            notifications=hand_over.notifications
            + escalated.notifications
            + reminded.notifications,
        )
        return RoutingCycle(escalation=merged, delivery=delivery)
