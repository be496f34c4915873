"""`socialops demo` tells the truth: every figure its closing summary prints equals what the
database holds afterwards, counted here with the test's own SQL (never with the functions that
printed them), and the ingest table's figures add up.

The demo runs as a user runs it (a subprocess, the sandbox with its injected faults, the
session's Prefect server), on a smaller sandbox (``--rate-per-hour``) so the test stays short.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

INT = r"(\d+)"


def section(output: str, start: str, end: str) -> list[str]:
    """The lines of ``output`` after the first line containing ``start``, up to ``end``."""
    lines = output.splitlines()
    first = next(i for i, line in enumerate(lines) if start in line)
    last = next(i for i in range(first + 1, len(lines)) if end in lines[i])
    return lines[first + 1 : last]


def rows(lines: list[str], pattern: str) -> Iterator[tuple[str, ...]]:
    for line in lines:
        if found := re.fullmatch(pattern, line.strip(" │┃")):
            yield found.groups()


class Database:
    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path)

    def by(self, sql: str) -> dict[str, int]:
        return {str(k): int(n) for k, n in self.conn.execute(sql).fetchall()}

    def one(self, sql: str) -> int:
        return int(self.conn.execute(sql).fetchone()[0])


# Notifications the routing and escalation runs send (not sign-off's or the watchdog's).
ROUTING_EVENTS = "('assigned', 'urgent', 'escalated', 'handover', 'due_soon', 'released', 'linked')"


def run_demo(home: Path) -> str:
    """``socialops demo`` as a user runs it, on ``home``, against the session's Prefect server."""
    from prefect.settings import PREFECT_API_URL

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOCIALOPS_", "PREFECT_"))}
    env.update(
        SOCIALOPS_HOME=str(home),
        PREFECT_API_URL=str(PREFECT_API_URL.value()),
        COLUMNS="250",  # no table wraps a figure
        PYTHONPATH=str(REPO),
    )
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "demo", "--rate-per-hour", "10"],
        cwd=home.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return output


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, prefect_api: None) -> tuple[str, Path]:
    home = tmp_path_factory.mktemp("demo") / "home"
    return run_demo(home), home / "socialops.db"


@pytest.mark.e2e
def test_every_ingest_figure_adds_up_and_what_was_kept_is_in_the_database(
    demo: tuple[str, Path],
) -> None:
    output, path = demo
    db = Database(path)
    lines = section(output, "Mentions ingested", "Mentions classified")
    header = next(line for line in lines if "fetched" in line).split()
    assert header[:8] == [
        "channel",
        "fetched",
        "skipped",
        "quarantined",
        "stored",
        "already",
        "stored",
        "outside",
    ]
    channels = {
        name: tuple(map(int, figures))
        for name, *figures in rows(lines, r"([a-z]+-[a-z]+)" + r"\s+(\d+)" * 6 + r"\s+ok.*")
    }
    stored = db.by("SELECT channel, count(*) FROM mentions GROUP BY channel")
    quarantined = db.by("SELECT channel, count(*) FROM quarantine GROUP BY channel")
    assert (
        set(channels)
        == set(stored)
        == {
            "mastodon-main",
            "mastodon-help",
            "bluesky-main",
            "reddit-main",
            "x-main",
        }
    )
    for name, (fetched, skipped, kept_aside, new, already, outside) in channels.items():
        assert fetched == skipped + kept_aside + new + already + outside, name
        assert new == stored[name], name
        assert kept_aside == quarantined.get(name, 0), name
        assert already == 0, name  # a fresh database holds nothing yet
    [total] = rows(lines, r"total" + r"\s+(\d+)" * 6)
    assert [int(n) for n in total] == [sum(c[i] for c in channels.values()) for i in range(6)]


