"""Helpers for the sign-off tests: the default organisation pointed at a sandbox, routed
mentions written straight to the database (standing in for ingest, classify and route)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialops import storage
from socialops.config import OrgConfig, load_config
from socialops.rota.schedule import RotaEngine, engine_for
from socialops.settings import DEFAULT_CONFIG
from socialops.signoff import drafts
from socialops.signoff.templates import ReplyTemplates, templates_folder

# A Wednesday in December, 11:00 in London (= UTC): every department is open.
T_DAY = datetime(2026, 12, 2, 11, 0, tzinfo=UTC)
# The same night at 3 a.m.: everything closed, on-call rotas cover.
T_NIGHT = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)


def northwind(base_url: str | None = None) -> OrgConfig:
    org = load_config(DEFAULT_CONFIG)
    if base_url is None:
        return org
    data = org.model_dump()
    data["channels"] = [
        {
            "name": "mastodon-main",
            "platform": "mastodon",
            "base_url": base_url,
            "token_env": "SOCIALOPS_MASTODON_TOKEN",
        }
    ]
    return OrgConfig.model_validate(data)


def add_assigned(
    session: Session,
    *,
    external_id: str,
    department: str,
    assignee: str,
    at: datetime = T_DAY,
    urgent: bool = False,
    sentiment: str = "neutral",
    author: str = "ann@social.example",
    lang: str = "en",
    visibility: str = "public",
    text: str = "hello @northwind",
    status: str = "open",
    due_in: timedelta = timedelta(hours=4),
) -> int:
    """A stored, classified mention with an open assignment; returns the mention id."""
    mention = storage.MentionRow(
        platform="mastodon",
        external_id=external_id,
        channel="mastodon-main",
        url=f"https://social.example/@ann/{external_id}",
        author_handle=author,
        author_display_name="Ann",
        text=text,
        lang=lang,
        created_at=at,
        fetched_at=at,
        visibility=visibility,
        raw={"id": external_id},
    )
    session.add(mention)
    session.flush()
    session.add(
        storage.ClassificationRow(
            mention_id=mention.id,
            department=department,
            urgent=urgent,
            sentiment=sentiment,
            confidence=0.9,
            explanation={"test": True},
            model_version="test",
            classified_at=at,
            is_current=True,
        )
    )
    session.add(
        storage.AssignmentRow(
            mention_id=mention.id,
            department=department,
            assignee=assignee,
            urgent=urgent,
            source="rota",
            status=status,
            escalation_level=0,
            received_at=at,
            assigned_at=at,
            due_at=at + due_in,
            updated_at=at,
        )
    )
    session.flush()
    return mention.id


def draft_all(
    session: Session,
    org: OrgConfig,
    *,
    now: datetime,
    engine: RotaEngine | None = None,
    config: Path = DEFAULT_CONFIG,
    limit: int = 500,
) -> drafts.DraftRun:
    """Run the drafting step over every open assignment, with the templates of ``config``'s
    folder (the default organisation's unless told) and the organisation's rota engine."""
    return drafts.draft_replies(
        session=session,
        org=org,
        engine=engine or engine_for(org),
        templates=ReplyTemplates(templates_folder(config)),
        now=now,
        limit=limit,
    )


def snapshot(session: Session) -> dict[str, Any]:
    """Everything a refused action must leave as it was."""
    drafts = session.execute(select(storage.DraftRow).order_by(storage.DraftRow.id)).scalars()
    return {
        "drafts": [
            {c.name: getattr(d, c.name) for c in storage.DraftRow.__table__.columns} for d in drafts
        ],
        "approvals": session.execute(
            select(func.count()).select_from(storage.DraftApprovalRow)
        ).scalar_one(),
        "audit": session.execute(select(func.count()).select_from(storage.AuditRow)).scalar_one(),
        "notifications": session.execute(
            select(func.count()).select_from(storage.NotificationRow)
        ).scalar_one(),
    }
