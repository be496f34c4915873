"""The seed's rows, built from one drawn batch (``seed_draw.Batch``) a column at a time.

Each table's rows are whole named columns (Python lists made from numpy arrays with
``tolist``, or one value for every row), never a Python call per row: instants are
formatted by ``Stamper`` with integer arithmetic on numpy arrays, texts and handles come from
tables built once, the sign-off's approvers from a table per (department, writer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from socialops.report.seed_draw import AUTHORS, SENTIMENTS, Batch, Shape
from socialops.signoff.templates import intent_of

# One table's rows as named columns: a list (a value per row) or one value for every row.
Columns = dict[str, Any]
TEXTS: dict[str, tuple[str, ...]] = {
    "customer_relations": (
        "My order #{n} never arrived and nobody answers the phone",
        "The app charged me twice for a flat white, please refund",
        "Rewards points disappeared from my Northwind account",
        "Store on King Street closed early again, third time this month",
        "Is the oat milk latte safe for a nut allergy?",
    ),
    "marketing": (
        "Loving the new autumn menu at Northwind Coffee!",
        "The pumpkin spice cold brew is back, best day ever",
        "Would love a collab with local bakeries, just saying",
        "Your latest ad made me smile, great campaign",
    ),
    "public_relations": (
        "Journalist here: can Northwind comment on the sourcing report?",
        "This thread about Northwind's farm wages is going viral",
    ),
    "hr": (
        "Are you hiring baristas in Leeds?",
        "Former employee: the rota changes at my store were chaotic",
    ),
    "legal": (
        "Someone sells counterfeit Northwind beans on a marketplace",
        "I want all my personal data deleted under GDPR",
    ),
    "triage": ("Not sure who to ask: question about Northwind", "hmm northwind?"),
    "none": ("lol coffee", "Follow me for crypto tips", "good morning world"),
}
WEEK_SHIFT = 3 * 86400  # report_facts.week: UTC weeks from Monday 1969-12-29
DAY_US = 86_400_000_000
EPOCH = date(1970, 1, 1)


class Stamper:
    """UTC instants (µs since the epoch) as the text each database reads as its own:
    SQLAlchemy's naive UTC on SQLite (``2026-11-16 09:30:00.000000``), ISO 8601 with the
    offset on PostgreSQL. Digits are computed for the whole column at once into a numpy
    array of characters; a column is a numpy string array (``tolist`` gives ``str``)."""

    def __init__(self, dialect: str) -> None:
        sqlite = dialect == "sqlite"
        self.sep, self.suffix = (" ", "") if sqlite else ("T", "+00:00")
        self.width = 26 + len(self.suffix)

    def __call__(self, at: np.ndarray) -> np.ndarray:
        n = len(at)
        if not n:
            return np.empty(0, dtype=f"<U{self.width}")
        days, rest = np.divmod(at, DAY_US)
        first = int(days.min())
        prefixes = [
            (EPOCH + timedelta(days=first + d)).isoformat() + self.sep
            for d in range(int(days.max()) - first + 1)
        ]
        chars = np.empty((n, self.width), dtype=np.uint32)
        chars[:, :11] = (
            np.array(prefixes, dtype="<U11").view(np.uint32).reshape(-1, 11)[days - first]
        )
        seconds, fraction = np.divmod(rest, 1_000_000)
        hours, seconds = np.divmod(seconds, 3600)
        minutes, seconds = np.divmod(seconds, 60)
        zero = ord("0")
        for col, value in ((11, hours), (14, minutes), (17, seconds)):
            chars[:, col] = value // 10 + zero
            chars[:, col + 1] = value % 10 + zero
        chars[:, 13] = chars[:, 16] = ord(":")
        chars[:, 19] = ord(".")
        for col in range(25, 19, -1):
            fraction, digit = np.divmod(fraction, 10)
            chars[:, col] = digit + zero
        for col, char in enumerate(self.suffix, start=26):
            chars[:, col] = ord(char)
        return chars.view(f"<U{self.width}").ravel()


def or_none(mask: np.ndarray, values: np.ndarray) -> list[Any]:
    """``values`` where ``mask``, else ``None``."""
    out = values.astype(object)
    out[~mask] = None
    return out.tolist()  # type: ignore[no-any-return]


def spread(n: int, at: np.ndarray, values: np.ndarray) -> list[Any]:
    """A column of ``n`` values: ``values`` at the positions ``at``, ``None`` elsewhere."""
    out = np.full(n, None, dtype=object)
    out[at] = values
    return out.tolist()


@dataclass(frozen=True)
class Words:
    """Names and texts as tables, built once for the whole seed and indexed by the draws."""

    channels: np.ndarray
    departments: np.ndarray
    sentiments: np.ndarray
    handles: np.ndarray  # per author
    names: np.ndarray
    texts: np.ndarray  # (department, text draw)
    intents: np.ndarray  # (urgent, sentiment)
    required: np.ndarray  # (department, urgent): approvals a reply needs

    @classmethod
    def of(cls, shape: Shape) -> Words:
        departments = shape.departments
        texts = [
            [TEXTS[d][k % len(TEXTS[d])].replace("{n}", str(10_000 + k)) for k in range(1000)]
            for d in departments
        ]
        return cls(
            channels=np.array(shape.channels, dtype=object),
            departments=np.array(departments, dtype=object),
            sentiments=np.array(SENTIMENTS, dtype=object),
            handles=np.array([f"u{u}@social.example" for u in range(AUTHORS)], dtype=object),
            names=np.array([f"User {u}" for u in range(AUTHORS)], dtype=object),
            texts=np.array(texts, dtype=object),
            intents=np.array(
                [
                    [intent_of(urgent=u, sentiment=s, private=False) for s in SENTIMENTS]
                    for u in (False, True)
                ],
                dtype=object,
            ),
            required=np.array(
                [[shape.approvers.required[(d, u)] for u in (False, True)] for d in departments]
            ),
        )


class BatchRows:
    """Every table's rows for one batch; ``c_id``, ``a_id``, ``d_id``: the first ids of its
    classifications, assignments and drafts."""

    def __init__(
        self, b: Batch, shape: Shape, words: Words, *, c_id: int, a_id: int, d_id: int
    ) -> None:
        self.b, self.shape, self.words = b, shape, words
        self.c_id, self.a_id, self.d_id = c_id, a_id, d_id
        self.stamp = Stamper(shape.dialect)
        self.ids = b.ids.tolist()
        self.channel = words.channels[b.channel].tolist()
        self.department = words.departments[b.dept].tolist()
        self.sentiment = words.sentiments[b.sentiment].tolist()
        self.urgent = b.urgent.tolist()
        self.followers = b.followers.tolist()
        self.owned = _Owned(b, shape, self.stamp, a_id)

    def mentions(self) -> Columns:
        b, stamp, ids = self.b, self.stamp, self.ids
        authors = b.author.tolist()
        return {
            "id": ids,
            "platform": "mastodon",
            "external_id": [f"seed-{i:012d}" for i in ids],  # zero-padded: grows at its end
            "channel": self.channel,
            "url": [f"https://social.example/@u{u}/{i}" for u, i in zip(authors, ids, strict=True)],
            "author_handle": self.words.handles[b.author].tolist(),
            "author_display_name": self.words.names[b.author].tolist(),
            "author_followers": self.followers,
            "text": self.words.texts[b.dept, b.text].tolist(),
            "lang": "en",
            "created_at": stamp(b.created).tolist(),
            "fetched_at": stamp(b.fetched).tolist(),
            "visibility": "public",
            "raw": "{}",
        }

    def classifications(self) -> Columns:
        return {
            "id": list(range(self.c_id, self.c_id + self.b.n)),
            "mention_id": self.ids,
            "department": self.department,
            "urgent": self.urgent,
            "sentiment": self.sentiment,
            "confidence": 0.8,
            "explanation": '{"seeded": true}',
            "model_version": "seed",
            "classified_at": self.stamp(self.b.fetched + 2_000_000).tolist(),
            "is_current": True,
        }

    def facts(self) -> Columns:
        """Report facts: every mention; the assignment's columns where there is one."""
        b, o = self.b, self.owned
        n, at = b.n, o.at
        done = b.owned & b.is_acted
        created = b.created // 1_000_000
        return {
            "mention_id": self.ids,
            "created_ts": created.tolist(),
            "hour": (created // 3600).tolist(),
            "week": ((created + WEEK_SHIFT) // 604800).tolist(),
            "channel": self.channel,
            "followers": self.followers,
            "department": self.department,
            "urgent": self.urgent,
            "sentiment": self.sentiment,
            "a_department": spread(n, at, self.words.departments[o.dept]),
            "a_urgent": spread(n, at, b.urgent[at]),
            "assignee": spread(n, at, o.owner),
            "a_status": spread(n, at, o.status),
            "due_us": spread(n, at, b.due[at]),
            "sla": or_none(done, np.where(b.late, "breached", "met")),
            "response_seconds": or_none(done, b.response),
            "response_minute": or_none(done, b.response // 60),
        }

    def assignments(self) -> Columns:
        b, o = self.b, self.owned
        at, done, waiting = o.at, o.done, o.waiting
        return {
            "id": o.ids.tolist(),
            "mention_id": b.ids[at].tolist(),
            "classification_id": (self.c_id + at).tolist(),
            "department": self.words.departments[o.dept].tolist(),
            "assignee": o.owner.tolist(),
            "urgent": b.urgent[at].tolist(),
            "source": np.where(o.queued, "queue", "rota").tolist(),
            "status": o.status.tolist(),
            "escalation_level": np.where(b.late[at], np.where(b.very_late[at], 2, 1), 0).tolist(),
            "received_at": o.fetched.tolist(),
            "assigned_at": np.where(waiting, o.fetched, o.assigned).tolist(),
            "due_at": o.due.tolist(),
            "next_escalation_at": None,
            "acted_at": or_none(done, o.acted),
            "acted_by": or_none(done, o.owner),
            "updated_at": np.where(done, o.acted, o.assigned).tolist(),
            "queued_at": or_none(o.queued, o.fetched),
            "first_assigned_at": or_none(~waiting, o.assigned),
            "queued_seconds": np.where(
                o.queued & ~waiting, b.queue_wait[at] // 1_000_000, 0
            ).tolist(),
        }

    def notifications(self) -> Columns:
        """The notice of each assignment made (not of the items still in a queue)."""
        b, o = self.b, self.owned
        told = np.nonzero(~o.waiting)[0]
        aids, mids = o.ids[told].tolist(), b.ids[o.at[told]].tolist()
        urgent, assigned = b.urgent[o.at[told]], o.assigned[told].tolist()
        return {
            "dedupe_key": [f"seed:{a:012d}:assigned" for a in aids],
            "event": np.where(urgent, "urgent", "assigned").tolist(),
            "recipient": o.owner[told].tolist(),
            "assignment_id": aids,
            "mention_id": mids,
            "urgent": urgent.tolist(),
            "title": [f"Mention {m} is yours" for m in mids],
            "body": "seeded",
            "status": "sent",
            "attempts": 1,
            "created_at": assigned,
            "next_attempt_at": None,
            "sent_at": assigned,  # the same list: bound once
        }

    def escalation_steps(self) -> list[Columns]:
        """The backup for every late item, the lead for the very late ones."""
        b, o = self.b, self.owned
        late = b.late[o.at]
        steps: list[Columns] = []
        for level, target, mask in ((1, "backup", late), (2, "lead", late & b.very_late[o.at])):
            at = np.nonzero(mask)[0]
            owner, due = o.owner[at].tolist(), o.due[at].tolist()
            steps.append(
                {
                    "assignment_id": o.ids[at].tolist(),
                    "chain": 0,
                    "level": level,
                    "target": target,
                    "from_person": owner,
                    "to_person": owner if level == 1 else None,
                    "due_at": due,
                    "fired_at": due,
                    "note": "seeded",
                }
            )
        return steps


class _Owned:
    """The batch's assigned items (urgent ones and every department's), as columns."""

    def __init__(self, b: Batch, shape: Shape, stamp: Stamper, a_id: int) -> None:
        self.at = at = np.nonzero(b.owned)[0]
        self.ids = np.arange(a_id, a_id + len(at))
        self.dept = b.owner_dept[at]
        self.waiting, self.done, self.queued = b.still_queued[at], b.is_acted[at], b.queued[at]
        self.owner = shape.owners[self.dept, b.hour[at]]
        self.owner[self.waiting] = None
        self.status = np.where(self.done, "acted", np.where(self.waiting, "queued", "open"))
        self.fetched, self.due = stamp(b.fetched[at]), stamp(b.due[at])
        self.assigned, self.acted = stamp(b.first_assigned[at]), stamp(b.acted[at])
