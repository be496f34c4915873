"""Approving and rejecting drafts: who may, refusals that change nothing, expiry, views.

Who may approve comes from the department's policy **and the rota**: people the policy allows
who are on duty for the department now (in business hours those on shift, otherwise the
on-call primary and backup). When nobody on duty can fill a slot the policy still needs (a
lead at 3 a.m.), the people who can are asked: the department's lead first. Nobody approves
text they wrote (a generated draft counts as its assignee's), and nobody twice.

Every check runs before anything is written: a refused action raises :class:`SignOffError`
and leaves the database as it was.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialops import storage
from socialops.rota.models import Person
from socialops.rota.schedule import RotaEngine
from socialops.signoff import notices
from socialops.signoff.policy import Member, Policy, SignOff, Slot
from socialops.signoff.templates import LIMITS, text_length

if TYPE_CHECKING:
    from socialops.config import OrgConfig

PENDING, APPROVED, REJECTED, EXPIRED = "pending", "approved", "rejected", "expired"
PUBLISHING, PUBLISHED, FAILED = "publishing", "published", "failed"
STATUSES = (PENDING, APPROVED, REJECTED, EXPIRED, PUBLISHING, PUBLISHED, FAILED)
SYSTEM = "socialops:signoff"
PUBLISH_GRACE = timedelta(hours=1)
"""An approved planned post not published within this long after its time expires."""


class SignOffError(Exception):
    """A sign-off action that is refused; the message is one line for people."""


@dataclass(frozen=True)
class Approver:
    """Someone who may approve a draft now, and what their approval would count as."""

    name: str
    handle: str
    role: str

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "handle": self.handle, "role": self.role}


def new_key() -> str:
    return uuid.uuid4().hex


def resolve_person(org: OrgConfig, who: str) -> Person:
    """A person by handle or full name (any case)."""
    wanted = " ".join(who.split()).casefold()
    for person in org.people:
        if wanted in (person.handle.casefold(), person.name.casefold()):
            return person
    raise SignOffError(f"no person called {who!r} (give a handle such as grace.okafor, or a name)")


def member(org: OrgConfig, engine: RotaEngine, person: Person) -> Member:
    """The person as policies see them: roles, and departments (their own and those whose
    rota they are on)."""
    departments = set(person.departments)
    departments |= {d for d in org.departments if person.handle in engine.members(d)}
    return Member(person.handle, frozenset(person.roles), frozenset(departments))


@functools.lru_cache(maxsize=2048)
def _member_of(engine: RotaEngine, handle: str) -> Member:
    """:func:`member`, once per rota engine (engines are cached per configuration)."""
    return member(engine.org, engine, engine.people[handle])


def policy_for(org: OrgConfig, draft: storage.DraftRow) -> Policy:
    department = org.departments.get(draft.department)  # type: ignore[call-overload]
    sign_off = department.sign_off if department is not None else SignOff()
    return Policy(sign_off, department=draft.department, urgent=draft.urgent)


def get_draft(session: Session, draft_id: int, *, lock: bool = False) -> storage.DraftRow:
    stmt = select(storage.DraftRow).where(storage.DraftRow.id == draft_id)
    if lock:
        stmt = stmt.with_for_update()
    draft = session.execute(stmt).scalar_one_or_none()
    if draft is None:
        raise SignOffError(f"no draft with id {draft_id}")
    return draft


def approvals_of(session: Session, draft: storage.DraftRow) -> list[storage.DraftApprovalRow]:
    """The approvals of the draft's current version, oldest first."""
    a = storage.DraftApprovalRow
    stmt = select(a).where(a.draft_id == draft.id, a.version == draft.version).order_by(a.at, a.id)
    return list(session.execute(stmt).scalars())


# --------------------------------------------------------------------------------------------
# Who may approve now
# --------------------------------------------------------------------------------------------


@dataclass
class _Context:
    org: OrgConfig
    engine: RotaEngine
    now: datetime
    members: dict[str, Member] = field(default_factory=dict)

    def member(self, person: Person) -> Member:
        if person.handle not in self.members:
            self.members[person.handle] = _member_of(self.engine, person.handle)
        return self.members[person.handle]

    def on_duty(self, department: str) -> set[str]:
        if department not in self.engine.calendars:
            return set()
        duty = self.engine.on_duty(department, self.now)
        return {h for h in (*duty.on_shift, duty.primary, duty.backup) if h}


