"""The weekly report's figures, checked against answers worked out by hand, on both databases."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from socialops import storage
from socialops.config import ConfigError, OrgConfig, load_config
from socialops.db import session_scope
from socialops.report.metrics import WeeklyReport, build_report, on_call_hours
from socialops.report.render import render
from socialops.report.week import IsoWeek, WeekError
from socialops.rota.schedule import RotaEngine

ORG_YAML = """
organisation: {name: Test Coffee, timezone: Europe/London}
channels:
  - {name: chan-a, platform: mastodon, base_url: "http://127.0.0.1:1/a", token_env: TOKEN_A}
  - {name: chan-b, platform: mastodon, base_url: "http://127.0.0.1:1/b", token_env: TOKEN_B}
departments:
  customer_relations:
    name: Care
    timezone: Europe/London
    business_hours: {mon-fri: ["09:00-17:00"]}
    sla:
      urgent: {first_response: 30m, clock: around-the-clock}
      normal: {first_response: 4h, clock: around-the-clock}
    escalation: [{to: backup, after: 0m}, {to: lead, after: 30m}]
people:
  - {handle: ann, name: Ann, email: ann@x.example, timezone: Europe/London,
     departments: [customer_relations], roles: [agent, lead]}
  - {handle: bob, name: Bob, email: bob@x.example, timezone: Europe/London,
     departments: [customer_relations], roles: [agent]}
rotas:
  epoch: 2026-01-05
  departments:
    customer_relations:
      business_hours: [ann, bob]
      on_call: {people: [ann, bob], handover: daily, handover_time: "09:00"}
reports:
  recipients: [ann, bob]
"""

WEEK = "2026-W47"  # Mon 16 Nov - Sun 22 Nov 2026; London is on GMT (= UTC) all week
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


@pytest.fixture
def org(tmp_path: Path) -> OrgConfig:
    path = tmp_path / "org.yaml"
    path.write_text(ORG_YAML, encoding="utf-8")
    return load_config(path)


# (key, created, channel, classification (department, urgent, sentiment) or None,
#  owner, seconds to the first action or None (still open))
MENTIONS = [
    ("m1", at(16, 10), "chan-a", ("customer_relations", False, "negative"), "ann", 600),
    ("m2", at(16, 20), "chan-a", ("customer_relations", False, "neutral"), "ann", 36000),
    ("m3", at(17, 12), "chan-b", ("customer_relations", True, "negative"), "ann", 120),
    ("m4", at(18, 3, 30), "chan-b", ("customer_relations", True, "negative"), "bob", 3600),
    ("m5", at(21, 11), "chan-a", ("customer_relations", False, "positive"), "bob", None),
    ("m6", at(22, 23, 59, 59), "chan-b", ("none", False, "positive"), None, None),
    ("m7", at(20, 9, 30), "chan-a", None, None, None),
    ("m8", at(15, 23), "chan-a", ("customer_relations", False, "negative"), None, None),
    ("m9", at(19, 14), "chan-b", ("customer_relations", False, "positive"), "bob", 1800),
]


def seed_by_hand(url: str, rows: list[tuple] = MENTIONS) -> dict[str, int]:  # type: ignore[type-arg]
    ids: dict[str, int] = {}
    with session_scope(url) as session:
        for key, created, channel, decision, owner, acted_after in rows:
            mention = storage.MentionRow(
                platform="mastodon",
                external_id=key,
                channel=channel,
                url=f"https://social.example/{key}",
                author_handle=f"{key}@social.example",
                author_followers=100 if key != "m3" else 5000,
                text=f"text of {key}",
                lang="en",
                created_at=created,
                fetched_at=created + timedelta(seconds=60),
                raw={},
            )
            session.add(mention)
            session.flush()
            ids[key] = mention.id
            if decision is None:
                continue
            department, urgent, sentiment = decision
            classification = storage.ClassificationRow(
                mention_id=mention.id,
                department=department,
                urgent=urgent,
                sentiment=sentiment,
                confidence=0.9,
                explanation={},
                model_version="test",
                classified_at=created + timedelta(seconds=61),
                is_current=True,
            )
            session.add(classification)
            if owner is None:
                continue
            received = created + timedelta(seconds=60)
            due = received + (timedelta(minutes=30) if urgent else timedelta(hours=4))
            acted = None if acted_after is None else created + timedelta(seconds=acted_after)
            assignment = storage.AssignmentRow(
                mention_id=mention.id,
                department=department,
                assignee=owner,
                urgent=urgent,
                source="rota",
                status="open" if acted is None else "acted",
                escalation_level=0,
                received_at=received,
                assigned_at=received,
                due_at=due,
                acted_at=acted,
                acted_by=owner if acted else None,
                updated_at=acted or received,
            )
            session.add(assignment)
            session.flush()
            session.add(
                storage.NotificationRow(
                    dedupe_key=f"assigned:{key}",
                    event="urgent" if urgent else "assigned",
                    recipient=owner,
                    assignment_id=assignment.id,
                    mention_id=mention.id,
                    urgent=urgent,
                    title="t",
                    body="b",
                    status="sent",
                    attempts=1,
                    created_at=received,
                )
            )
            if key == "m4":  # urgent, due 04:01, acted 04:30: escalated to the backup
                session.add(
                    storage.EscalationStepRow(
                        assignment_id=assignment.id,
                        chain=0,
                        level=1,
                        target="backup",
                        from_person="bob",
                        to_person="ann",
                        due_at=due,
                        fired_at=due,
                        note="",
                    )
                )
        session.add(
            storage.QuarantineRow(
                fingerprint="q1",
                channel="chan-a",
                platform="mastodon",
                stage="quality",
                reason="text is empty",
                raw={},
                quarantined_at=at(18, 9),
            )
        )
    return ids


def csv_figures(report: WeeklyReport) -> dict[tuple[str, str, str], str]:
    """The report's CSV as {(section, key, measure): value}."""
    return {
        (r["section"], r["key"], r["measure"]): r["value"]
        for r in csv.DictReader(io.StringIO(render(report, "csv")))
    }


