"""Sign-off notices go through the notification layer: the organisation's templates, quiet
hours as for assignments (urgent at once), and held ones skipped when no longer needed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from socialops import storage
from socialops.config import OrgConfig
from socialops.db import session_scope
from socialops.rota.schedule import engine_for
from socialops.settings import get_settings
from socialops.signoff import approvals, notices
from tests.signoff.fixtures import T_DAY, T_NIGHT, add_assigned, draft_all, northwind


def _org_with_templates() -> OrgConfig:
    data = northwind().model_dump()
    data["notifications"]["templates"] = {
        "review": {
            "title": "Sign-off please: {what} #{draft_id} ({department_name}, {urgency})",
            "body": "Hi {recipient_name}: {needs}. Text: {draft_text}",
        },
        "rejected": {
            "title": "{by} bounced #{draft_id}",
            "body": "{recipient_name}, because: {reason}",
        },
    }
    return OrgConfig.model_validate(data)


def _notes(session, event: str) -> list[storage.NotificationRow]:  # type: ignore[no-untyped-def]
    n = storage.NotificationRow
    return list(session.execute(select(n).where(n.event == event).order_by(n.id)).scalars())


def test_review_and_rejection_use_the_organisations_templates(socialops_env: Path) -> None:
    org = _org_with_templates()
    engine = engine_for(org)
    with session_scope(get_settings().resolved_database_url()) as session:
        add_assigned(
            session, external_id="501", department="customer_relations", assignee="amelia.hart"
        )
        run = draft_all(session, org, now=T_DAY)
        assert run.drafted == 1 and run.notified >= 1
        reviews = _notes(session, "review")
        draft = session.execute(select(storage.DraftRow)).scalar_one()
        eligible = approvals.eligible_approvers(session, org, engine, draft, T_DAY)
        assert {n.recipient for n in reviews} == {e.handle for e in eligible}
        first = reviews[0]
        person = next(p for p in org.people if p.handle == first.recipient)
        assert first.title == f"Sign-off please: reply #{draft.id} (Customer relations, normal)"
        assert first.body.startswith(f"Hi {person.name}: 1 approval from customer_relations")
        assert "Text: @ann@social.example" in first.body
        assert first.deferred_until is None  # open: at once

        approvals.reject(
            session=session,
            org=org,
            engine=engine,
            draft_id=draft.id,
            who=eligible[0].handle,
            reason="Too\x1b[31m curt",
            now=T_DAY,
        )
        [rejected] = _notes(session, "rejected")
        assert rejected.recipient == "amelia.hart"
        assert rejected.title == f"{eligible[0].name} bounced #{draft.id}"
        assert rejected.body == "Amelia Hart, because: Too\u241b[31m curt"  # ESC neutralised


def test_default_templates_and_quiet_hours_then_stale_ones_are_skipped(
    socialops_env: Path,
) -> None:
    org = northwind()
    engine = engine_for(org)
    duty = engine.on_duty("customer_relations", T_NIGHT)
    assignee = duty.primary or "amelia.hart"
    with session_scope(get_settings().resolved_database_url()) as session:
        add_assigned(
            session,
            external_id="601",
            department="customer_relations",
            assignee=assignee,
            at=T_NIGHT,
            due_in=timedelta(hours=12),
        )
        add_assigned(
            session,
            external_id="602",
            department="customer_relations",
            assignee=assignee,
            at=T_NIGHT,
            urgent=True,
        )
        draft_all(session, org, now=T_NIGHT)
        reviews = _notes(session, "review")
        normal = [n for n in reviews if not n.urgent]
        urgent = [n for n in reviews if n.urgent]
        assert normal and urgent
        assert all(n.deferred_until is None for n in urgent)
        assert all(n.deferred_until is not None and n.deferred_until > T_NIGHT for n in normal)
        assert "waits for your approval (urgent)" in urgent[0].title
        assert "socialops approvals approve" in urgent[0].body

        # The normal draft is approved at night by someone on call: its held notices no longer
        # apply when the department opens; the urgent ones (already due) are not touched.
        draft = session.execute(
            select(storage.DraftRow).where(storage.DraftRow.urgent.is_(False))
        ).scalar_one()
        approvals.approve_as_eligible(
            session=session, org=org, engine=engine, draft_id=draft.id, now=T_NIGHT
        )
        opens = max(n.deferred_until for n in normal if n.deferred_until)
        assert notices.skip_stale(session=session, now=opens) == len(normal)
        session.expire_all()
        assert {n.status for n in _notes(session, "review") if not n.urgent} == {"skipped"}
        assert all(
            n.skip_reason == f"draft {draft.id} is approved: no approval needed any more"
            for n in _notes(session, "review")
            if not n.urgent
        )
        assert notices.skip_stale(session=session, now=opens) == 0