def _feasible(
    ctx: _Context, policy: Policy, approved: list[Member], candidates: Sequence[Person]
) -> list[tuple[Person, str]]:
    out = []
    for person in candidates:
        placed = policy.assign([*approved, ctx.member(person)])
        if placed is not None:
            out.append((person, policy.slots[placed[-1]].label))
    return out


def eligible_approvers(
    session: Session, org: OrgConfig, engine: RotaEngine, draft: storage.DraftRow, now: datetime
) -> list[Approver]:
    """Who may approve the draft's current version now (policy and rota); empty when it
    needs no more approvals or is not pending."""
    if draft.status != PENDING:
        return []
    ctx = _Context(org, engine, now.astimezone(UTC))
    policy = policy_for(org, draft)
    done = approvals_of(session, draft)
    if len(done) >= policy.required:
        return []
    people = {p.handle: p for p in org.people}
    approved = [ctx.member(people[a.approver]) for a in done if a.approver in people]
    taken = {a.approver for a in done} | {draft.author}
    candidates = [
        p for p in org.people if p.handle not in taken and engine.available(p.handle, ctx.now)
    ]
    feasible = _feasible(ctx, policy, approved, candidates)
    if policy.sign_off.order == "in_order":
        # Only those whose approval leaves the later steps to someone else (the only lead
        # must not take step 1 and leave the lead's step to nobody).
        feasible = [
            (p, label)
            for p, label in feasible
            if policy.completable(
                [*approved, ctx.member(p)],
                [ctx.member(q) for q in org.people if q.handle not in taken | {p.handle}],
            )
        ]
    departments = {draft.department} | {
        s.requirement.department for s in policy.slots if s.requirement and s.requirement.department
    }
    on_duty = set().union(*(ctx.on_duty(d) for d in departments))
    chosen = {p.handle for p, _label in feasible if p.handle in on_duty}
    for slot in policy.open_slots(approved):
        if any(policy.fits(ctx.member(people[h]), slot) for h in chosen):
            continue
        fitting = [p for p, _label in feasible if policy.fits(ctx.member(p), slot)]
        dept = (slot.requirement.department if slot.requirement else None) or draft.department
        lead = engine.lead(dept, ctx.now)
        working = [p for p in fitting if engine.working(p.handle, ctx.now)]
        pick = [p for p in fitting if p.handle == lead] or working or fitting[:1]
        chosen |= {p.handle for p in pick}
    return [
        Approver(name=p.name, handle=p.handle, role=label)
        for p, label in feasible
        if p.handle in chosen
    ]


def open_slots(
    session: Session, org: OrgConfig, engine: RotaEngine, draft: storage.DraftRow
) -> list[Slot]:
    """The approvals the current version still needs, in order (labels for people)."""
    policy = policy_for(org, draft)
    people = {p.handle: p for p in org.people}
    approved = [
        _member_of(engine, a.approver) for a in approvals_of(session, draft) if a.approver in people
    ]
    return policy.open_slots(approved)


# --------------------------------------------------------------------------------------------
# Actions
# --------------------------------------------------------------------------------------------


def _refuse_unless_open(draft: storage.DraftRow, now: datetime, *, allow: Sequence[str]) -> None:
    if draft.status not in allow:
        why = {
            PUBLISHED: f"is already published ({draft.external_url or draft.external_id})",
            PUBLISHING: "is being published",
            APPROVED: "is already approved and waits to be published",
            EXPIRED: "has expired: its planned time passed before it was published",
            REJECTED: f"was rejected ({draft.rejection_reason}): the assignee must edit it first",
            FAILED: f"failed to publish ({draft.last_error}): edit it to try again",
            PENDING: "is still pending",
        }.get(draft.status, f"is {draft.status}")
        raise SignOffError(f"draft {draft.id} {why}")
    if draft.scheduled_at is not None and now >= draft.scheduled_at and draft.status == PENDING:
        raise SignOffError(
            f"draft {draft.id} has expired: its planned time {draft.scheduled_at.isoformat()} "
            "passed before it was approved"
        )


def audit_draft(
    session: Session, draft: storage.DraftRow, *, actor: str, action: str, **details: Any
) -> None:
    storage.audit(
        session=session,
        actor=actor,
        action=action,
        subject_type="draft",
        subject_id=str(draft.id),
        details={"version": draft.version, "status": draft.status, **details},
    )


