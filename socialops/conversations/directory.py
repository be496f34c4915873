"""The person directory: accounts the organisation knows are one person (``socialops people``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialops import storage
from socialops.conversations.identity import parse_account
from socialops.conversations.tables import (
    ConversationError,
    DirectoryAccountRow,
    DirectoryPersonRow,
)


def directory_of(
    session: Session, accounts: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """The directory person of each account that has one."""
    wanted = set(accounts)
    if not wanted:
        return {}
    d = DirectoryAccountRow
    rows = session.execute(
        select(d.platform, d.handle, d.person_id).where(d.handle.in_({h for _p, h in wanted}))
    ).all()
    return {(p, h): int(person) for p, h, person in rows if (p, h) in wanted}


def whole_directory(session: Session) -> dict[tuple[str, str], int]:
    """The whole person directory, read once per session (people maintain it by hand: it is
    small, and a routing pass consults it for every new mention)."""
    cached: dict[tuple[str, str], int] | None = session.info.get("conversations.directory")
    if cached is None:
        d = DirectoryAccountRow
        rows = session.execute(select(d.platform, d.handle, d.person_id)).all()
        cached = {(p, h): int(person) for p, h, person in rows}
        session.info["conversations.directory"] = cached
    return cached


def accounts_by_person(session: Session) -> dict[int, list[tuple[str, str]]]:
    """:func:`whole_directory` turned round: each person's accounts (read once per session)."""
    cached: dict[int, list[tuple[str, str]]] | None = session.info.get(
        "conversations.directory.people"
    )
    if cached is None:
        cached = {}
        for account, person in sorted(whole_directory(session).items()):
            cached.setdefault(person, []).append(account)
        session.info["conversations.directory.people"] = cached
    return cached


def link_people(
    *, session: Session, accounts: Sequence[str], actor: str, label: str | None, now: datetime
) -> int:
    """Record that the accounts (``platform:handle``) are one person; audited. Accounts
    already in the directory must all belong to the same person (unlink one first)."""
    parsed = [parse_account(text) for text in accounts]
    if len(set(parsed)) < 2:
        raise ConversationError("name at least two different accounts")
    known = directory_of(session, parsed)
    people = sorted(set(known.values()))
    if len(people) > 1:
        raise ConversationError(
            "these accounts already belong to different people ("
            + ", ".join(f"{p}:{h} -> {known[(p, h)]}" for p, h in parsed if (p, h) in known)
            + "); unlink one with `socialops people unlink` first"
        )
    now = now.astimezone(UTC)
    if people:
        person_id = people[0]
    else:
        person = DirectoryPersonRow(
            label=label or f"{parsed[0][0]}:{parsed[0][1]}", created_by=actor, created_at=now
        )
        session.add(person)
        session.flush()
        person_id = person.id
    table = DirectoryAccountRow.__table__
    added = []
    for platform, handle in parsed:
        row = session.execute(
            storage.dialect_insert(session, table)
            .values(
                person_id=person_id, platform=platform, handle=handle, added_by=actor, added_at=now
            )
            .on_conflict_do_nothing(index_elements=["platform", "handle"])
            .returning(table.c.id)
        ).first()
        if row is not None:
            added.append(f"{platform}:{handle}")
    storage.audit(
        session=session,
        actor=actor,
        action="people-link",
        subject_type="directory_person",
        subject_id=str(person_id),
        details={"accounts": [f"{p}:{h}" for p, h in parsed], "added": added},
    )
    return person_id


def unlink_person_account(*, session: Session, account: str, actor: str) -> int:
    """Take one account out of the directory (audited); returns the person it belonged to."""
    platform, handle = parse_account(account)
    d = DirectoryAccountRow
    row = session.execute(
        select(d).where(d.platform == platform, d.handle == handle)
    ).scalar_one_or_none()
    if row is None:
        raise ConversationError(f"{platform}:{handle} is not in the person directory")
    person_id = row.person_id
    session.delete(row)
    storage.audit(
        session=session,
        actor=actor,
        action="people-unlink",
        subject_type="directory_person",
        subject_id=str(person_id),
        details={"account": f"{platform}:{handle}"},
    )
    return person_id


@dataclass(frozen=True)
class PersonView:
    id: int
    label: str
    accounts: list[str]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "accounts": self.accounts}


def people(*, session: Session) -> list[PersonView]:
    p, d = DirectoryPersonRow, DirectoryAccountRow
    accounts: dict[int, list[str]] = {}
    for row in session.execute(select(d).order_by(d.platform, d.handle)).scalars():
        accounts.setdefault(row.person_id, []).append(f"{row.platform}:{row.handle}")
    return [
        PersonView(id=row.id, label=row.label, accounts=accounts.get(row.id, []))
        for row in session.execute(select(p).order_by(p.id)).scalars()
        if accounts.get(row.id)
    ]
