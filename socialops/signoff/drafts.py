"""Reply drafts for open assignments, planned posts, and how both are shown.

A mention gets at most one draft (unique per mention, so two drafting runs write one). Its
text comes from the department's templates (:mod:`.templates`); departments that answer
privately get the short "we'll contact you directly" note, and those set to ``replies: none``
get no draft. Spam and chit-chat (``none``) and withdrawn items never get one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialops import conversations, storage
from socialops.rota.schedule import RotaEngine
from socialops.routing import NO_ACTION, OPEN
from socialops.signoff import approvals as ap
from socialops.signoff.templates import LIMITS, ReplyTemplates, intent_of, text_length

if TYPE_CHECKING:
    from socialops.config import OrgConfig

DRAFTER = "socialops:draft"
VISIBILITY_ORDER = ("direct", "private", "unlisted", "public")


def reply_visibility(mention_visibility: str | None) -> str:
    """Never more visible than the mention: public and unlisted stay as they are; a
    followers-only or direct mention gets a direct reply (only the author sees it)."""
    if mention_visibility in ("public", "unlisted"):
        return mention_visibility
    if mention_visibility in ("private", "direct"):
        return "direct"
    return "public"


@dataclass
class DraftRun:
    """What one drafting pass did (and, in ``skipped``, what it left alone and why)."""

    drafted: int = 0
    no_reply: int = 0
    approved_without_sign_off: int = 0
    notified: int = 0
    expired: int = 0
    by_department: Counter[str] = field(default_factory=Counter)
    by_channel: Counter[str] = field(default_factory=Counter)
    by_language: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    pending_ids: list[int] = field(default_factory=list)  # new drafts waiting for approvals
    review_runs: str = ""  # what the review runs did (tasks/review.py), one line
    review_runs_changed: int = 0  # review runs started or cancelled

    @property
    def did_something(self) -> bool:
        """Whether the pass changed anything (a quiet minute publishes no artifact)."""
        return bool(self.drafted or self.expired or self.notified or self.review_runs_changed)


def _turn(a: Any, m: Any) -> Any:
    """Each item's place in its channel's line (urgent and the rest apart), earliest due first."""
    return func.row_number().over(partition_by=(m.channel, a.urgent), order_by=(a.due_at, a.id))


def draft_replies(
    *,
    session: Session,
    org: OrgConfig,
    engine: RotaEngine,
    templates: ReplyTemplates,
    now: datetime,
    limit: int = 500,
) -> DraftRun:
    """A draft for every open assignment that needs a public answer and has none yet."""
    now = now.astimezone(UTC)
    run = DraftRun()
    # Departments that never answer publicly are left out of the query (they would otherwise
    # come back every run and could crowd real work out of the limit), and counted apart.
    silent = [k for k, dept in org.departments.items() if dept.sign_off.replies == "none"]
    if silent:
        _count_silent(session, silent, run)
    rows = _undrafted(session, silent, limit)
    # Linked mentions of a conversation, as its department's replies_across_platforms says.
    targets = conversations.reply_rows(session=session, org=org, rows=rows, limit=limit)
    for assignment, mention, sentiment in targets:
        department = org.departments.get(assignment.department)  # type: ignore[call-overload]
        if department is None:
            run.skipped[f"{assignment.department}: not a department of the organisation file"] += 1
            continue
        values, template = _reply_values(
            org, templates, department, assignment, mention, sentiment, now
        )
        draft = _insert_draft(session, values, template)
        if draft is None:
            continue  # another drafting run wrote it first
        run.drafted += 1
        run.by_department[draft.department] += 1
        run.by_channel[draft.channel] += 1
        run.by_language[draft.lang] += 1
        if draft.approvals_required == 0:
            run.approved_without_sign_off += 1
        else:
            run.pending_ids.append(draft.id)
            run.notified += ap.notify_reviewers(
                session=session, org=org, engine=engine, draft=draft, now=now
            )
    return run


def _count_silent(session: Session, silent: Sequence[str], run: DraftRun) -> None:
    """Open, undrafted assignments of departments that answer privately or not at all."""
    a, d = storage.AssignmentRow, storage.DraftRow
    open_undrafted = (
        select(a.department, func.count())
        .join(d, d.mention_id == a.mention_id, isouter=True)
        .where(a.status == OPEN, a.department.in_(silent), d.id.is_(None))
        .group_by(a.department)
    )
    for dept_id, count in session.execute(open_undrafted).all():
        run.no_reply += int(count)
        run.skipped[f"{dept_id}: answers privately or not at all (replies: none)"] += int(count)


def _undrafted(session: Session, silent: Sequence[str], limit: int) -> list[Any]:
    """Open assignments that need a public answer and have no draft: (assignment, mention,
    sentiment) rows, at most ``limit``."""
    a, m, c, d = (
        storage.AssignmentRow,
        storage.MentionRow,
        storage.ClassificationRow,
        storage.DraftRow,
    )
    return list(
        session.execute(
            select(a, m, c.sentiment)
            .join(m, m.id == a.mention_id)
            .outerjoin(c, (c.mention_id == m.id) & c.is_current)
            .outerjoin(d, d.mention_id == m.id)
            .where(
                a.status == OPEN,
                a.department.not_in([NO_ACTION, *silent]),
                d.id.is_(None),
            )
            # Urgent first, then by due time, taking channels in turn: a flood on one channel
            # does not crowd the others out of a run's limit.
            .order_by(a.urgent.desc(), _turn(a, m), a.due_at, a.id)
            .limit(limit)
        ).all()
    )


def _reply_values(
    org: OrgConfig,
    templates: ReplyTemplates,
    department: Any,
    assignment: storage.AssignmentRow,
    mention: storage.MentionRow,
    sentiment: str | None,
    now: datetime,
) -> tuple[dict[str, Any], str]:
    """The draft row's values for a reply to ``mention``, and the template it came from."""
    mode = department.sign_off.replies
    intent = intent_of(urgent=assignment.urgent, sentiment=sentiment, private=mode == "private")
    rendered = templates.render(
        platform=mention.platform,
        department=assignment.department,
        intent=intent,
        lang=mention.lang,
        values={
            "author": mention.author_handle,
            "author_name": mention.author_display_name or "",
            "brand": org.organisation.name,
            "department": assignment.department,
            "department_name": department.name,
            "urgent": assignment.urgent,
            "lang": mention.lang or "en",
            "mention_text": mention.text,
        },
    )
    required = department.sign_off.required(urgent=assignment.urgent)
    values = {
        "kind": "reply",
        "mention_id": mention.id,
        "channel": mention.channel,
        "platform": mention.platform,
        "department": assignment.department,
        "urgent": assignment.urgent,
        "intent": intent,
        "lang": (mention.lang or "en")[:16],
        "text": rendered.text,
        "version": 1,
        "author": assignment.assignee,  # the draft is written in its assignee's name
        "assignee": assignment.assignee,
        "in_reply_to_id": mention.external_id,
        "visibility": reply_visibility(mention.visibility),
        "status": ap.APPROVED if required == 0 else ap.PENDING,
        "approvals_required": required,
        "due_at": assignment.due_at,
        "approved_at": now if required == 0 else None,
        "idempotency_key": ap.new_key(),
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }
    return values, rendered.template


