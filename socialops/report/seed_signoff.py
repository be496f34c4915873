"""The seed's sign-off history: reply drafts with their approvals and publication, and the
departments' planned posts of the week (``socialops seed``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np

from socialops.report.seed_draw import Shape, micros
from socialops.report.seed_rows import BatchRows, Columns, Stamper, or_none

REPLY = "Thanks for telling us: we are on it."
REJECTED = "tone: please apologise first"
REFUSED = "platform refused the reply (422)"
POST_REFUSED = "platform refused the post (422)"
DRAFT_COLUMNS = (
    "id", "kind", "mention_id", "channel", "platform", "department", "urgent", "intent", "lang",
    "text", "version", "author", "assignee", "in_reply_to_id", "visibility", "status",
    "approvals_required", "scheduled_at", "due_at", "approved_at", "rejection_reason",
    "idempotency_key", "attempts", "published_at", "external_id", "external_url", "last_error",
    "created_at", "updated_at",
)  # fmt: skip
APPROVAL_COLUMNS = ("draft_id", "version", "approver", "role", "via", "at")
AUDIT_COLUMNS = ("at", "actor", "action", "subject_type", "subject_id", "details")
# The actors of the sign-off stage's own steps (socialops.signoff: drafts, approvals, publishing).
DRAFTER, SYSTEM, PUBLISHER = "socialops:draft", "socialops:signoff", "socialops:publish"
Rows = list[tuple[Any, ...]]
POST_OWNERS = ["marketing"] * 6 + ["public_relations"] * 2 + ["hr", "customer_relations"]


def _status(decided: np.ndarray, outcome: np.ndarray) -> np.ndarray:
    """pending until decided; then 3% rejected, 2% refused by the platform, else published."""
    return np.select(
        [~decided, outcome < 0.03, outcome < 0.05], ["pending", "rejected", "failed"], "published"
    )


def _approvers(
    shape: Shape, dept: list[str], writer: list[str], turn: np.ndarray, count: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """Up to ``count[j]`` approvals of draft ``j``, taking turns (from ``turn[j]``) through the
    department's approvers other than its writer: each approval's draft, turn, handle, role."""
    keys: dict[tuple[str, str], int] = {}
    key = np.array([keys.setdefault(k, len(keys)) for k in zip(dept, writer, strict=True)])
    pools = [shape.approvers.pool_without(d, w) for d, w in keys] or [[("", "")]]
    size = np.array([len(p) for p in pools])
    wide = range(int(size.max()))
    handles = np.array([[p[k % len(p)][0] for k in wide] for p in pools], dtype=object)
    roles = np.array([[p[k % len(p)][1] for k in wide] for p in pools], dtype=object)
    count = np.minimum(count, size[key]) if len(key) else count
    draft = np.repeat(np.arange(len(count)), count)
    step = turn[draft] + np.arange(len(draft)) - np.repeat(np.cumsum(count) - count, count)
    place = step % size[key[draft]]
    pick = key[draft], place
    return draft, step, handles[pick].tolist(), roles[pick].tolist()


def _details(status: str, **more: str) -> str:
    """An audit step's details as the sign-off stage writes them (version 1, the status the
    step left the draft in, and what else it says), JSON text."""
    extra = "".join(f', "{k}": "{v}"' for k, v in more.items())
    return f'{{"version": 1, "status": "{status}"{extra}}}'


def _audit(at: list[Any], actor: Any, action: str, subject: list[str], details: Any) -> Columns:
    return {
        "at": at,
        "actor": actor,
        "action": action,
        "subject_type": "draft",
        "subject_id": subject,
        "details": details,
    }


def _reply_audit(
    names: np.ndarray,
    status: np.ndarray,
    required: np.ndarray,
    stamps: tuple[np.ndarray, np.ndarray, np.ndarray],
    decided: tuple[np.ndarray, list[str], list[str], list[str]],
    rejecters: tuple[np.ndarray, list[str]],
) -> list[Columns]:
    """The audit trail of the reply drafts, step by step as the sign-off stage records it:
    drafted (pending, or approved when the policy needs nobody), each approval (the last one
    leaves it approved), a rejection, the publication or the platform's refusal."""
    written, approved_s, published = stamps
    draft, handles, roles, vias = decided
    n = len(names)
    steps = [
        _audit(
            written.tolist(),
            DRAFTER,
            "draft",
            names.tolist(),
            np.where(required == 0, _details("approved"), _details("pending")).tolist(),
        )
    ]
    if len(draft):
        count = np.bincount(draft, minlength=n)
        rank = np.arange(len(draft)) - np.repeat(np.cumsum(count) - count, count)
        last = rank == count[draft] - 1
        each = [
            _details("approved" if done else "pending", via=via, counted_as=role)
            for done, via, role in zip(last.tolist(), vias, roles, strict=True)
        ]
        steps.append(
            _audit(approved_s[draft].tolist(), handles, "approve", names[draft].tolist(), each)
        )
    k, who = rejecters
    if len(k):
        steps.append(
            _audit(
                approved_s[k].tolist(),
                who,
                "reject",
                names[k].tolist(),
                _details("rejected", before="pending", reason=REJECTED),
            )
        )
    for state, action, more in (
        ("published", "publish", {}),
        ("failed", "publish_failed", {"error": REFUSED}),
    ):
        k = np.nonzero(status == state)[0]
        if len(k):
            one = _details(state, **more)
            steps.append(_audit(published[k].tolist(), PUBLISHER, action, names[k].tolist(), one))
    return steps