@pytest.mark.e2e
def test_every_classification_and_routing_figure_equals_the_database(
    demo: tuple[str, Path],
) -> None:
    output, path = demo
    db = Database(path)

    lines = section(output, "Mentions classified", "Mentions routed")
    classified = dict(rows(lines, r"([a-z_]+)\s+(\d+)"))
    current = "FROM classifications WHERE is_current"
    per_department = db.by(f"SELECT department, count(*) {current} GROUP BY department")
    assert {k: int(v) for k, v in classified.items() if k not in {"total", "urgent"}} == (
        per_department
    )
    assert int(classified["total"]) == db.one(f"SELECT count(*) {current}")
    assert int(classified["urgent"]) == db.one(f"SELECT count(*) {current} AND urgent")

    lines = section(output, "Mentions routed", "drafts:")
    owned_queued = {d: (int(o), int(q)) for d, o, q in rows(lines, r"([a-z_]+)\s+(\d+)\s+(\d+)")}
    owned = db.by(
        "SELECT department, count(*) FROM assignments WHERE assignee IS NOT NULL "
        "GROUP BY department"
    )
    queued = db.by(
        "SELECT department, count(*) FROM assignments WHERE status = 'queued' GROUP BY department"
    )
    assert {d: o for d, (o, _q) in owned_queued.items()} == {
        d: owned.get(d, 0) for d in owned_queued
    }
    assert {d: q for d, (_o, q) in owned_queued.items()} == {
        d: queued.get(d, 0) for d in owned_queued
    }
    assert set(owned) | set(queued) == set(owned_queued)
    per_person = db.by(
        "SELECT assignee, count(*) FROM assignments WHERE assignee IS NOT NULL GROUP BY assignee"
    )
    shown = {p: int(n) for p, n in rows(lines, r"([a-z]+\.[a-z]+)\s+(\d+)")}
    assert shown and all(per_person[p] == n for p, n in shown.items())
    assert sorted(shown.values(), reverse=True) == sorted(per_person.values(), reverse=True)[:8]

    def figure(label: str) -> str:
        line = next(line for line in lines if line.strip().startswith(label))
        return line.strip()[len(label) :].strip()

    assert int(figure("owned (given to a person now)")) == db.one(
        "SELECT count(*) FROM assignments WHERE assignee IS NOT NULL"
    )
    assert int(figure("queued for the morning (or until someone has room)")) == db.one(
        "SELECT count(*) FROM assignments WHERE status = 'queued'"
    )
    assert int(figure("urgent (given to the person on call)")) == db.one(
        "SELECT count(*) FROM assignments WHERE urgent AND assignee IS NOT NULL"
    )
    sent = re.fullmatch(r"(\d+) sent \((\d+) urgent\)(.*)", figure("notifications"))
    assert sent is not None, figure("notifications")
    routing = f"FROM notifications WHERE event IN {ROUTING_EVENTS}"
    assert int(sent[1]) == db.one(f"SELECT count(*) {routing} AND status = 'sent'")
    assert int(sent[2]) == db.one(f"SELECT count(*) {routing} AND status = 'sent' AND urgent")
    # An urgent page never waits behind a cap: none is left pending after the routing run.
    assert db.one(f"SELECT count(*) {routing} AND urgent AND status = 'pending'") == 0
    # Every urgent item owned got its page (an urgent page for a conversation may tell the
    # owner that the same person raised it on another platform: no second assignment).
    assert (
        db.one(
            "SELECT count(*) FROM assignments a WHERE a.urgent AND a.assignee IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.assignment_id = a.id "
            "AND n.urgent AND n.status = 'sent')"
        )
        == 0
    )
    for label, status in (("failed (retried later)", "failed"), ("no URL set", "no_target")):
        count = db.one(f"SELECT count(*) {routing} AND status = '{status}'")
        assert (f"{count} {label}" in sent[3]) if count else (label not in sent[3])