def report_for(url: str, org: OrgConfig, week: str = WEEK) -> WeeklyReport:
    with session_scope(url) as session:
        return build_report(
            session=session,
            engine=RotaEngine(org),
            week=IsoWeek.parse(week, org.organisation.timezone),
            organisation=org.organisation.name,
            channels=[c.name for c in org.channels],
            now=NOW,
        )


def test_every_figure_of_a_small_week_matches_the_hand_count(
    database_url: str, org: OrgConfig
) -> None:
    seed_by_hand(database_url)
    report = report_for(database_url, org)

    # Volumes: m1-m7 and m9 are in the week (m8 is the Sunday before).
    assert report.total == 8
    assert report.volume_by_channel == {"chan-a": 4, "chan-b": 4}
    assert report.volume_by_department == {"customer_relations": 6, "none": 1, "unclassified": 1}
    assert sum(report.volume_by_channel.values()) == sum(report.volume_by_department.values())
    assert report.urgent == 2
    assert report.volume_by_day == {
        "2026-11-16": 2, "2026-11-17": 1, "2026-11-18": 1, "2026-11-19": 1,
        "2026-11-20": 1, "2026-11-21": 1, "2026-11-22": 1,
    }  # fmt: skip
    cells = {(d, h): n for d, row in enumerate(report.heatmap) for h, n in enumerate(row) if n}
    assert cells == {
        (0, 10): 1, (0, 20): 1, (1, 12): 1, (2, 3): 1, (3, 14): 1, (4, 9): 1, (5, 11): 1,
        (6, 23): 1,
    }  # fmt: skip

    # Sentiment, and against the previous week (m8 alone: one negative).
    assert report.sentiment["counts"] == {"negative": 3, "neutral": 1, "positive": 3}
    assert report.sentiment["previous_counts"] == {"negative": 1, "neutral": 0, "positive": 0}
    assert report.sentiment["change_in_share"]["negative"] == round(3 / 7 - 1, 4)

    # Response times (seconds): 120, 600, 1800, 3600, 36000. Nearest rank: the median is the
    # 3rd (ceil(5 x 0.5)), the p90 the 5th (ceil(5 x 0.9)).
    overall = report.response_time["overall"]
    assert overall["all"] == {"count": 5, "median_seconds": 1800, "p90_seconds": 36000}
    # Business hours (Mon-Fri 09-17): m1 600, m3 120, m9 1800 -> 2nd and 3rd of 3.
    assert overall["business_hours"] == {"count": 3, "median_seconds": 600, "p90_seconds": 1800}
    # Out of hours: m2 36000 (Mon 20:00), m4 3600 (Wed 03:30) -> 1st and 2nd of 2.
    assert overall["out_of_hours"] == {"count": 2, "median_seconds": 3600, "p90_seconds": 36000}
    by_channel = report.response_time["by_channel"]
    assert by_channel["chan-a"]["all"] == {"count": 2, "median_seconds": 600, "p90_seconds": 36000}
    assert by_channel["chan-b"]["all"] == {"count": 3, "median_seconds": 1800, "p90_seconds": 3600}

    # SLA: met m1, m3, m9; breached m2 (10 h for 4 h), m4 (1 h for 30 min), m5 (never, due Sat).
    care = report.sla["by_department"]["customer_relations"]
    assert (care["met"], care["breached"], care["pending"], care["items"]) == (3, 3, 0, 6)
    assert care["compliance"] == 0.5
    assert report.sla["worst"] == ["customer_relations"]
    assert report.escalations == {"customer_relations": {"backup": 1}}
    assert report.backlog_at_end == {"customer_relations": 1}  # m5, still open
    assert report.notifications == {"assigned": {"sent": 4}, "urgent": {"sent": 2}}
    assert report.quarantine == {
        "total": 1,
        "by_channel": {"chan-a": 1},
        "by_stage": {"quality": 1},
    }
    assert report.triage_share == 0.0

    # On call: both in the business-hours pool (5 x 8 = 40 h each); the other 128 h of the
    # week are out of hours, each hour with one primary and one backup.
    people = {p.handle: p for p in report.oncall_load.people}
    assert people["ann"].business_hours == people["bob"].business_hours == 40
    assert people["ann"].on_call_primary + people["bob"].on_call_primary == 128
    assert people["ann"].on_call_backup + people["bob"].on_call_backup == 128
    assert (people["ann"].items, people["ann"].acted) == (3, 3)
    assert (people["bob"].items, people["bob"].acted) == (3, 2)
    assert report.approvals["status"] == report.publishing["status"] == "not recorded"
    assert [n.author for n in report.notable["urgent"]] == [
        "m4@social.example",
        "m3@social.example",
    ]  # newest first
    assert report.notable["most_followed"][0].author == "m3@social.example"