def reply_draws(rows: BatchRows, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Which owned items get a reply draft (their places among the owned items), and each
    draft's publication lag (µs after its approval): drawn whether or not the drafts are
    made, so what is drawn next does not depend on it."""
    r = np.nonzero(rows.b.replied[rows.owned.at] & ~rows.owned.waiting)[0]
    return r, rng.integers(2_000_000, 20_000_000, len(r))


def replies(
    rows: BatchRows, r: np.ndarray, lag: np.ndarray
) -> tuple[Columns, Columns, list[Columns]]:
    """Reply drafts to the items acted on that got one (``reply_draws``), their approvals and
    publication, and the audit trail of those steps (from which the weekly report counts
    requests, turnaround and failures)."""
    b, o, shape, words = rows.b, rows.owned, rows.shape, rows.words
    at = o.at[r]  # among the batch's mentions
    dids = np.arange(rows.d_id, rows.d_id + len(r))
    approved = b.approved[at]
    published = rows.stamp(approved + lag)
    approved_s, written = rows.stamp(approved), o.acted[r]
    status = _status(approved < shape.now_us, b.outcome[at])
    sent, out = (status == "published") | (status == "failed"), status == "published"
    dept, owner, urgent = o.dept[r], o.owner[r].tolist(), b.urgent[at].astype(np.int64)
    mids, names = b.ids[at].tolist(), dids.astype(str)
    required = words.required[dept, urgent]
    drafts = {
        "id": dids.tolist(), "kind": "reply", "mention_id": mids,
        "channel": words.channels[b.channel[at]].tolist(), "platform": "mastodon",
        "department": words.departments[dept].tolist(), "urgent": urgent.astype(bool).tolist(),
        "intent": words.intents[urgent, b.sentiment[at]].tolist(), "lang": "en", "text": REPLY,
        "version": 1, "author": owner, "assignee": owner,
        "in_reply_to_id": [f"seed-{m:012d}" for m in mids], "visibility": "public",
        "status": status.tolist(), "approvals_required": required.tolist(),
        "scheduled_at": None, "due_at": o.due[r].tolist(),
        "approved_at": or_none(sent, approved_s),
        "rejection_reason": or_none(status == "rejected", np.full(len(r), REJECTED)),
        "idempotency_key": [f"seed-draft-{d:012d}" for d in dids.tolist()],
        "attempts": sent.astype(np.int64).tolist(), "published_at": or_none(out, published),
        "external_id": or_none(out, np.char.add("seed-reply-", names)),
        "external_url": or_none(out, np.char.add("https://social.example/@northwind/", names)),
        "last_error": or_none(status == "failed", np.full(len(r), REFUSED)),
        "created_at": written.tolist(), "updated_at": np.where(sent, published, written).tolist(),
    }  # fmt: skip
    departments = words.departments[dept].tolist()
    draft, step, handles, roles = _approvers(
        shape, departments, owner, at, np.where(sent, required, 0)
    )
    vias = np.where(step % 3, "ui", "cli").tolist()
    approvals = {
        "draft_id": dids[draft].tolist(),
        "version": 1,
        "approver": handles,
        "role": roles,
        "via": vias,
        "at": approved_s[draft].tolist(),
    }
    rejected, _, rejecters, _ = _approvers(
        shape, departments, owner, at, (status == "rejected").astype(np.int64)
    )
    audit = _reply_audit(
        names,
        status,
        required,
        (written, approved_s, published),
        (draft, handles, roles, vias),
        (rejected, rejecters),
    )
    return drafts, approvals, audit


def planned_posts(
    *, rng: np.random.Generator, shape: Shape, count: int, first_id: int
) -> tuple[Columns, Columns, Columns]:
    """The departments' planned posts of the week: scheduled in working hours, written and
    approved a day or two before; published, failed, or still waiting for their time."""
    week = shape.week
    days = rng.integers(0, 7, count)
    minutes = rng.integers(9 * 60, 18 * 60, count)
    scheduled = np.array(  # wall-clock minutes after the local midnight
        [
            micros(week.local_midnight(week.days()[d]) + timedelta(minutes=m))
            for d, m in zip(days.tolist(), minutes.tolist(), strict=True)
        ],
        dtype=np.int64,
    )
    written = scheduled - rng.integers(3_600_000_000, 3 * 86_400_000_000, count)
    approved = written + (rng.lognormal(np.log(40 * 60), 0.9, count) * 1e6).astype(np.int64)
    outcome = rng.random(count)
    stamp = Stamper(shape.dialect)
    sched_s, written_s, approved_s = (stamp(x).tolist() for x in (scheduled, written, approved))
    published_s = stamp(scheduled + rng.integers(1_000_000, 30_000_000, count)).tolist()
    posts: Rows = []
    approvals: Rows = []
    audit: Rows = []
    for k in range(count):
        department = POST_OWNERS[k % len(POST_OWNERS)]
        pool = shape.approvers.pools[department]
        author = pool[k % len(pool)][0]
        status = _post_status(scheduled[k], approved[k], outcome[k], shape.now_us)
        did = first_id + k
        was_approved = status in ("approved", "published", "failed")
        sent, out = status in ("published", "failed"), status == "published"
        required = shape.approvers.required[(department, False)]
        posts.append(
            (
                did, "post", None, shape.channels[k % len(shape.channels)], "mastodon",
                department, False, "post", "en", f"Planned post {k + 1} of the week", 1, author,
                None, None, "public", status, required, sched_s[k], None,
                approved_s[k] if was_approved else None, None, f"seed-post-{did:012d}",
                1 if sent else 0, published_s[k] if out else None,
                f"seed-post-{did}" if out else None,
                f"https://social.example/@northwind/p{did}" if out else None,
                POST_REFUSED if status == "failed" else None,
                written_s[k], published_s[k] if out else written_s[k],
            )
        )  # fmt: skip
        others = shape.approvers.pool_without(department, author) if was_approved else []
        stamps = (written_s[k], approved_s[k], sched_s[k], published_s[k])
        steps, post_audit = _post_steps(
            did, author, status, min(required, len(others)), others, stamps
        )
        approvals += steps
        audit += post_audit
    return (
        _named(DRAFT_COLUMNS, posts),
        _named(APPROVAL_COLUMNS, approvals),
        _named(AUDIT_COLUMNS, audit),
    )


def _post_steps(
    did: int,
    author: str,
    status: str,
    approvers: int,
    others: list[tuple[str, str]],
    stamps: tuple[str, str, str, str],
) -> tuple[Rows, Rows]:
    """A planned post's approvals (by the first ``approvers`` of ``others``) and its audit
    steps: planned, each approval (the last leaves it approved), its expiry, its publication
    or the platform's refusal. ``stamps``: written, approved, scheduled, published."""
    written, approved, scheduled, published = stamps
    subject = str(did)
    approvals: Rows = []
    audit: Rows = [(written, author, "plan_post", "draft", subject, _details("pending"))]
    for j in range(approvers):
        handle, role = others[j % len(others)]
        approvals.append((did, 1, handle, role, "ui", approved))
        details = _details(
            "approved" if j == approvers - 1 else "pending", via="ui", counted_as=role
        )
        audit.append((approved, handle, "approve", "draft", subject, details))
    if status == "expired":
        details = _details("expired", before="pending")
        audit.append((scheduled, SYSTEM, "expire", "draft", subject, details))
    elif status in ("published", "failed"):
        out = status == "published"
        action, more = ("publish", {}) if out else ("publish_failed", {"error": POST_REFUSED})
        audit.append((published, PUBLISHER, action, "draft", subject, _details(status, **more)))
    return approvals, audit


def _named(names: tuple[str, ...], rows: Rows) -> Columns:
    """Rows as named columns."""
    columns = list(zip(*rows, strict=True)) or [()] * len(names)
    return {name: list(values) for name, values in zip(names, columns, strict=True)}


def _post_status(scheduled: int, approved: int, outcome: float, now: int) -> str:
    if approved > scheduled and scheduled < now:
        return "expired"  # approved too late
    if approved >= now:
        return "pending"
    if scheduled >= now:
        return "approved"
    return "failed" if outcome < 0.03 else "published"