@pytest.mark.e2e
def test_every_sign_off_figure_and_the_webhook_count_equal_the_database(
    demo: tuple[str, Path],
) -> None:
    output, path = demo
    db = Database(path)
    drafts = re.search(
        r"drafts: (\d+) written \(([^)]*)\); (\d+) answered elsewhere; (\d+) approver notices "
        r"queued; (\d+) planned posts expired",
        output,
    )
    assert drafts is not None, output
    replies = "FROM drafts WHERE kind = 'reply'"
    assert int(drafts[1]) == db.one(f"SELECT count(*) {replies}")
    written = {d: int(n) for d, n in (part.split() for part in drafts[2].split(", "))}
    assert written == db.by(f"SELECT department, count(*) {replies} GROUP BY department")
    # No department of the default organisation answers elsewhere (`replies: none`).
    assert int(drafts[3]) == 0
    assert int(drafts[4]) == db.one("SELECT count(*) FROM notifications WHERE event = 'review'")
    assert int(drafts[5]) == db.one(
        "SELECT count(*) FROM drafts WHERE kind = 'post' AND status = 'expired'"
    )

    lines = section(output, "sign-off by the demo's approvers", "approvals given by")
    table = {d: (int(n), int(a)) for d, n, a in rows(lines, r"([a-z_]+)\s*│\s*(\d+)\s*│\s*(\d+)")}
    assert {d: n for d, (n, _a) in table.items()} == written
    approved = db.by(
        f"SELECT department, count(*) {replies} AND approved_at IS NOT NULL GROUP BY department"
    )
    assert {d: a for d, (_n, a) in table.items()} == {d: approved.get(d, 0) for d in table}

    by = re.search(r"approvals given by: (.*)", output)
    assert by is not None
    given = {p: int(n) for p, n in (part.split() for part in by[1].split(", "))}
    assert given == db.by("SELECT approver, count(*) FROM draft_approvals GROUP BY approver")

    published = re.search(
        r"published: (\d+) \((\d+) found on the platform after an unknown outcome, not posted "
        r"again\); (\d+) refused by the platform; (\d+) transient errors retried; (\d+) still "
        r"to publish on the next run",
        output,
    )
    assert published is not None, output
    assert int(published[1]) == db.one("SELECT count(*) FROM drafts WHERE status = 'published'")
    assert int(published[3]) == db.one("SELECT count(*) FROM drafts WHERE status = 'failed'")
    assert int(published[5]) == db.one(
        "SELECT count(*) FROM drafts WHERE status IN ('approved', 'publishing')"
    )

    notified = re.search(r"notified\s+(\d+) messages reached the sandbox's webhook sink", output)
    assert notified is not None
    assert int(notified[1]) == db.one("SELECT count(*) FROM notifications WHERE status = 'sent'")
    assert ".venv/bin/socialops inbox" in output and ".venv/bin/socialops quarantine" in output


@pytest.mark.e2e
def test_the_demos_ingest_run_logs_each_channels_figures_as_the_table_shows_them(
    demo: tuple[str, Path],
) -> None:
    """Through the CLI's logging set-up (not the test's): the ingest flow run named in the
    summary has, per channel, the line with the figures the table printed."""
    import time

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    output, _path = demo
    found = re.search(r"flow run\s+([0-9a-f-]{36}) \(COMPLETED\)", output)
    assert found is not None
    lines = section(output, "Mentions ingested", "Mentions classified")
    channels = {
        name: figures
        for name, *figures in rows(lines, r"([a-z]+-[a-z]+)" + r"\s+(\d+)" * 6 + r"\s+ok.*")
    }
    time.sleep(1.0)
    with get_client(sync_client=True) as client:
        logs = [
            log.message
            for log in client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[found[1]]))
            )
        ]
    for name, (fetched, skipped, aside, new, already, outside) in channels.items():
        expected = (
            f"{name}: fetched {fetched} = {skipped} skipped + {aside} quarantined + {new} stored"
            f" + {already} already stored + {outside} outside the window"
        )
        assert any(m.startswith(expected) for m in logs), (expected, logs)


@pytest.mark.e2e
def test_the_demo_runs_again_on_the_same_home_cleanly_and_stores_nothing_twice(
    demo: tuple[str, Path],
) -> None:
    """Last in this file: it adds to the database the tests above compare with the summary."""
    first, path = demo
    again = run_demo(path.parent)
    for output in (first, again):
        assert "Mentions ingested" in output and "where to look" in output
        assert "Traceback" not in output and "ERROR" not in output
        assert "COMPLETED" in output
    assert "mastodon-main" in first
    # Every channel read cleanly again: no position left by the first run trips the second.
    lines = section(again, "Mentions ingested", "Mentions classified")
    ok = {name for name, *_ in rows(lines, r"([a-z]+-[a-z]+)" + r"\s+(\d+)" * 6 + r"\s+ok.*")}
    assert ok == {"mastodon-main", "mastodon-help", "bluesky-main", "reddit-main", "x-main"}
    db = Database(path)
    # Each reply was published at most once over the two runs.
    assert (
        db.one(
            "SELECT count(*) FROM (SELECT in_reply_to_id FROM drafts WHERE status = 'published'"
            " AND in_reply_to_id IS NOT NULL GROUP BY in_reply_to_id HAVING count(*) > 1)"
        )
        == 0
    )
