"""Synthetic history for demos and load tests: ``socialops seed --mentions N --week W``.

Mentions with their current classification, an assignment (owner on duty, due time, when it was
acted on), escalation steps for what ran late and the notifications that announced them, with a
believable rhythm: quiet nights, a lunchtime and an evening peak, calmer weekends, replies
within minutes by day and the next morning by night. Values are drawn with numpy and written
with Core bulk inserts (``executemany`` over light table clauses, no ORM, no per-value type
processing), in batches, straight into the database.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Connection, Engine, column, func, select, table

from socialops import storage
from socialops.report.week import IsoWeek

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

    @property
    def rows(self) -> int:
        return (
            self.mentions
            + self.classifications
            + self.assignments
            + self.escalation_steps
            + self.notifications
        )

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


class _Writer:
    """Bulk writes of tuples: ``executemany`` of a Core-compiled INSERT on SQLite, ``COPY`` on
    PostgreSQL (several times faster than any INSERT there)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name

    def write(
        self, model: type[storage.Base], names: Sequence[str], rows: list[tuple[Any, ...]]
    ) -> None:
        if not rows:
            return
        name = model.__tablename__
        if self.dialect == "postgresql":
            raw: Any = self.conn.connection.dbapi_connection
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY {name} ({', '.join(names)}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            return
        # Untyped columns: values reach the driver as given (no per-value type processing).
        stmt = table(name, *(column(n) for n in names)).insert()
        sql = str(stmt.compile(dialect=self.conn.dialect))
        self.conn.exec_driver_sql(sql, rows)


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
    "acted_at", "acted_by", "updated_at",
)  # fmt: skip
_STEP_COLS = ("assignment_id", "chain", "level", "target", "from_person", "to_person", "due_at",
              "fired_at", "note")  # fmt: skip
_NOTE_COLS = ("dedupe_key", "event", "recipient", "assignment_id", "mention_id", "urgent",
              "title", "body", "status", "attempts", "created_at", "next_attempt_at",
              "sent_at")  # fmt: skip


def _stamps(micros: np.ndarray, dialect: str) -> list[str]:
    """UTC instants (µs since the epoch) as the text each database reads as its own."""
    text = np.datetime_as_string(micros.astype("datetime64[us]"), unit="us")
    if dialect == "sqlite":  # the format SQLAlchemy stores: naive UTC, a space before the time
        return [s.replace("T", " ") for s in text.tolist()]
    return [s + "+00:00" for s in text.tolist()]