def approve(
    *,
    session: Session,
    org: OrgConfig,
    engine: RotaEngine,
    draft_id: int,
    who: str,
    now: datetime,
    via: str = "cli",
) -> storage.DraftRow:
    """Record one person's approval of the current version; approved once the policy is met."""
    now = now.astimezone(UTC)
    person = resolve_person(org, who)
    draft = get_draft(session, draft_id, lock=True)
    _refuse_unless_open(draft, now, allow=(PENDING,))
    if person.handle == draft.author:
        raise SignOffError(
            f"{person.name} wrote the text of draft {draft.id}: nobody approves their own text"
        )
    done = approvals_of(session, draft)
    if any(a.approver == person.handle for a in done):
        raise SignOffError(
            f"{person.name} already approved version {draft.version} of draft {draft.id}"
        )
    eligible = eligible_approvers(session, org, engine, draft, now)
    match = next((e for e in eligible if e.handle == person.handle), None)
    if match is None:
        raise _not_eligible(org, engine, person, draft, steps_done=len(done), eligible=eligible)
    session.add(
        storage.DraftApprovalRow(
            draft_id=draft.id,
            version=draft.version,
            approver=person.handle,
            role=match.role,
            via=via,
            at=now,
        )
    )
    count = len(done) + 1
    required = policy_for(org, draft).required
    if count >= required:
        draft.status = APPROVED
        draft.approved_at = now
    draft.updated_at = now
    session.flush()
    audit_draft(
        session,
        draft,
        actor=person.handle,
        action="approve",
        via=via,
        at=now.isoformat(),
        counted_as=match.role,
        approvals=f"{count}/{required}",
        text=draft.text,
    )
    return draft


def _not_eligible(
    org: OrgConfig,
    engine: RotaEngine,
    person: Person,
    draft: storage.DraftRow,
    *,
    steps_done: int,
    eligible: list[Approver],
) -> SignOffError:
    """Why ``person`` cannot approve ``draft`` now: a later step of an in-order policy, or
    not eligible at all; with who is."""
    policy = policy_for(org, draft)
    names = ", ".join(e.handle for e in eligible) or "nobody on duty"
    step = steps_done
    if policy.sign_off.order == "in_order" and step < policy.required:
        mine = member(org, engine, person)
        later = [k for k in range(step + 1, policy.required) if policy.fits(mine, policy.slots[k])]
        if later:
            return SignOffError(
                f"{person.name} signs step {later[0] + 1} ({policy.slots[later[0]].label}) "
                f"of draft {draft.id}, and its approvals go in order: step {step + 1} "
                f"({policy.slots[step].label}) comes first (eligible now: {names})"
            )
    return SignOffError(
        f"{person.name} is not an eligible approver of draft {draft.id} now (it needs "
        f"{policy.describe()}; eligible now: {names})"
    )


def reject(
    *,
    session: Session,
    org: OrgConfig,
    engine: RotaEngine,
    draft_id: int,
    who: str,
    reason: str,
    now: datetime,
    via: str = "cli",
) -> storage.DraftRow:
    """Send a draft back to its assignee, with the reason (required)."""
    now = now.astimezone(UTC)
    reason = " ".join(reason.split())
    if not reason:
        raise SignOffError("a rejection needs a reason (--reason)")
    person = resolve_person(org, who)
    draft = get_draft(session, draft_id, lock=True)
    _refuse_unless_open(draft, now, allow=(PENDING, APPROVED))
    policy = policy_for(org, draft)
    if not policy.may_approve(member(org, engine, person)) or person.handle == draft.author:
        raise SignOffError(
            f"{person.name} may not reject draft {draft.id} (it needs {policy.describe()}; "
            "the author cannot reject their own text: edit it instead)"
        )
    before = draft.status
    draft.status = REJECTED
    draft.rejection_reason = reason
    draft.approved_at = None
    draft.updated_at = now
    session.flush()
    audit_draft(
        session,
        draft,
        actor=person.handle,
        action="reject",
        via=via,
        at=now.isoformat(),
        reason=reason,
        before=before,
        text=draft.text,
    )
    if draft.assignee:
        notices.queue_notice(
            session=session,
            org=org,
            key=f"rejected:{draft.id}:v{draft.version}",
            event="rejected",
            draft=draft,
            recipient=draft.assignee,
            urgent=draft.urgent,
            now=now,
            not_before=notices.hold_until(engine, draft, now=now),
            by=person.name,
            reason=reason,
        )
    return draft