def _insert_draft(
    session: Session, values: dict[str, Any], template: str
) -> storage.DraftRow | None:
    """Insert the draft unless its mention has one already (then None), and audit it."""
    table = storage.DraftRow.__table__
    inserted = session.execute(
        storage.dialect_insert(session, table)
        .values(values)
        .on_conflict_do_nothing(index_elements=["mention_id"])
        .returning(table.c.id)
    ).first()
    if inserted is None:
        return None
    draft = session.get(storage.DraftRow, int(inserted[0]))
    assert draft is not None
    ap.audit_draft(
        session,
        draft,
        actor=DRAFTER,
        action="draft",
        template=template,
        after=draft.text,
        assignee=draft.assignee,
    )
    return draft


def add_post(
    *,
    session: Session,
    org: OrgConfig,
    engine: RotaEngine,
    channel: str,
    at: datetime,
    text: str,
    who: str,
    department: str,
    now: datetime,
) -> storage.DraftRow:
    """A planned post: through the same sign-off, published at ``at`` and not before."""
    now = now.astimezone(UTC)
    at = at.astimezone(UTC)
    person = ap.resolve_person(org, who)
    chan = org.channel(channel)
    if department not in org.departments:
        raise ap.SignOffError(f"no department {department!r} (known: {', '.join(org.departments)})")
    if at <= now:
        raise ap.SignOffError(f"the planned time {at.isoformat()} is not in the future")
    text = text.strip()
    if not text:
        raise ap.SignOffError("the text is empty")
    limit = LIMITS.get(chan.platform, 500)
    if text_length(chan.platform, text) > limit:
        raise ap.SignOffError(
            f"the text is {text_length(chan.platform, text)} characters; "
            f"{chan.platform} allows {limit}"
        )
    sign_off = org.departments[department].sign_off  # type: ignore[index,unused-ignore]
    required = sign_off.required(urgent=False)
    draft = storage.DraftRow(
        kind="post",
        mention_id=None,
        channel=chan.name,
        platform=chan.platform,
        department=department,
        urgent=False,
        intent="post",
        lang="en",
        text=text,
        version=1,
        author=person.handle,
        assignee=person.handle,
        in_reply_to_id=None,
        visibility="public",
        status=ap.APPROVED if required == 0 else ap.PENDING,
        approvals_required=required,
        scheduled_at=at,
        due_at=at,
        approved_at=now if required == 0 else None,
        idempotency_key=ap.new_key(),
        attempts=0,
        created_at=now,
        updated_at=now,
    )
    session.add(draft)
    session.flush()
    ap.audit_draft(
        session,
        draft,
        actor=person.handle,
        action="plan_post",
        after=text,
        scheduled_at=at.isoformat(),
        channel=chan.name,
    )
    ap.notify_reviewers(session=session, org=org, engine=engine, draft=draft, now=now)
    return draft


