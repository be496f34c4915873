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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import Engine, func, select

from socialops import storage
from socialops.report.seed_draw import Batch, Shape
from socialops.report.seed_load import Columns, Loader, row_count
from socialops.report.seed_rows import BatchRows, Words
from socialops.report.seed_signoff import planned_posts, replies

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


def _next_id(engine: Engine, model: type[storage.Base]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.max(model.id), 0))).scalar_one()) + 1  # type: ignore[attr-defined]


def _batches(n: int, size: int) -> Iterator[tuple[int, int]]:
    for lo in range(0, n, size):
        yield lo, min(n, lo + size)


def _tables(
    rng: np.random.Generator, shape: Shape, words: Words, batch: Batch, ids: dict[str, int]
) -> dict[type[storage.Base], list[Columns]]:
    """One batch's rows per table; the first ids in ``ids`` move past the rows made."""
    rows = BatchRows(batch, shape, words, c_id=ids["c"], a_id=ids["a"], d_id=ids["d"])
    drafts, approvals, audit = replies(rows, rng)
    tables = {
        storage.MentionRow: [rows.mentions()],
        storage.ReportFactRow: [rows.facts()],
        storage.ClassificationRow: [rows.classifications()],
        storage.AssignmentRow: [rows.assignments()],
        storage.NotificationRow: [rows.notifications()],
        storage.EscalationStepRow: rows.escalation_steps(),
        storage.DraftRow: [drafts],
        storage.DraftApprovalRow: [approvals],
        storage.AuditRow: audit,
    }
    if ids["m"] == ids["first_m"]:  # the week's planned posts, with the first batch
        posts, post_approvals, post_audit = planned_posts(
            rng=rng,
            shape=shape,
            count=max(21, ids["mentions"] // 5000),
            first_id=ids["d"] + row_count(drafts),
        )
        tables[storage.DraftRow].append(posts)
        tables[storage.DraftApprovalRow].append(post_approvals)
        tables[storage.AuditRow].append(post_audit)
    ids["m"] += batch.n
    ids["c"] += batch.n
    ids["a"] += row_count(tables[storage.AssignmentRow][0])
    ids["d"] += sum(row_count(c) for c in tables[storage.DraftRow])
    return tables


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
    words = Words.of(shape)
    models = {"m": storage.MentionRow, "c": storage.ClassificationRow}
    ids = {k: _next_id(engine, model) for k, model in models.items()}
    ids |= {"a": _next_id(engine, storage.AssignmentRow), "d": _next_id(engine, storage.DraftRow)}
    ids |= {"first_m": ids["m"], "first_a": ids["a"], "mentions": mentions}
    hour, created = shape.timeline(rng, mentions)
    counts = dict.fromkeys(_COUNTED.values(), 0)
    with Loader(engine, mentions=mentions) as loader:
        for lo, hi in _batches(mentions, batch):
            drawn = Batch(
                rng, shape, np.arange(ids["m"], ids["m"] + hi - lo), hour[lo:hi], created[lo:hi]
            )
            tables = _tables(rng, shape, words, drawn, ids)
            loader.batch(tables)
            for model, parts in tables.items():
                counts[_COUNTED[model]] += sum(row_count(c) for c in parts)
        derived = loader.add_rollups(ids["first_m"], ids["m"] - 1, ids["first_a"], ids["a"] - 1)
        loader.move_sequences()
    return SeedResult(**counts, derived=derived, seconds=time.perf_counter() - started)


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