def edit(
    *,
    session: Session,
    org: OrgConfig,
    engine: RotaEngine,
    draft_id: int,
    who: str,
    text: str,
    now: datetime,
    via: str = "cli",
) -> storage.DraftRow:
    """Replace the text: a new version, written by ``who``; the approvals start again."""
    now = now.astimezone(UTC)
    person = resolve_person(org, who)
    draft = get_draft(session, draft_id, lock=True)
    _refuse_unless_open(draft, now, allow=(PENDING, APPROVED, REJECTED, FAILED))
    text = text.strip()
    if not text:
        raise SignOffError("the new text is empty")
    if text == draft.text:
        raise SignOffError(f"the text of draft {draft.id} is unchanged")
    limit = LIMITS.get(draft.platform, 500)
    length = text_length(draft.platform, text)
    if length > limit:
        raise SignOffError(f"the text is {length} characters; {draft.platform} allows {limit}")
    policy = policy_for(org, draft)
    if person.handle != draft.assignee and not policy.may_approve(member(org, engine, person)):
        raise SignOffError(
            f"{person.name} may not edit draft {draft.id}: its assignee "
            f"({draft.assignee}) or an approver of {draft.department} can"
        )
    before, before_status = draft.text, draft.status
    draft.text = text
    draft.version += 1
    draft.author = person.handle
    draft.status = PENDING
    draft.rejection_reason = None
    draft.approved_at = None
    draft.last_error = None
    draft.idempotency_key = new_key()
    draft.updated_at = now
    session.flush()
    audit_draft(
        session,
        draft,
        actor=person.handle,
        action="edit",
        via=via,
        at=now.isoformat(),
        before=before,
        after=text,
        status_before=before_status,
    )
    notify_reviewers(session=session, org=org, engine=engine, draft=draft, now=now)
    return draft


def expire_due(*, session: Session, now: datetime) -> int:
    """Planned posts whose time passed: pending ones expire (their approvals lapse), approved
    ones not published within the grace period too. Returns how many expired."""
    now = now.astimezone(UTC)
    d = storage.DraftRow
    rows = session.execute(
        select(d).where(
            d.scheduled_at.is_not(None),
            d.scheduled_at <= now,
            d.status.in_((PENDING, APPROVED, REJECTED)),
        )
    ).scalars()
    expired = 0
    for draft in rows:
        assert draft.scheduled_at is not None
        if draft.status == APPROVED and now < draft.scheduled_at + PUBLISH_GRACE:
            continue
        before = draft.status
        draft.status = EXPIRED
        draft.updated_at = now
        audit_draft(
            session,
            draft,
            actor=SYSTEM,
            action="expire",
            before=before,
            scheduled_at=draft.scheduled_at.isoformat(),
            text=draft.text,
        )
        expired += 1
    session.flush()
    return expired


def notify_reviewers(
    *,
    session: Session,
    org: OrgConfig,
    engine: RotaEngine,
    draft: storage.DraftRow,
    now: datetime,
) -> int:
    """Tell the eligible approvers a draft waits for them (quiet hours as for assignments)."""
    eligible = eligible_approvers(session, org, engine, draft, now)
    hold = notices.hold_until(engine, draft, now=now)
    needs = policy_for(org, draft).describe()
    queued = 0
    for approver in eligible:
        queued += notices.queue_notice(
            session=session,
            org=org,
            key=f"review:{draft.id}:v{draft.version}:{approver.handle}",
            event="review",
            draft=draft,
            recipient=approver.handle,
            urgent=draft.urgent,
            now=now,
            not_before=hold,
            needs=needs,
        )
    return queued


def approve_as_eligible(
    *,
    session: Session,
    org: OrgConfig,
    engine: RotaEngine,
    draft_id: int,
    now: datetime,
    via: str = "demo",
) -> list[str]:
    """Approve a draft as the policy and rota allow, first eligible approver first, until it
    is approved (the demo's approvers; tests). Returns who approved; stops when nobody can."""
    who: list[str] = []
    while True:
        draft = get_draft(session, draft_id)
        if draft.status != PENDING:
            return who
        eligible = eligible_approvers(session, org, engine, draft, now)
        if not eligible:
            return who
        approve(
            session=session,
            org=org,
            engine=engine,
            draft_id=draft_id,
            who=eligible[0].handle,
            now=now,
            via=via,
        )
        who.append(eligible[0].handle)
