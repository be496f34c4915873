"""Synthetic history for demos and load tests: ``socialops seed --mentions N --week W``.

Mentions with their current classification, an assignment (owner on duty, due time, time in
the department's queue at busy hours, when it was acted on), escalation steps for what ran
late and the notifications that announced them, reply drafts with their approvals and
publication (or failure), the departments' planned posts, and each mention's report facts
row. The rhythm is believable: quiet nights, a lunchtime and an evening peak, calmer weekends,
replies and approvals within minutes by day and the next morning by night.

Values are drawn with numpy a column at a time (``seed_draw``), made into rows a column at a
time (``seed_rows``, ``seed_signoff``) and written in batches straight into the database
(``seed_load``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import Engine

from socialops import storage
from socialops.report.seed_draw import Batch, Shape
from socialops.report.seed_load import SEEDED, Columns, Loader, Tables, row_count
from socialops.report.seed_rows import BatchRows, Words
from socialops.report.seed_signoff import planned_posts, replies, reply_draws

if TYPE_CHECKING:
    from socialops.config import OrgConfig
    from socialops.report.week import IsoWeek
    from socialops.rota.schedule import RotaEngine


@dataclass(frozen=True)
class SeedResult:
    """Rows written per table, and how long it took."""

    mentions: int
    classifications: int
    assignments: int
    escalation_steps: int
    notifications: int
    seconds: float
    drafts: int = 0  # reply drafts and planned posts
    approvals: int = 0
    facts: int = 0  # report_facts rows
    audit: int = 0  # the sign-off's steps in the audit log
    # Rows added to or updated in the hourly roll-ups and the queue facts (migration 0016);
    # derived by the database from the rows above, not counted in ``rows``.
    derived: int = 0

    @property
    def rows(self) -> int:
        return (
            self.mentions
            + self.classifications
            + self.assignments
            + self.escalation_steps
            + self.notifications
            + self.drafts
            + self.approvals
            + self.facts
            + self.audit
        )

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def _batches(n: int, size: int) -> Iterator[tuple[int, int]]:
    for lo in range(0, n, size):
        yield lo, min(n, lo + size)


def _tables(
    rng: np.random.Generator,
    shape: Shape,
    words: Words,
    batch: Batch,
    ids: dict[str, int],
    wanted: Collection[type[storage.Base]] = SEEDED,
) -> Tables:
    """One batch's rows of the ``wanted`` tables; the first ids in ``ids`` move past the rows
    made. Every call draws the same values from ``rng`` whatever is wanted (the reply drafts
    and the planned posts are drawn even when they are not written), so a worker that makes
    only some tables makes the same rows as one that makes them all."""
    rows = BatchRows(batch, shape, words, c_id=ids["c"], a_id=ids["a"], d_id=ids["d"])
    r, lag = reply_draws(rows, rng)
    signoff = _SIGNOFF.intersection(wanted)
    drafts, approvals, audit = replies(rows, r, lag) if signoff else ({}, {}, [])
    make: dict[type[storage.Base], Callable[[], list[Columns]]] = {
        storage.MentionRow: lambda: [rows.mentions()],
        storage.ReportFactRow: lambda: [rows.facts()],
        storage.ClassificationRow: lambda: [rows.classifications()],
        storage.AssignmentRow: lambda: [rows.assignments()],
        storage.NotificationRow: lambda: [rows.notifications()],
        storage.EscalationStepRow: rows.escalation_steps,
        storage.DraftRow: lambda: [drafts],
        storage.DraftApprovalRow: lambda: [approvals],
        storage.AuditRow: lambda: audit,
    }
    tables = {model: make[model]() for model in SEEDED if model in wanted}
    ids["d"] += len(r)
    first_post = ids["d"]
    if ids["m"] == ids["first_m"]:  # the week's planned posts, with the first batch
        count = max(21, ids["mentions"] // 5000)
        posts = planned_posts(rng=rng, shape=shape, count=count, first_id=first_post)
        for model, columns in zip(_POSTS, posts, strict=True):
            if model in tables:
                tables[model].append(columns)
        ids["d"] += count
    ids["m"] += batch.n
    ids["c"] += batch.n
    ids["a"] += len(rows.owned.at)
    return tables


def _rows(
    rng: np.random.Generator,
    shape: Shape,
    timeline: tuple[np.ndarray, np.ndarray],
    ids: dict[str, int],
    size: int,
    wanted: Collection[type[storage.Base]] = SEEDED,
) -> Iterator[Tables]:
    """The seed's batches of ``wanted`` tables, in order."""
    words = Words.of(shape)
    hour, created = timeline
    for lo, hi in _batches(ids["mentions"], size):
        drawn = Batch(
            rng, shape, np.arange(ids["m"], ids["m"] + hi - lo), hour[lo:hi], created[lo:hi]
        )
        yield _tables(rng, shape, words, drawn, ids, wanted)


def seed_week(
    *,
    engine: Engine,
    org: OrgConfig,
    week: IsoWeek,
    mentions: int,
    rota: RotaEngine | None = None,
    seed: int = 7,
    batch: int = 100_000,
    now: datetime | None = None,
) -> SeedResult:
    """Write ``mentions`` synthetic mentions (and everything that follows them) in ``week``."""
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    shape = Shape.of(
        dialect=engine.dialect.name, org=org, week=week, rota=rota, now=now or datetime.now(UTC)
    )
    timeline = shape.timeline(rng, mentions)
    with Loader(engine, mentions=mentions) as loader:
        models = {"m": storage.MentionRow, "c": storage.ClassificationRow}
        models |= {"a": storage.AssignmentRow, "d": storage.DraftRow}
        ids = {k: loader.next_id(model) for k, model in models.items()}
        ids |= {"first_m": ids["m"], "first_a": ids["a"], "mentions": mentions}
        first_a = ids["a"]
        if loader.dialect == "sqlite":  # both cores: two workers, the tables split between them
            counted = loader.write_apart(
                _GROUPS, lambda wanted: _rows(rng, shape, timeline, ids, batch, wanted)
            )
        else:
            counted = dict.fromkeys(SEEDED, 0)
            for tables in _rows(rng, shape, timeline, ids, batch):
                loader.batch(tables)
                for model, parts in tables.items():
                    counted[model] += sum(row_count(c) for c in parts)
        last_a = first_a + counted[storage.AssignmentRow] - 1
        derived = loader.add_rollups(ids["first_m"], ids["first_m"] + mentions - 1, first_a, last_a)
        loader.move_sequences()
    counts = {_COUNTED[model]: n for model, n in counted.items()}
    return SeedResult(**counts, derived=derived, seconds=time.perf_counter() - started)


# The tables of a reply or a planned post: the draft, its approvals, its audit steps.
_POSTS = (storage.DraftRow, storage.DraftApprovalRow, storage.AuditRow)
_SIGNOFF = set(_POSTS)
# Two workers' tables on SQLite, about the same work each (rows and indexes); the first
# group's indexes are built while the second is still being written.
_GROUPS = (SEEDED[:3], SEEDED[3:])  # mentions, facts, classifications | the rest
_COUNTED: dict[type[storage.Base], str] = {
    storage.MentionRow: "mentions",
    storage.ReportFactRow: "facts",
    storage.ClassificationRow: "classifications",
    storage.AssignmentRow: "assignments",
    storage.NotificationRow: "notifications",
    storage.EscalationStepRow: "escalation_steps",
    storage.DraftRow: "drafts",
    storage.DraftApprovalRow: "approvals",
    storage.AuditRow: "audit",
}
