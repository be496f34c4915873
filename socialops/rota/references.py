"""Cross-references in the organisation file's people, rotas, holidays and escalation: a rota
naming an unknown person, a department's unknown holiday calendar, an escalation to nobody.
Found by :func:`reference_problems`, raised with their key path by :func:`raise_problems`, so an
error points at the line to fix (:class:`socialops.config.OrgConfig` calls both).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from socialops.rota.models import EscalationStep, Holiday, Person, Problem, Rotas


class _DepartmentLike(Protocol):
    @property
    def holidays(self) -> str | None: ...
    @property
    def escalation(self) -> list[EscalationStep]: ...


def reference_problems(
    *,
    departments: Mapping[str, _DepartmentLike],
    people: Sequence[Person],
    holidays: Mapping[str, Sequence[Holiday]],
    rotas: Rotas | None,
) -> list[Problem]:
    """Everything that names something that does not exist, each with its key path."""
    problems: list[Problem] = []
    by_handle = _people_problems(departments, people, problems)
    for dept_id, dept in departments.items():
        _department_problems(dept_id, dept, people, holidays, rotas, problems)
    if rotas is not None:
        _RotaCheck(departments, by_handle, problems).check(rotas)
    return problems


def _people_problems(
    departments: Mapping[str, _DepartmentLike], people: Sequence[Person], problems: list[Problem]
) -> dict[str, Person]:
    """Handles used twice and unknown departments; returns the people by handle."""
    by_handle: dict[str, Person] = {}
    for i, person in enumerate(people):
        if person.handle in by_handle:
            problems.append((("people", i, "handle"), "handle is used twice", person.handle))
        by_handle[person.handle] = person
        for j, name in enumerate(person.departments):
            if name not in departments:
                known = ", ".join(departments)
                problems.append(
                    (("people", i, "departments", j), f"unknown department ({known})", name)
                )
    return by_handle


def _department_problems(
    dept_id: str,
    dept: _DepartmentLike,
    people: Sequence[Person],
    holidays: Mapping[str, Sequence[Holiday]],
    rotas: Rotas | None,
    problems: list[Problem],
) -> None:
    """An unknown holiday calendar, and escalation steps to a role nobody holds."""
    if dept.holidays is not None and dept.holidays not in holidays:
        known = ", ".join(holidays) or "none configured"
        problems.append(
            (
                ("departments", dept_id, "holidays"),
                f"unknown holiday calendar (calendars: {known})",
                dept.holidays,
            )
        )
    if not people:
        return
    for k, step in enumerate(dept.escalation):
        loc = ("departments", dept_id, "escalation", k, "to")
        if step.to == "lead" and not any(
            dept_id in p.departments and "lead" in p.roles for p in people
        ):
            problems.append((loc, f"nobody in department {dept_id} has the role lead", step.to))
        if step.to == "duty_manager" and (rotas is None or rotas.duty_manager is None):
            problems.append((loc, "no duty managers: set rotas.duty_manager", step.to))


class _RotaCheck:
    """The rotas' references: people, departments, shared rotations, duty managers."""

    def __init__(
        self,
        departments: Mapping[str, _DepartmentLike],
        by_handle: Mapping[str, Person],
        problems: list[Problem],
    ) -> None:
        self.departments = departments
        self.by_handle = by_handle
        self.problems = problems

    def person_ref(self, loc: tuple[str | int, ...], handle: str, dept_id: str | None) -> None:
        person = self.by_handle.get(handle)
        if person is None:
            self.problems.append((loc, "unknown person: not in people", handle))
        elif dept_id is not None and dept_id not in person.departments:
            self.problems.append(
                (loc, f"not in department {dept_id} (add it to their departments)", handle)
            )

    def check(self, rotas: Rotas) -> None:
        covers: dict[str, list[str]] = {}  # a rotation's owner -> the departments it covers
        for dept_id, rota in rotas.departments.items():
            owner = rota.on_call.shared_with or dept_id
            covers.setdefault(owner, []).append(dept_id)
        for dept_id in rotas.departments:
            self.department_rota(rotas, dept_id, covers)
        missing = [d for d in self.departments if d not in rotas.departments]
        if missing:
            self.problems.append(
                (
                    ("rotas", "departments"),
                    f"no rota for {', '.join(missing)}: every department must be covered",
                    {},
                )
            )
        if rotas.duty_manager is not None:
            for i, handle in enumerate(rotas.duty_manager.people):
                loc = ("rotas", "duty_manager", "people", i)
                self.person_ref(loc, handle, None)
                if handle in self.by_handle and "lead" not in self.by_handle[handle].roles:
                    self.problems.append((loc, "a duty manager needs the role lead", handle))
        if rotas.operations is not None:
            for i, handle in enumerate(rotas.operations.people):
                self.person_ref(("rotas", "operations", "people", i), handle, None)

    def department_rota(self, rotas: Rotas, dept_id: str, covers: dict[str, list[str]]) -> None:
        rota = rotas.departments[dept_id]
        base: tuple[str | int, ...] = ("rotas", "departments", dept_id)
        if dept_id not in self.departments:
            self.problems.append((base, f"unknown department {dept_id}", {}))
            return
        for i, handle in enumerate(rota.business_hours):
            self.person_ref((*base, "business_hours", i), handle, dept_id)
        shared = rota.on_call.shared_with
        if shared is not None:
            other = rotas.departments.get(shared)
            if other is None or other.on_call.shared_with is not None:
                self.problems.append(
                    (
                        (*base, "on_call", "shared_with"),
                        "must name a department whose rota lists its own on-call people",
                        shared,
                    )
                )
            return
        for i, handle in enumerate(rota.on_call.people):
            loc = (*base, "on_call", "people", i)
            member = self.by_handle.get(handle)
            if member is None:
                self.person_ref(loc, handle, None)
            elif not set(member.departments) & set(covers[dept_id]):
                covered = ", ".join(covers[dept_id])
                self.problems.append(
                    (loc, f"in none of the departments this rotation covers ({covered})", handle)
                )


def raise_problems(title: str, problems: Sequence[Problem]) -> None:
    """Raise the problems as one pydantic ValidationError, each at its own key path."""
    if not problems:
        return
    errors = [
        InitErrorDetails(type=PydanticCustomError("reference", message), loc=loc, input=value)
        for loc, message, value in problems
    ]
    raise ValidationError.from_exception_data(title, errors)