# --------------------------------------------------------------------------------------------
# Views
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DraftView:
    """A draft as the CLI and the review flow show it."""

    id: int
    kind: str
    mention_id: int | None
    mention_external_id: str | None
    mention_author: str | None
    mention_text: str | None
    mention_url: str | None
    channel: str
    department: str
    urgent: bool
    intent: str
    text: str
    version: int
    author: str
    assignee: str | None
    status: str
    approvals: list[dict[str, Any]]
    approvals_required: int
    eligible_approvers: list[ap.Approver]
    policy: str
    scheduled_at: datetime | None
    published_url: str | None
    external_id: str | None
    reason: str | None
    order: str = "any"
    review_run_id: str | None = None
    waiting_for: list[str] = field(default_factory=list)  # the open steps, in order

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "mention_external_id": self.mention_external_id,
            "channel": self.channel,
            "department": self.department,
            "urgent": self.urgent,
            "draft_text": self.text,
            "version": self.version,
            "author": self.author,
            "assignee": self.assignee,
            "status": self.status,
            "approvals": self.approvals,
            "approvals_required": self.approvals_required,
            "eligible_approvers": [e.as_json() for e in self.eligible_approvers],
            "policy": self.policy,
            "scheduled_at": self.scheduled_at.isoformat() if self.scheduled_at else None,
            "published_url": self.published_url,
            "reason": self.reason,
            "order": self.order,
            "waiting_for": self.waiting_for,
            "review_run_id": self.review_run_id,
        }


def view(
    session: Session, org: OrgConfig, engine: RotaEngine, draft: storage.DraftRow, now: datetime
) -> DraftView:
    mention = session.get(storage.MentionRow, draft.mention_id) if draft.mention_id else None
    people = {p.handle: p.name for p in org.people}
    done = ap.approvals_of(session, draft)
    policy = ap.policy_for(org, draft)
    return DraftView(
        id=draft.id,
        kind=draft.kind,
        mention_id=draft.mention_id,
        mention_external_id=mention.external_id if mention else None,
        mention_author=mention.author_handle if mention else None,
        mention_text=mention.text if mention else None,
        mention_url=mention.url if mention else None,
        channel=draft.channel,
        department=draft.department,
        urgent=draft.urgent,
        intent=draft.intent,
        text=draft.text,
        version=draft.version,
        author=draft.author,
        assignee=draft.assignee,
        status=draft.status,
        approvals=[
            {
                "step": step,
                "who": a.approver,
                "name": people.get(a.approver, a.approver),
                "role": a.role,
                "when": a.at.isoformat(),
                "via": a.via,
            }
            for step, a in enumerate(done, start=1)
        ],
        approvals_required=policy.required,
        eligible_approvers=ap.eligible_approvers(session, org, engine, draft, now),
        policy=policy.describe(),
        scheduled_at=draft.scheduled_at,
        published_url=draft.external_url,
        external_id=draft.external_id,
        reason=draft.rejection_reason or draft.last_error,
        order=policy.sign_off.order,
        review_run_id=draft.review_run_id,
        waiting_for=[slot.label for slot in ap.open_slots(session, org, engine, draft)]
        if draft.status == ap.PENDING
        else [],
    )


def list_views(
    *,
    session: Session,
    org: OrgConfig,
    engine: RotaEngine,
    now: datetime,
    statuses: tuple[str, ...] | None = (ap.PENDING,),
    kind: str | None = None,
    mine: str | None = None,
    limit: int = 200,
) -> list[DraftView]:
    """Drafts, urgent and oldest first; ``mine``: only those the person may approve now."""
    d = storage.DraftRow
    stmt = select(d).order_by(d.urgent.desc(), d.created_at, d.id).limit(limit)
    if statuses:
        stmt = stmt.where(d.status.in_(statuses))
    if kind:
        stmt = stmt.where(d.kind == kind)
    views = [view(session, org, engine, row, now) for row in session.execute(stmt).scalars()]
    if mine is not None:
        views = [v for v in views if any(e.handle == mine for e in v.eligible_approvers)]
    return views
