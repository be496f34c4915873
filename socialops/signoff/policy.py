"""Sign-off policies: who must approve a department's replies, how many, in which order.

A policy is the ``sign_off:`` block of a department in the organisation file. Approvals fill
*slots*: ``must_include`` requirements (a role in a department, or named people), then general
slots for anyone the policy allows. With ``order: any`` an approval is accepted when every
approval so far can still sit in its own slot; with ``order: in_order`` approval number k must
fit slot k (general slots first, then the requirements in the order listed: the leads sign
last). Plain Python: no database, no rota (see :mod:`socialops.signoff.eligibility`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from socialops.rota.models import Handle, Person, Problem, Role

Order = Literal["any", "in_order"]
ReplyMode = Literal["public", "private", "none"]
GENERAL = "approver"
_DEFAULT_ROLES: tuple[Role, ...] = ("approver", "lead")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Requirement(_Strict):
    """At least ``count`` approvals from people with ``role`` in ``department`` (default: the
    draft's own), or from the named ``people``."""

    role: Role | None = None
    people: list[Handle] = Field(default_factory=list)
    department: str | None = None
    count: int = Field(default=1, ge=1, le=5)

    @model_validator(mode="after")
    def _something(self) -> Requirement:
        if self.role is None and not self.people:
            raise ValueError("give a role (e.g. role: lead) or people (a list of handles)")
        return self

    def label(self, department: str) -> str:
        if self.role is None:
            return "one of " + ", ".join(self.people)
        return f"{self.role} ({self.department or department})"


class SignOff(_Strict):
    """Who must approve a reply before it is published."""

    approvals_required: int = Field(default=1, ge=0, le=5)
    urgent_approvals_required: int | None = Field(default=None, ge=0, le=5)
    approver_roles: list[Role] = Field(default_factory=lambda: list(_DEFAULT_ROLES))
    approvers: list[Handle] = Field(
        default_factory=list, description="Named people who may approve besides the roles."
    )
    must_include: list[Requirement] = Field(default_factory=list)
    urgent_must_include: list[Requirement] = Field(
        default_factory=list, description="Added to must_include when the mention is urgent."
    )
    order: Order = "any"
    allow_self_approval: Literal[False] = Field(
        default=False, description="Nobody approves their own text: this cannot be turned on."
    )
    replies: ReplyMode = Field(
        default="public",
        description="public: a drafted reply; private: a short public note that the team "
        "will be in touch directly; none: no reply is drafted.",
    )

    @model_validator(mode="after")
    def _slots_fit(self) -> SignOff:
        normal = sum(r.count for r in self.must_include)
        if normal > self.approvals_required:
            raise ValueError(
                f"must_include asks for {normal} approvals but approvals_required is "
                f"{self.approvals_required}: raise approvals_required"
            )
        urgent = normal + sum(r.count for r in self.urgent_must_include)
        if urgent > self.required(urgent=True):
            raise ValueError(
                f"must_include and urgent_must_include ask for {urgent} approvals of an urgent "
                f"item but only {self.required(urgent=True)} are required: set "
                "urgent_approvals_required"
            )
        return self

    def required(self, *, urgent: bool) -> int:
        if urgent and self.urgent_approvals_required is not None:
            return self.urgent_approvals_required
        return self.approvals_required

    def requirements(self, *, urgent: bool) -> list[Requirement]:
        return [*self.must_include, *(self.urgent_must_include if urgent else [])]


def policy_problems(
    *, departments: Mapping[str, SignOff], people: Sequence[Person]
) -> list[Problem]:
    """Names in sign-off policies that do not exist, each at its key path."""
    handles = {p.handle for p in people}
    problems: list[Problem] = []
    for dept_id, policy in departments.items():
        base: tuple[str | int, ...] = ("departments", dept_id, "sign_off")
        for i, handle in enumerate(policy.approvers):
            if handle not in handles:
                problems.append(((*base, "approvers", i), "unknown person", handle))
        for key in ("must_include", "urgent_must_include"):
            for i, req in enumerate(getattr(policy, key)):
                if req.department is not None and req.department not in departments:
                    known = ", ".join(departments)
                    problems.append(
                        (
                            (*base, key, i, "department"),
                            f"unknown department ({known})",
                            req.department,
                        )
                    )
                for j, handle in enumerate(req.people):
                    if handle not in handles:
                        problems.append(((*base, key, i, "people", j), "unknown person", handle))
    return problems


# --------------------------------------------------------------------------------------------
# Slots
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """One approval the policy asks for: a requirement, or a general approver (None)."""

    requirement: Requirement | None
    label: str


@dataclass(frozen=True)
class Member:
    """What the policy needs to know about a person: roles, and the departments they serve
    (their own, and those whose rota they are on)."""

    handle: str
    roles: frozenset[str]
    departments: frozenset[str]


class Policy:
    """A department's sign-off policy applied to one draft (its department and urgency)."""

    def __init__(self, sign_off: SignOff, *, department: str, urgent: bool) -> None:
        self.sign_off = sign_off
        self.department = department
        self.urgent = urgent
        reqs = sign_off.requirements(urgent=urgent)
        slots = [Slot(r, r.label(department)) for r in reqs for _ in range(r.count)]
        general = sign_off.required(urgent=urgent) - len(slots)
        self.slots: list[Slot] = [Slot(None, GENERAL)] * general + slots

    @property
    def required(self) -> int:
        return len(self.slots)

    def fits(self, member: Member, slot: Slot) -> bool:
        req = slot.requirement
        if req is None:
            return (
                self.department in member.departments
                and bool(member.roles & set(self.sign_off.approver_roles))
            ) or member.handle in self.sign_off.approvers
        if member.handle in req.people:
            return True
        return (
            req.role is not None
            and req.role in member.roles
            and (req.department or self.department) in member.departments
        )

    def may_approve(self, member: Member) -> bool:
        """Whether the policy lets this person approve at all (any slot)."""
        return any(self.fits(member, slot) for slot in self.slots)

    def assign(self, members: Sequence[Member]) -> list[int] | None:
        """A slot index per approval, in order, or None when they cannot all count."""
        if len(members) > len(self.slots):
            return None
        if self.sign_off.order == "in_order":
            ok = all(self.fits(m, self.slots[i]) for i, m in enumerate(members))
            return list(range(len(members))) if ok else None
        owner: dict[int, int] = {}  # slot -> member index (bipartite matching)

        # Requirement slots first: a lead's approval counts as the lead's where it can.
        order = sorted(range(len(self.slots)), key=lambda s: self.slots[s].requirement is None)

        def place(i: int, seen: set[int]) -> bool:
            for s in order:
                slot = self.slots[s]
                if s in seen or not self.fits(members[i], slot):
                    continue
                seen.add(s)
                if s not in owner or place(owner[s], seen):
                    owner[s] = i
                    return True
            return False

        for i in range(len(members)):
            if not place(i, set()):
                return None
        by_member = {i: s for s, i in owner.items()}
        return [by_member[i] for i in range(len(members))]

    def completable(self, members: Sequence[Member], pool: Sequence[Member]) -> bool:
        """Whether the slots left after ``members`` can each go to a different person of
        ``pool`` (with ``in_order`` a lead who takes the first, general slot must not leave
        the lead's slot to nobody)."""
        open_slots = self.open_slots(members)
        owner: dict[int, int] = {}  # pool index -> open slot index

        def place(s: int, seen: set[int]) -> bool:
            for i, person in enumerate(pool):
                if i in seen or not self.fits(person, open_slots[s]):
                    continue
                seen.add(i)
                if i not in owner or place(owner[i], seen):
                    owner[i] = s
                    return True
            return False

        return all(place(s, set()) for s in range(len(open_slots)))

    def open_slots(self, members: Sequence[Member]) -> list[Slot]:
        """The slots still to fill after these approvals."""
        placed = self.assign(members) or []
        return [slot for s, slot in enumerate(self.slots) if s not in placed]

    def describe(self) -> str:
        """One line for people: what this draft needs."""
        n = self.required
        parts = [f"{n} approval{'s' if n != 1 else ''}"]
        reqs = [s.label for s in self.slots if s.requirement is not None]
        if reqs:
            parts.append("including " + ", ".join(reqs))
        roles = "/".join(self.sign_off.approver_roles)
        parts.append(f"from {self.department} ({roles})")
        if self.sign_off.order == "in_order":
            parts.append("in order")
        return " ".join(parts)