def _micros(at: datetime) -> int:
    return int(at.timestamp()) * 1_000_000 + at.microsecond


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
    start_us = _micros(week.start)
    counts = [0, 0, 0, 0, 0]
    m_id, c_id, a_id = (
        _next_id(engine, storage.MentionRow),
        _next_id(engine, storage.ClassificationRow),
        _next_id(engine, storage.AssignmentRow),
    )
    dept_p = np.array(list(DEPARTMENTS.values()))
    now_us = _micros(now)
    # In time order, as ingest stores them: every index then grows at its end.
    hour_all = rng.choice(len(weights), size=mentions, p=weights)
    created_all = start_us + hour_all * 3_600_000_000 + rng.integers(0, 3_600_000_000, mentions)
    order = np.argsort(created_all, kind="stable")
    hour_all, created_all = hour_all[order], created_all[order]
    for lo, hi in _batches(mentions, batch):
        n = hi - lo
        hour, created = hour_all[lo:hi], created_all[lo:hi]
        fetched = created + rng.integers(5_000_000, 240_000_000, n)
        dept_i = rng.choice(len(departments), size=n, p=dept_p / dept_p.sum())
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
        ids = np.arange(m_id, m_id + n)
        created_s, fetched_s = _stamps(created, dialect), _stamps(fetched, dialect)
        # Response: minutes by day, the next morning by night; urgent ones faster.
        lh = local_hours[hour]
        night = (lh < 8) | (lh >= 21)
        wait_morning = np.where(lh >= 21, 24 - lh + 8, 8 - lh) * 3_600_000_000
        delay = (rng.lognormal(np.log(35 * 60), 0.8, n) * 1_000_000).astype(np.int64)
        delay = np.where(night & ~urgent, wait_morning + delay, delay)
        delay = np.where(
            urgent, (rng.lognormal(np.log(12 * 60), 0.6, n) * 1e6).astype(np.int64), delay
        )
        acted = fetched + 30_000_000 + delay
        is_acted = (rng.random(n) < 0.93) & (acted < now_us)
        assigned = fetched + rng.integers(1_000_000, 60_000_000, n)
        due = np.empty(n, dtype=np.int64)
        for k, d in enumerate(departments):
            for u in (False, True):
                mask = (dept_i == k) & (urgent == u)
                due[mask] = fetched[mask] + due_offsets[(d, u)][hour[mask]]
        classified_s = _stamps(fetched + 2_000_000, dialect)
        owned = np.nonzero((dept_i != departments.index("none")) | urgent)[0]
        assigned_s, due_s = _stamps(assigned, dialect), _stamps(due, dialect)
        acted_s = _stamps(acted, dialect)
        # Plain lists: indexing them is several times faster than numpy scalars.
        ids_l, chan_l, auth_l = ids.tolist(), chan_i.tolist(), authors.tolist()
        fol_l, dept_l, text_l = followers.tolist(), dept_i.tolist(), texts.tolist()
        urg_l, senti_l, hour_l = urgent.tolist(), senti.tolist(), hour.tolist()
        acted_l, due_l, done_l = acted.tolist(), due.tolist(), is_acted.tolist()
        mention_rows = [
            (
                ids_l[i],
                "mastodon",
                f"seed-{ids_l[i]}",
                channels[chan_l[i]],
                f"https://social.example/@u{auth_l[i]}/{ids_l[i]}",
                f"u{auth_l[i]}@social.example",
                f"User {auth_l[i]}",
                fol_l[i],
                _text(departments[dept_l[i]], text_l[i]),
                "en",
                created_s[i],
                fetched_s[i],
                "public",
                "{}",
            )
            for i in range(n)
        ]
        class_rows = [
            (
                c_id + i,
                ids_l[i],
                departments[dept_l[i]],
                urg_l[i],
                SENTIMENTS[senti_l[i]],
                0.8,
                '{"seeded": true}',
                "seed",
                classified_s[i],
                True,
            )
            for i in range(n)
        ]
        rows: list[tuple[Any, ...]] = []
        steps: list[tuple[Any, ...]] = []
        notes: list[tuple[Any, ...]] = []
        for j, i in enumerate(owned.tolist()):
            d = departments[dept_l[i]]
            d = "triage" if d == "none" else d
            owner = owners[d][hour_l[i]] or "unassigned"
            done = done_l[i]
            late = acted_l[i] > due_l[i] if done else due_l[i] < now_us
            aid, mid, urg = a_id + j, ids_l[i], urg_l[i]
            rows.append(
                (
                    aid, mid, c_id + i, d, owner, urg, "rota", "acted" if done else "open",
                    1 if late else 0, fetched_s[i], assigned_s[i], due_s[i], None,
                    acted_s[i] if done else None, owner if done else None,
                    acted_s[i] if done else assigned_s[i],
                )
            )  # fmt: skip
            notes.append(
                (
                    f"seed:{aid}:assigned", "urgent" if urg else "assigned", owner, aid, mid,
                    urg, f"Mention {mid} is yours", "seeded", "sent", 1, assigned_s[i], None,
                    assigned_s[i],
                )
            )  # fmt: skip
            if late:
                steps.append(
                    (aid, 0, 1, "backup", owner, owner, due_s[i], due_s[i], "seeded")
                )  # fmt: skip
        with engine.begin() as conn:
            if dialect == "sqlite":
                # Consistent by construction: skip the per-row foreign-key look-ups (a PRAGMA
                # that applies before the transaction's first write), and keep index pages
                # in memory.
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                conn.exec_driver_sql("PRAGMA cache_size=-131072")
            out = _Writer(conn)
            out.write(storage.MentionRow, _MENTION_COLS, mention_rows)
            out.write(storage.ClassificationRow, _CLASS_COLS, class_rows)
            out.write(storage.AssignmentRow, _ASSIGN_COLS, rows)
            out.write(storage.NotificationRow, _NOTE_COLS, notes)
            out.write(storage.EscalationStepRow, _STEP_COLS, steps)
        if dialect == "sqlite":
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        counts = [
            counts[0] + n,
            counts[1] + n,
            counts[2] + len(rows),
            counts[3] + len(steps),
            counts[4] + len(notes),
        ]
        m_id, c_id, a_id = m_id + n, c_id + n, a_id + len(rows)
    if dialect == "postgresql":  # explicit ids: move the sequences past them
        with engine.begin() as conn:
            for model in (storage.MentionRow, storage.ClassificationRow, storage.AssignmentRow):
                name = model.__tablename__
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM {name}))"
                )
    mentions_n, classified_n, assigned_n, steps_n, notes_n = counts
    return SeedResult(
        mentions=mentions_n,
        classifications=classified_n,
        assignments=assigned_n,
        escalation_steps=steps_n,
        notifications=notes_n,
        seconds=time.perf_counter() - started,
    )


def _text(department: str, k: int) -> str:
    options = TEXTS[department]
    return options[k % len(options)].replace("{n}", str(10_000 + k))