def test_on_call_hours_match_who_the_engine_says_is_on_duty(org: OrgConfig) -> None:
    engine = RotaEngine(org)
    week = IsoWeek.parse(WEEK, "Europe/London")
    hours = on_call_hours(engine, week)
    sampled: dict[str, float] = {"ann": 0.0, "bob": 0.0}
    at_, step = week.start, timedelta(minutes=15)
    while at_ < week.end:
        duty = engine.on_duty("customer_relations", at_)
        if duty.shift != "business-hours" and duty.primary:
            sampled[duty.primary] += 0.25
        at_ += step
    assert {h: hours[h]["primary"] for h in sampled} == sampled


def test_an_empty_week_and_a_week_of_one_mention(database_url: str, org: OrgConfig) -> None:
    empty = report_for(database_url, org)
    assert empty.total == 0 and empty.volume_by_channel == {"chan-a": 0, "chan-b": 0}
    assert empty.response_time["overall"]["all"] == {
        "count": 0,
        "median_seconds": None,
        "p90_seconds": None,
    }
    assert empty.sla["compliance"] is None
    seed_by_hand(database_url, [MENTIONS[0]])
    one = report_for(database_url, org)
    assert one.total == 1
    assert one.response_time["overall"]["all"] == {
        "count": 1,
        "median_seconds": 600,
        "p90_seconds": 600,
    }
    _render_all(empty)
    _render_all(one)


def _render_all(report: WeeklyReport) -> None:
    from socialops.report.render import FORMATS, render

    for fmt in FORMATS:
        assert render(report, fmt)


def test_iso_week_53_and_the_daylight_saving_weeks(database_url: str, org: OrgConfig) -> None:
    w53 = IsoWeek.parse("2026-W53", "Europe/London")
    assert (w53.monday.isoformat(), w53.hours) == ("2026-12-28", 168)
    with pytest.raises(WeekError):
        IsoWeek.parse("2025-W53", "Europe/London")
    assert IsoWeek.containing(datetime(2027, 1, 2, tzinfo=UTC), "Europe/London").label == "2026-W53"
    # Clocks go back on Sun 25 Oct 2026 (02:00 BST -> 01:00 GMT): 169 hours; forward on
    # Sun 29 Mar 2026: 167.
    autumn = IsoWeek.parse("2026-W43", "Europe/London")
    spring = IsoWeek.parse("2026-W13", "Europe/London")
    assert (autumn.hours, spring.hours) == (169, 167)
    assert autumn.start == datetime(2026, 10, 18, 23, tzinfo=UTC)  # Mon 00:00 BST
    seed_by_hand(
        database_url,
        [
            # 01:30 local twice: BST (00:30 UTC), then GMT (01:30 UTC)
            ("d1", datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "chan-a", None, None, None),
            ("d2", datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "chan-a", None, None, None),
            # Monday 00:30 BST is still Sunday 23:30 UTC: in the week, Monday hour 0
            ("d3", datetime(2026, 10, 18, 23, 30, tzinfo=UTC), "chan-b", None, None, None),
            ("d4", datetime(2026, 12, 31, 12, tzinfo=UTC), "chan-b", None, None, None),
        ],
    )
    report = report_for(database_url, org, "2026-W43")
    assert report.total == 3 and report.hours == 169
    assert report.heatmap[6][1] == 2 and report.heatmap[0][0] == 1
    assert report_for(database_url, org, "2026-W53").total == 1
    # Every hour of the long week is someone's: 40 business hours (both on shift), and the
    # other 129 with one primary on call.
    assert all(p.business_hours == 40 for p in report.oncall_load.people)
    assert sum(p.on_call_primary for p in report.oncall_load.people) == 129
    _render_all(report)


def test_a_report_recipient_who_does_not_exist_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(
        ORG_YAML.replace("recipients: [ann, bob]", "recipients:\n    - ann\n    - zed"),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "reports.recipients[1]: no person with handle 'zed'" in message
    line = ORG_YAML.count("\n", 0, ORG_YAML.index("reports:")) + 4
    assert f"org.yaml:{line}:" in message
    path.write_text(ORG_YAML.replace("recipients: [ann, bob]", "link_base_url: ftp://x"))
    with pytest.raises(ConfigError, match=r"reports\.link_base_url"):
        load_config(path)
