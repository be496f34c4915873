"""The seed's random history, drawn with numpy a column at a time (``socialops seed``).

The shape of a believable week (who writes about what, when, how fast people answer: quiet
nights, lunchtime and evening peaks, calmer weekends, replies within minutes by day and the
next morning by night) and one batch of mentions drawn from it. Rows are built from these
columns in ``seed_rows``; nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from socialops.config import OrgConfig
    from socialops.report.week import IsoWeek
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
AUTHORS = 60_000  # distinct people writing
HOUR_US = 3_600_000_000


def micros(at: datetime) -> int:
    """Microseconds since the epoch."""
    return (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


@dataclass(frozen=True)
class Approvers:
    """Per department: who may approve (handle, role), from the organisation file."""

    pools: dict[str, list[tuple[str, str]]]
    required: dict[tuple[str, bool], int]

    @classmethod
    def of(cls, org: OrgConfig, departments: Sequence[str]) -> Approvers:
        pools: dict[str, list[tuple[str, str]]] = {}
        required: dict[tuple[str, bool], int] = {}
        configs = {str(k): v for k, v in org.departments.items()}
        for d in departments:
            config = configs.get(d)
            roles = set(config.sign_off.approver_roles) if config else {"lead", "approver"}
            pools[d] = [
                (p.handle, "lead" if "lead" in p.roles else "approver")
                for p in org.people
                if d in p.departments and roles & set(p.roles)
            ] or [(f"{d}-lead", "lead")]
            for urgent in (False, True):
                required[(d, urgent)] = config.sign_off.required(urgent=urgent) if config else 1
        return cls(pools, required)

    def pool_without(self, department: str, person: str | None) -> list[tuple[str, str]]:
        """Who approves what ``person`` wrote: never the writer, unless nobody else may."""
        pool = self.pools[department]
        return [p for p in pool if p[0] != person] or pool


@dataclass(frozen=True)
class Shape:
    """What every batch draws from: the week's hours, departments, channels and people."""

    dialect: str
    week: IsoWeek
    departments: list[str]
    channels: list[str]
    weights: np.ndarray  # per UTC hour of the week: its share of the mentions
    local_hours: np.ndarray  # per UTC hour: the local hour
    owners: np.ndarray  # (department, UTC hour): who is on duty ("unassigned": nobody)
    due: np.ndarray  # (department, urgent, UTC hour): µs from arrival to due
    approvers: Approvers
    now_us: int

    @classmethod
    def of(
        cls, *, dialect: str, org: OrgConfig, week: IsoWeek, rota: RotaEngine | None, now: datetime
    ) -> Shape:
        departments = list(DEPARTMENTS)
        hours = round(week.hours)
        weights, local_hours = np.zeros(hours), np.zeros(hours, dtype=np.int64)
        owners = np.full((len(departments), hours), "unassigned", dtype=object)
        due = np.zeros((len(departments), 2, hours), dtype=np.int64)
        for h in range(hours):
            at = week.start + timedelta(hours=h)
            day, hour = week.local_slot(at)
            weights[h] = HOURLY[hour] * WEEKDAY[day % 7]
            local_hours[h] = hour
            for k, d in enumerate(departments):
                known = rota is not None and d in rota.calendars
                if known and rota is not None:
                    owners[k, h] = rota.on_duty(d, at).primary or "unassigned"
                for u in (False, True):
                    if known and rota is not None:
                        offset = rota.due_at(d, urgent=u, start=at) - at
                    else:
                        offset = timedelta(minutes=30) if u else timedelta(hours=4)
                    due[k, int(u), h] = int(offset.total_seconds() * 1_000_000)
        return cls(
            dialect=dialect,
            week=week,
            departments=departments,
            channels=[c.name for c in org.channels] or ["mastodon-main"],
            weights=weights / weights.sum(),
            local_hours=local_hours,
            owners=owners,
            due=due,
            approvers=Approvers.of(org, departments),
            now_us=micros(now),
        )

    @property
    def load(self) -> np.ndarray:
        """Per UTC hour: 1.0 at the week's busiest hour."""
        load: np.ndarray = self.weights / self.weights.max()
        return load

    def timeline(self, rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Every mention's UTC hour of the week and creation instant, in time order (as
        ingest stores them: every index then grows at its end)."""
        hour = rng.choice(len(self.weights), size=count, p=self.weights)
        created = micros(self.week.start) + hour * HOUR_US + rng.integers(0, HOUR_US, count)
        order = np.argsort(created, kind="stable")
        return hour[order], created[order]


def until_morning(local_hour: np.ndarray) -> np.ndarray:
    """Microseconds from a night hour to 08:00 local (0 by day)."""
    night = (local_hour < 8) | (local_hour >= 21)
    hours = np.where(local_hour >= 21, 24 - local_hour + 8, 8 - local_hour)
    return np.where(night, hours * HOUR_US, 0)


class Batch:
    """One batch of mentions and what followed each, as columns (numpy arrays, one value per
    mention): drawn in a fixed order from ``rng``, so a seed is reproducible."""

    def __init__(
        self,
        rng: np.random.Generator,
        shape: Shape,
        ids: np.ndarray,
        hour: np.ndarray,
        created: np.ndarray,
    ) -> None:
        self.ids, self.hour, self.created = ids, hour, created
        self.n = len(ids)
        self._mentions(rng, shape)
        self._routing(rng, shape)
        self._signoff(rng, shape)

    def _mentions(self, rng: np.random.Generator, shape: Shape) -> None:
        """Who wrote what, where, when it was fetched, and how it was classified."""
        n, departments = self.n, shape.departments
        self.fetched = self.created + rng.integers(5_000_000, 240_000_000, n)
        share = np.array([DEPARTMENTS[d] for d in departments])
        self.dept = rng.choice(len(departments), size=n, p=share / share.sum())
        self.channel = rng.integers(0, len(shape.channels), n)
        urgent_share = np.array([URGENT_SHARE.get(d, 0.01) for d in departments])
        self.urgent = rng.random(n) < urgent_share[self.dept]
        negative = np.array([SENTIMENT[d][0] for d in departments])[self.dept]
        neutral = np.array([SENTIMENT[d][1] for d in departments])[self.dept]
        draw = rng.random(n)
        self.sentiment = np.where(draw < negative, 0, np.where(draw < negative + neutral, 1, 2))
        self.followers = np.minimum(rng.lognormal(5.0, 1.6, n), 5_000_000).astype(np.int64)
        self.author = rng.integers(0, AUTHORS, n)
        self.text = rng.integers(0, 1000, n)
        none_i = departments.index("none")
        # Urgent items and every department's items get an owner (triage takes "none" ones).
        self.owned = (self.dept != none_i) | self.urgent
        self.owner_dept = np.where(self.dept == none_i, departments.index("triage"), self.dept)

    def _routing(self, rng: np.random.Generator, shape: Shape) -> None:
        """At busy hours a normal item may wait in its department's queue first (people at
        their open-item cap); then it is acted on within minutes by day, the next morning
        by night, urgent ones faster at any hour."""
        n, hour, urgent, load = self.n, self.hour, self.urgent, shape.load
        self.queued = ~urgent & (rng.random(n) < 0.45 * load[hour] ** 3)
        wait = rng.lognormal(np.log(6 * 60), 0.7, n) * 1e6 * (0.5 + load[hour])
        self.queue_wait = np.where(self.queued, wait, 0).astype(np.int64)
        self.first_assigned = (
            self.fetched + rng.integers(1_000_000, 60_000_000, n) + self.queue_wait
        )
        self.still_queued = self.queued & (self.first_assigned > shape.now_us)
        delay = (rng.lognormal(np.log(35 * 60), 0.8, n) * 1_000_000).astype(np.int64)
        delay = np.where(urgent, 0, until_morning(shape.local_hours[hour])) + delay
        fast = (rng.lognormal(np.log(12 * 60), 0.6, n) * 1e6).astype(np.int64)
        self.acted = self.first_assigned + 30_000_000 + np.where(urgent, fast, delay)
        self.is_acted = (rng.random(n) < 0.93) & (self.acted < shape.now_us) & ~self.still_queued
        self.due = self.fetched + shape.due[self.dept, urgent.astype(np.int64), hour]
        # Whole seconds from creation to the action, rounded half up.
        self.response = (self.acted - self.created + 500_000) // 1_000_000
        now, later = shape.now_us, self.due + 1_800_000_000
        self.late = np.where(self.is_acted, self.acted > self.due, self.due < now)
        self.very_late = np.where(self.is_acted, self.acted > later, later < now)

    def _signoff(self, rng: np.random.Generator, shape: Shape) -> None:
        """Replies to most items acted on, approved within minutes by day, the next morning
        by night (urgent ones at once); a few rejected, a few refused by the platform."""
        n, urgent = self.n, self.urgent
        self.replied = self.owned & self.is_acted & (rng.random(n) < np.where(urgent, 0.9, 0.55))
        turnaround = (rng.lognormal(np.log(14 * 60), 0.9, n) * 1e6).astype(np.int64)
        last = len(shape.local_hours) - 1
        acted_hour = np.minimum(self.hour + (self.acted - self.created) // HOUR_US, last)
        night_wait = until_morning(shape.local_hours[acted_hour])
        self.approved = self.acted + np.where(urgent, turnaround // 3, turnaround + night_wait)
        self.outcome = rng.random(n)  # < 0.03 rejected, < 0.05 failed, else published
