"""Synthetic history for demos and load tests: ``socialops seed --mentions N --week W``.

Mentions with their current classification, an assignment (owner on duty, due time, time in
the department's queue at busy hours, when it was acted on), escalation steps for what ran
late and the notifications that announced them, reply drafts with their approvals and
publication (or failure), the departments' planned posts, and each mention's report facts
row. The rhythm is believable: quiet nights, a lunchtime and an evening peak, calmer weekends,
replies and approvals within minutes by day and the next morning by night.

Values are drawn with numpy and written in batches, straight into the database: on SQLite an
``executemany`` of a Core-compiled INSERT per table (no ORM, no per-value type processing)
inside one explicit transaction per batch, with the load's PRAGMAs (no fsync, no foreign-key
look-ups, a large page cache) for the seed's own connection only; on PostgreSQL ``COPY``. The
seed writes the report facts itself, so the triggers that keep them for every other writer
are off for its own transactions only (dropped and re-created inside the transaction on
SQLite; ``SET LOCAL socialops.bulk_load`` on PostgreSQL).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Engine, column, func, select, table

from socialops import storage
from socialops.report import rollups
from socialops.report.week import IsoWeek
from socialops.signoff.templates import intent_of

if TYPE_CHECKING:
    from socialops.config import OrgConfig
    from socialops.rota.schedule import RotaEngine

# Share of mentions per classified department (``none``: spam and chit-chat).
DEPARTMENTS: dict[str, float] = {
    "customer_relations": 0.42,
    "marketing": 0.20,
    "public_relations": 0.07,
    "hr": 0.05,
    "legal": 0.04,
    "triage": 0.04,
    "none": 0.18,
}
URGENT_SHARE = {"customer_relations": 0.04, "legal": 0.08, "public_relations": 0.05}
SENTIMENT = {  # negative, neutral, positive
    "customer_relations": (0.55, 0.30, 0.15),
    "marketing": (0.10, 0.30, 0.60),
    "public_relations": (0.35, 0.45, 0.20),
    "hr": (0.30, 0.50, 0.20),
    "legal": (0.50, 0.45, 0.05),
    "triage": (0.30, 0.50, 0.20),
    "none": (0.15, 0.60, 0.25),
}
SENTIMENTS = ("negative", "neutral", "positive")
# Mentions per local hour of the day (relative): quiet nights, lunchtime and evening peaks.
HOURLY = (
    0.25, 0.15, 0.10, 0.08, 0.08, 0.12, 0.30, 0.60, 0.90, 1.00, 1.00, 1.05,
    1.30, 1.20, 1.00, 0.95, 0.95, 1.00, 1.10, 1.25, 1.20, 0.95, 0.70, 0.45,
)  # fmt: skip
WEEKDAY = (1.0, 1.0, 1.0, 1.0, 1.05, 0.8, 0.75)
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
        )

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


Rows = list[tuple[Any, ...]]

_MENTION_COLS = (
    "id", "platform", "external_id", "channel", "url", "author_handle", "author_display_name",
    "author_followers", "text", "lang", "created_at", "fetched_at", "visibility", "raw",
)  # fmt: skip
_CLASS_COLS = (
    "id", "mention_id", "department", "urgent", "sentiment", "confidence", "explanation",
    "model_version", "classified_at", "is_current",
)  # fmt: skip
_ASSIGN_COLS = (
    "id", "mention_id", "classification_id", "department", "assignee", "urgent", "source",
    "status", "escalation_level", "received_at", "assigned_at", "due_at", "next_escalation_at",
    "acted_at", "acted_by", "updated_at", "queued_at", "first_assigned_at", "queued_seconds",
)  # fmt: skip
_STEP_COLS = ("assignment_id", "chain", "level", "target", "from_person", "to_person", "due_at",
              "fired_at", "note")  # fmt: skip
_NOTE_COLS = ("dedupe_key", "event", "recipient", "assignment_id", "mention_id", "urgent",
              "title", "body", "status", "attempts", "created_at", "next_attempt_at",
              "sent_at")  # fmt: skip
_FACT_COLS = (
    "mention_id", "created_ts", "hour", "week", "channel", "followers", "department", "urgent",
    "sentiment", "a_department", "a_urgent", "assignee", "a_status", "due_us", "sla",
    "response_seconds", "response_minute",
)  # fmt: skip
_DRAFT_COLS = (
    "id", "kind", "mention_id", "channel", "platform", "department", "urgent", "intent", "lang",
    "text", "version", "author", "assignee", "in_reply_to_id", "visibility", "status",
    "approvals_required", "scheduled_at", "due_at", "approved_at", "rejection_reason",
    "idempotency_key", "attempts", "published_at", "external_id", "external_url", "last_error",
    "created_at", "updated_at",
)  # fmt: skip
_APPROVAL_COLS = ("draft_id", "version", "approver", "role", "via", "at")
WEEK_SHIFT = 3 * 86400  # report_facts.week: UTC weeks from Monday 1969-12-29
_TABLES: tuple[tuple[type[storage.Base], tuple[str, ...]], ...] = (
    (storage.MentionRow, _MENTION_COLS),
    (storage.ReportFactRow, _FACT_COLS),
    (storage.ClassificationRow, _CLASS_COLS),
    (storage.AssignmentRow, _ASSIGN_COLS),
    (storage.NotificationRow, _NOTE_COLS),
    (storage.EscalationStepRow, _STEP_COLS),
    (storage.DraftRow, _DRAFT_COLS),
    (storage.DraftApprovalRow, _APPROVAL_COLS),
)


class _Loader:
    """Writes the batches; the report-facts triggers are off for the seed's own writes.

    SQLite: one transaction for the whole seed on the raw driver connection (autocommit mode,
    explicit ``BEGIN IMMEDIATE`` / ``COMMIT``: the driver would otherwise commit the DDL on its
    own), with the load's PRAGMAs for this connection only, put back afterwards. When the seed
    at least doubles the mentions table, the seeded tables' secondary indexes are dropped and
    built again once at the end (one sort per index instead of a million scattered inserts);
    a failure rolls it all back, indexes and triggers included. PostgreSQL: ``COPY``, one
    transaction per batch.
    """

    def __init__(self, engine: Engine, *, mentions: int) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.mentions = mentions
        self.saved: list[str] = []  # DDL to run again before the commit

    raw: Any  # the driver's connection (sqlite3 or psycopg)

    def __enter__(self) -> _Loader:
        self.conn = self.engine.connect()
        self.raw = self.conn.connection.dbapi_connection
        if self.dialect != "sqlite":
            return self
        self.saved_isolation = self.raw.isolation_level
        self.raw.isolation_level = None
        for pragma in (
            "foreign_keys=OFF",  # consistent by construction: no per-row look-ups
            "synchronous=OFF",  # a seed that dies is rolled back and seeded again
            "cache_size=-262144",  # 256 MiB of pages: the indexes stay in memory
            "temp_store=MEMORY",
        ):
            self.raw.execute(f"PRAGMA {pragma}")
        self.sql = {
            model: str(
                table(model.__tablename__, *(column(n) for n in names))
                .insert()
                .compile(dialect=self.engine.dialect)
            )
            for model, names in _TABLES
        }
        raw = self.raw
        raw.execute("BEGIN IMMEDIATE")
        try:
            have = raw.execute("SELECT count(*) FROM mentions").fetchone()[0]
            names = [model.__tablename__ for model, _ in _TABLES]
            marks = ", ".join("?" * len(names))
            kinds = "('trigger', 'index')" if have < self.mentions else "('trigger')"
            found = raw.execute(
                f"SELECT type, name, sql FROM sqlite_master WHERE type IN {kinds} "
                f"AND sql IS NOT NULL AND tbl_name IN ({marks}) "
                "AND (type = 'index' OR name LIKE 'report_facts%')",
                names,
            ).fetchall()
            for kind, name, sql in found:
                raw.execute(f'DROP {kind.upper()} "{name}"')
                self.saved.append(sql)
        except BaseException:
            raw.execute("ROLLBACK")
            raise
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        try:
            if self.dialect == "sqlite":
                if kind is None:
                    for sql in self.saved:  # indexes built once, triggers back
                        self.raw.execute(sql)
                    self.raw.execute("COMMIT")
                else:
                    self.raw.execute("ROLLBACK")
                for pragma in ("foreign_keys=ON", "synchronous=NORMAL", "cache_size=-2000"):
                    self.raw.execute(f"PRAGMA {pragma}")
                self.raw.isolation_level = self.saved_isolation
        finally:
            self.conn.close()

    def batch(self, tables: dict[type[storage.Base], Rows]) -> None:
        if self.dialect == "sqlite":
            for model, _names in _TABLES:
                if tables.get(model):
                    self.raw.executemany(self.sql[model], tables[model])
        else:
            self._postgres(tables)

    def _postgres(self, tables: dict[type[storage.Base], Rows]) -> None:
        with self.conn.begin():
            self.conn.exec_driver_sql("SET LOCAL socialops.bulk_load = 'on'")
            with self.raw.cursor() as cursor:
                for model, names in _TABLES:
                    rows = tables.get(model)
                    if not rows:
                        continue
                    sql = f"COPY {model.__tablename__} ({', '.join(names)}) FROM STDIN"
                    with cursor.copy(sql) as copy:
                        for row in rows:
                            copy.write_row(row)

    def add_rollups(
        self, first_mention: int, last_mention: int, first_assignment: int, last_assignment: int
    ) -> int:
        """The seeded facts into the hourly roll-ups, the queued items into the queue facts
        (their triggers are off for the seed); how many rows that wrote."""
        statements = [
            *rollups.add_facts_sql(
                self.dialect, first_mention=first_mention, last_mention=last_mention
            ),
            rollups.add_queue_facts_sql(
                self.dialect, first_assignment=first_assignment, last_assignment=last_assignment
            ),
        ]
        written = 0
        if self.dialect == "sqlite":
            for sql in statements:
                written += self.raw.execute(sql).rowcount
            return written
        with self.conn.begin():
            for sql in statements:
                written += self.conn.exec_driver_sql(sql).rowcount
        return written

    def move_sequences(self) -> None:
        """Explicit ids on PostgreSQL: move the sequences past them."""
        if self.dialect != "postgresql":
            return
        with self.conn.begin():
            for model in (
                storage.MentionRow,
                storage.ClassificationRow,
                storage.AssignmentRow,
                storage.DraftRow,
            ):
                name = model.__tablename__
                self.conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM {name}))"
                )


class _Stamper:
    """UTC instants (µs since the epoch) as the text each database reads as its own."""

    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"

    def __call__(self, micros: np.ndarray) -> list[str]:
        text = np.datetime_as_string(micros.astype("datetime64[us]"), unit="us")
        if self.sqlite:  # SQLAlchemy's format: naive UTC, a space before the time
            chars = text.view(np.uint32).reshape(len(text), -1)
            chars[:, 10] = ord(" ")  # in place of the "T", for the whole column at once
            return text.tolist()  # type: ignore[no-any-return]
        return [s + "+00:00" for s in text.tolist()]


def _micros(at: datetime) -> int:
    return (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _hour_tables(
    week: IsoWeek, rota: RotaEngine | None, departments: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, dict[str, list[str | None]], dict[tuple[str, bool], np.ndarray]]:
    """Per UTC hour of the week: its weight, local hour, who is on duty, when work is due."""
    hours = round(week.hours)
    weights, local_hours = np.zeros(hours), np.zeros(hours, dtype=np.int64)
    owners: dict[str, list[str | None]] = {d: [] for d in departments}
    due: dict[tuple[str, bool], np.ndarray] = {
        (d, u): np.zeros(hours, dtype=np.int64) for d in departments for u in (False, True)
    }
    for h in range(hours):
        at = week.start + timedelta(hours=h)
        day, hour = week.local_slot(at)
        weights[h] = HOURLY[hour] * WEEKDAY[day % 7]
        local_hours[h] = hour
        for d in departments:
            known = rota is not None and d in rota.calendars
            owners[d].append(rota.on_duty(d, at).primary if known and rota else None)
            for urgent in (False, True):
                if known and rota is not None:
                    offset = rota.due_at(d, urgent=urgent, start=at) - at
                else:
                    offset = timedelta(minutes=30) if urgent else timedelta(hours=4)
                due[(d, urgent)][h] = int(offset.total_seconds() * 1_000_000)
    return weights / weights.sum(), local_hours, owners, due


def _next_id(engine: Engine, model: type[storage.Base]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.max(model.id), 0))).scalar_one()) + 1  # type: ignore[attr-defined]


def _batches(n: int, size: int) -> Iterator[tuple[int, int]]:
    for lo in range(0, n, size):
        yield lo, min(n, lo + size)


def _until_morning(local_hour: np.ndarray) -> np.ndarray:
    """Microseconds from a night hour to 08:00 local (0 by day)."""
    night = (local_hour < 8) | (local_hour >= 21)
    hours = np.where(local_hour >= 21, 24 - local_hour + 8, 8 - local_hour)
    return np.where(night, hours * 3_600_000_000, 0)


@dataclass(frozen=True)
class _Approvers:
    """Per department: who may approve (handle, role), from the organisation file."""

    pools: dict[str, list[tuple[str, str]]]
    required: dict[tuple[str, bool], int]

    @classmethod
    def of(cls, org: OrgConfig, departments: Sequence[str]) -> _Approvers:
        pools: dict[str, list[tuple[str, str]]] = {}
        required: dict[tuple[str, bool], int] = {}
        for d in departments:
            config = {str(k): v for k, v in org.departments.items()}.get(d)
            roles = set(config.sign_off.approver_roles) if config else {"lead", "approver"}
            pools[d] = [
                (p.handle, "lead" if "lead" in p.roles else "approver")
                for p in org.people
                if d in p.departments and roles & set(p.roles)
            ] or [(f"{d}-lead", "lead")]
            for urgent in (False, True):
                required[(d, urgent)] = config.sign_off.required(urgent=urgent) if config else 1
        return cls(pools, required)


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
    dialect = engine.dialect.name
    now = now or datetime.now(UTC)
    rng = np.random.default_rng(seed)
    departments = list(DEPARTMENTS)
    channels = [c.name for c in org.channels] or ["mastodon-main"]
    weights, local_hours, owners, due_offsets = _hour_tables(week, rota, departments)
    load = weights / weights.max()  # 1.0 at the week's busiest hour
    approvers = _Approvers.of(org, departments)
    start_us = _micros(week.start)
    totals: dict[str, int] = dict.fromkeys(
        ("mentions", "classifications", "assignments", "steps", "notes", "drafts", "approvals"), 0
    )
    m_id, c_id, a_id, d_id = (
        _next_id(engine, storage.MentionRow),
        _next_id(engine, storage.ClassificationRow),
        _next_id(engine, storage.AssignmentRow),
        _next_id(engine, storage.DraftRow),
    )
    dept_p = np.array(list(DEPARTMENTS.values()))
    now_us = _micros(now)
    # In time order, as ingest stores them: every index then grows at its end.
    hour_all = rng.choice(len(weights), size=mentions, p=weights)
    created_all = start_us + hour_all * 3_600_000_000 + rng.integers(0, 3_600_000_000, mentions)
    order = np.argsort(created_all, kind="stable")
    hour_all, created_all = hour_all[order], created_all[order]
    none_i = departments.index("none")
    first_mention, first_assignment = m_id, a_id
    with _Loader(engine, mentions=mentions) as loader:
        for lo, hi in _batches(mentions, batch):
            tables, counts = _one_batch(
                rng=rng,
                dialect=dialect,
                hour=hour_all[lo:hi],
                created=created_all[lo:hi],
                ids=np.arange(m_id, m_id + hi - lo),
                c_id=c_id,
                a_id=a_id,
                d_id=d_id,
                departments=departments,
                dept_p=dept_p / dept_p.sum(),
                none_i=none_i,
                channels=channels,
                local_hours=local_hours,
                load=load,
                owners=owners,
                due_offsets=due_offsets,
                approvers=approvers,
                now_us=now_us,
            )
            if lo == 0:
                posts, post_approvals = _planned_posts(
                    rng=rng,
                    dialect=dialect,
                    week=week,
                    count=max(21, mentions // 5000),
                    first_id=d_id + counts["drafts"],
                    channels=channels,
                    approvers=approvers,
                    now_us=now_us,
                )
                tables[storage.DraftRow] += posts
                tables[storage.DraftApprovalRow] += post_approvals
                counts["drafts"] += len(posts)
                counts["approvals"] += len(post_approvals)
            loader.batch(tables)
            for key, value in counts.items():
                totals[key] += value
            m_id, c_id = m_id + hi - lo, c_id + hi - lo
            a_id, d_id = a_id + counts["assignments"], d_id + counts["drafts"]
        derived = loader.add_rollups(first_mention, m_id - 1, first_assignment, a_id - 1)
        loader.move_sequences()
    return SeedResult(
        mentions=totals["mentions"],
        classifications=totals["classifications"],
        assignments=totals["assignments"],
        escalation_steps=totals["steps"],
        notifications=totals["notes"],
        drafts=totals["drafts"],
        approvals=totals["approvals"],
        facts=totals["mentions"],
        derived=derived,
        seconds=time.perf_counter() - started,
    )


def _one_batch(
    *,
    rng: np.random.Generator,
    dialect: str,
    hour: np.ndarray,
    created: np.ndarray,
    ids: np.ndarray,
    c_id: int,
    a_id: int,
    d_id: int,
    departments: list[str],
    dept_p: np.ndarray,
    none_i: int,
    channels: list[str],
    local_hours: np.ndarray,
    load: np.ndarray,
    owners: dict[str, list[str | None]],
    due_offsets: dict[tuple[str, bool], np.ndarray],
    approvers: _Approvers,
    now_us: int,
) -> tuple[dict[type[storage.Base], Rows], dict[str, int]]:
    n = len(ids)
    fetched = created + rng.integers(5_000_000, 240_000_000, n)
    dept_i = rng.choice(len(departments), size=n, p=dept_p)
    chan_i = rng.integers(0, len(channels), n)
    urgent = rng.random(n) < np.array([URGENT_SHARE.get(d, 0.01) for d in departments])[dept_i]
    senti = np.empty(n, dtype=np.int64)
    draw = rng.random(n)
    for k, d in enumerate(departments):
        neg, neu, _pos = SENTIMENT[d]
        mask = dept_i == k
        senti[mask] = np.where(draw[mask] < neg, 0, np.where(draw[mask] < neg + neu, 1, 2))
    followers = np.minimum(rng.lognormal(5.0, 1.6, n), 5_000_000).astype(np.int64)
    authors = rng.integers(0, 60_000, n)
    texts = rng.integers(0, 1000, n)
    lh = local_hours[hour]

    # Routing: urgent items and every department's items get an owner; at busy hours a
    # normal item may wait in its department's queue first (people at their open-item cap).
    queued = ~urgent & (rng.random(n) < 0.45 * load[hour] ** 3)
    queue_wait = np.where(
        queued, (rng.lognormal(np.log(6 * 60), 0.7, n) * 1e6 * (0.5 + load[hour])), 0
    ).astype(np.int64)
    first_assigned = fetched + rng.integers(1_000_000, 60_000_000, n) + queue_wait
    still_queued = queued & (first_assigned > now_us)
    # Response: minutes by day, the next morning by night; urgent ones faster, at any hour.
    delay = (rng.lognormal(np.log(35 * 60), 0.8, n) * 1_000_000).astype(np.int64)
    delay = np.where(urgent, 0, _until_morning(lh)) + delay
    delay = np.where(urgent, (rng.lognormal(np.log(12 * 60), 0.6, n) * 1e6).astype(np.int64), delay)
    acted = first_assigned + 30_000_000 + delay
    is_acted = (rng.random(n) < 0.93) & (acted < now_us) & ~still_queued
    due = np.empty(n, dtype=np.int64)
    for k, d in enumerate(departments):
        for u in (False, True):
            mask = (dept_i == k) & (urgent == u)
            due[mask] = fetched[mask] + due_offsets[(d, u)][hour[mask]]
    owned = (dept_i != none_i) | urgent
    response = (acted - created + 500_000) // 1_000_000  # whole seconds, rounded half up
    late = np.where(is_acted, acted > due, due < now_us)
    very_late = np.where(is_acted, acted > due + 1_800_000_000, due + 1_800_000_000 < now_us)

    # Sign-off: replies to most items acted on, approved within minutes by day, the next
    # morning by night (urgent ones at once); a few rejected, a few refused by the platform.
    replied = owned & is_acted & (rng.random(n) < np.where(urgent, 0.9, 0.55))
    turnaround = (rng.lognormal(np.log(14 * 60), 0.9, n) * 1e6).astype(np.int64)
    turnaround = np.where(
        urgent,
        (turnaround // 3),
        turnaround
        + _until_morning(
            local_hours[
                np.minimum((hour + (acted - created) // 3_600_000_000), len(local_hours) - 1)
            ]
        ),
    )
    approved = acted + turnaround
    outcome = rng.random(n)  # < 0.03 rejected, < 0.05 failed, else published

    stamp = _Stamper(dialect)
    created_s, fetched_s = stamp(created), stamp(fetched)
    ids_l, auth_l, text_l = ids.tolist(), authors.tolist(), texts.tolist()
    channel_names = np.array(channels, dtype=object)[chan_i].tolist()
    dept_names = np.array(departments, dtype=object)[dept_i].tolist()
    senti_names = np.array(SENTIMENTS, dtype=object)[senti].tolist()
    urg_l = urgent.tolist()
    tables: dict[type[storage.Base], Rows] = {model: [] for model, _ in _TABLES}
    tables[storage.MentionRow] = list(
        zip(
            ids_l,
            repeat("mastodon"),
            [f"seed-{i:012d}" for i in ids_l],  # zero-padded: the unique index grows at its end
            channel_names,
            [f"https://social.example/@u{u}/{i}" for u, i in zip(auth_l, ids_l, strict=True)],
            [f"u{u}@social.example" for u in auth_l],
            [f"User {u}" for u in auth_l],
            followers.tolist(),
            [_text(d, k) for d, k in zip(dept_names, text_l, strict=True)],
            repeat("en"),
            created_s,
            fetched_s,
            repeat("public"),
            repeat("{}"),
            strict=False,
        )
    )
    tables[storage.ClassificationRow] = list(
        zip(
            range(c_id, c_id + n),
            ids_l,
            dept_names,
            urg_l,
            senti_names,
            repeat(0.8),
            repeat('{"seeded": true}'),
            repeat("seed"),
            stamp(fetched + 2_000_000),
            repeat(True),
            strict=False,
        )
    )

    # Assignments, their notices and escalation steps: the owned rows, column by column.
    oi = np.nonzero(owned)[0]
    k = len(oi)
    triage_i = departments.index("triage")
    o_dept = np.where(dept_i[oi] == none_i, triage_i, dept_i[oi])
    owner_table = np.array(
        [[owners[d][h] or "unassigned" for h in range(len(local_hours))] for d in departments],
        dtype=object,
    )
    o_waiting = still_queued[oi]
    o_done = is_acted[oi]
    o_queued = queued[oi]
    o_late = late[oi]
    o_owner = owner_table[o_dept, hour[oi]]
    o_owner[o_waiting] = None
    o_status = np.where(o_done, "acted", np.where(o_waiting, "queued", "open"))
    aids = np.arange(a_id, a_id + k)
    o_fetched = fetched[oi]
    fetched_o = stamp(o_fetched)
    assigned_o, due_o = stamp(first_assigned[oi]), stamp(due[oi])
    acted_o = stamp(acted[oi])
    none_k = [None] * k
    ids_o, urg_o = ids[oi].tolist(), urgent[oi].tolist()
    owner_o, done_o, waiting_o = o_owner.tolist(), o_done.tolist(), o_waiting.tolist()
    queued_o = o_queued.tolist()
    dept_o = np.array(departments, dtype=object)[o_dept].tolist()
    tables[storage.AssignmentRow] = list(
        zip(
            aids.tolist(),
            ids_o,
            (c_id + oi).tolist(),
            dept_o,
            owner_o,
            urg_o,
            np.where(o_queued, "queue", "rota").tolist(),
            o_status.tolist(),
            np.where(o_late, np.where(very_late[oi], 2, 1), 0).tolist(),
            fetched_o,
            [f if w else a for f, a, w in zip(fetched_o, assigned_o, waiting_o, strict=True)],
            due_o,
            none_k,
            [a if d else None for a, d in zip(acted_o, done_o, strict=True)],
            [o if d else None for o, d in zip(owner_o, done_o, strict=True)],
            [a if d else s for a, s, d in zip(acted_o, assigned_o, done_o, strict=True)],
            [f if q else None for f, q in zip(fetched_o, queued_o, strict=True)],
            [None if w else a for a, w in zip(assigned_o, waiting_o, strict=True)],
            np.where(o_queued & ~o_waiting, queue_wait[oi] // 1_000_000, 0).tolist(),
            strict=True,
        )
    )
    told = np.nonzero(~o_waiting)[0]
    told_l = told.tolist()
    tables[storage.NotificationRow] = list(
        zip(
            [f"seed:{a:012d}:assigned" for a in aids[told].tolist()],
            np.where(urgent[oi][told], "urgent", "assigned").tolist(),
            o_owner[told].tolist(),
            aids[told].tolist(),
            ids[oi][told].tolist(),
            urgent[oi][told].tolist(),
            [f"Mention {m} is yours" for m in ids[oi][told].tolist()],
            repeat("seeded"),
            repeat("sent"),
            repeat(1),
            [assigned_o[t] for t in told_l],
            repeat(None),
            [assigned_o[t] for t in told_l],
            strict=False,
        )
    )
    steps: Rows = []
    for level, target, mask in ((1, "backup", o_late), (2, "lead", o_late & very_late[oi])):
        at = np.nonzero(mask)[0].tolist()
        steps += zip(
            aids[at].tolist(),
            repeat(0),
            repeat(level),
            repeat(target),
            [owner_o[t] for t in at],
            [owner_o[t] for t in at] if level == 1 else repeat(None),
            [due_o[t] for t in at],
            [due_o[t] for t in at],
            repeat("seeded"),
            strict=False,
        )
    tables[storage.EscalationStepRow] = steps

    # Report facts: every mention; the assignment's columns where there is one.
    a_dept = np.full(n, None, dtype=object)
    a_dept[oi] = dept_o
    a_urg = np.full(n, None, dtype=object)
    a_urg[oi] = urg_o
    a_owner = np.full(n, None, dtype=object)
    a_owner[oi] = owner_o
    a_status = np.full(n, None, dtype=object)
    a_status[oi] = o_status
    a_due = np.full(n, None, dtype=object)
    a_due[oi] = due[oi].tolist()
    done_all = owned & is_acted
    done_l = done_all.tolist()
    sla = [
        ("breached" if x else "met") if d else None
        for x, d in zip(late.tolist(), done_l, strict=True)
    ]
    seconds = [x if d else None for x, d in zip(response.tolist(), done_l, strict=True)]
    minutes = [x // 60 if x is not None else None for x in seconds]
    created_ts = created // 1_000_000
    tables[storage.ReportFactRow] = list(
        zip(
            ids_l,
            created_ts.tolist(),
            (created_ts // 3600).tolist(),
            ((created_ts + WEEK_SHIFT) // 604800).tolist(),
            channel_names,
            followers.tolist(),
            dept_names,
            urg_l,
            senti_names,
            a_dept.tolist(),
            a_urg.tolist(),
            a_owner.tolist(),
            a_status.tolist(),
            a_due.tolist(),
            sla,
            seconds,
            minutes,
            strict=True,
        )
    )

    # Reply drafts and their approvals.
    drafts, approvals = tables[storage.DraftRow], tables[storage.DraftApprovalRow]
    ri = np.nonzero(replied[oi] & ~o_waiting)[0]
    acted_r, approved_r = [acted_o[t] for t in ri.tolist()], stamp(approved[oi][ri])
    published_r = stamp(approved[oi][ri] + rng.integers(2_000_000, 20_000_000, len(ri)))
    approved_us, outcome_r = approved[oi][ri].tolist(), outcome[oi][ri].tolist()
    did = d_id
    for j, t in enumerate(ri.tolist()):
        i = int(oi[t])
        did = _reply(
            drafts, approvals, did, i, ids_o[t], dept_o[t], urg_o[t], owner_o[t],
            channel_names[i], senti_names[i], due_o[t], acted_r[j], approved_us[j],
            approved_r[j], published_r[j], outcome_r[j], approvers, now_us,
        )  # fmt: skip
    counts = {
        "mentions": n,
        "classifications": n,
        "assignments": k,
        "steps": len(steps),
        "notes": len(tables[storage.NotificationRow]),
        "drafts": len(drafts),
        "approvals": len(approvals),
    }
    return tables, counts


def _reply(
    drafts: Rows,
    approvals: Rows,
    did: int,
    i: int,
    mid: int,
    department: str,
    urgent: bool,
    owner: str,
    channel: str,
    sentiment: str,
    due: str,
    written: str,
    approved_us: int,
    approved: str,
    published: str,
    outcome: float,
    approvers: _Approvers,
    now_us: int,
) -> int:
    required = approvers.required[(department, urgent)]
    pool = [p for p in approvers.pools[department] if p[0] != owner] or approvers.pools[department]
    decided = approved_us < now_us
    if not decided:
        status = "pending"
    elif outcome < 0.03:
        status = "rejected"
    elif outcome < 0.05:
        status = "failed"
    else:
        status = "published"
    drafts.append(
        (
            did, "reply", mid, channel, "mastodon", department, urgent,
            intent_of(urgent=urgent, sentiment=sentiment, private=False), "en",
            "Thanks for telling us: we are on it.", 1, owner, owner, f"seed-{mid:012d}",
            "public", status, required, None, due,
            approved if status in ("published", "failed") else None,
            "tone: please apologise first" if status == "rejected" else None,
            f"seed-draft-{did:012d}", 1 if status in ("published", "failed") else 0,
            published if status == "published" else None,
            f"seed-reply-{did}" if status == "published" else None,
            f"https://social.example/@northwind/{did}" if status == "published" else None,
            "platform refused the reply (422)" if status == "failed" else None,
            written, published if status in ("published", "failed") else written,
        )
    )  # fmt: skip
    if status in ("published", "failed"):
        for k in range(min(required, len(pool))):
            handle, role = pool[(i + k) % len(pool)]
            approvals.append((did, 1, handle, role, "ui" if (i + k) % 3 else "cli", approved))
    return did + 1


def _planned_posts(
    *,
    rng: np.random.Generator,
    dialect: str,
    week: IsoWeek,
    count: int,
    first_id: int,
    channels: list[str],
    approvers: _Approvers,
    now_us: int,
) -> tuple[Rows, Rows]:
    """The departments' planned posts of the week: scheduled in working hours, written and
    approved a day or two before; published, failed, or still waiting for their time."""
    owners = ["marketing"] * 6 + ["public_relations"] * 2 + ["hr", "customer_relations"]
    days = rng.integers(0, 7, count)
    minutes = rng.integers(9 * 60, 18 * 60, count)
    scheduled = np.array(
        [
            _micros(week.local_midnight(week.days()[int(d)]) + timedelta(minutes=int(mi)))
            for d, mi in zip(days, minutes, strict=True)
        ],
        dtype=np.int64,
    )
    written = scheduled - rng.integers(3_600_000_000, 3 * 86_400_000_000, count)
    approved = written + (rng.lognormal(np.log(40 * 60), 0.9, count) * 1e6).astype(np.int64)
    outcome = rng.random(count)
    stamp = _Stamper(dialect)
    sched_s, written_s, approved_s = stamp(scheduled), stamp(written), stamp(approved)
    published_s = stamp(scheduled + rng.integers(1_000_000, 30_000_000, count))
    posts: Rows = []
    post_approvals: Rows = []
    for k in range(count):
        department = owners[k % len(owners)]
        author = approvers.pools[department][k % len(approvers.pools[department])][0]
        late_approval = approved[k] > scheduled[k]
        if late_approval and scheduled[k] < now_us:
            status = "expired"
        elif approved[k] >= now_us:
            status = "pending"
        elif scheduled[k] >= now_us:
            status = "approved"
        elif outcome[k] < 0.03:
            status = "failed"
        else:
            status = "published"
        did = first_id + k
        was_approved = status in ("approved", "published", "failed")
        posts.append(
            (
                did, "post", None, channels[k % len(channels)], "mastodon", department, False,
                "post", "en", f"Planned post {k + 1} of the week", 1, author, None, None,
                "public", status, approvers.required[(department, False)], sched_s[k], None,
                approved_s[k] if was_approved else None, None, f"seed-post-{did:012d}",
                1 if status in ("published", "failed") else 0,
                published_s[k] if status == "published" else None,
                f"seed-post-{did}" if status == "published" else None,
                f"https://social.example/@northwind/p{did}" if status == "published" else None,
                "platform refused the post (422)" if status == "failed" else None,
                written_s[k], published_s[k] if status == "published" else written_s[k],
            )
        )  # fmt: skip
        if was_approved:
            pool = [p for p in approvers.pools[department] if p[0] != author]
            pool = pool or approvers.pools[department]
            for j in range(min(approvers.required[(department, False)], len(pool))):
                handle, role = pool[j % len(pool)]
                post_approvals.append((did, 1, handle, role, "ui", approved_s[k]))
    return posts, post_approvals


def _text(department: str, k: int) -> str:
    options = TEXTS[department]
    return options[k % len(options)].replace("{n}", str(10_000 + k))
