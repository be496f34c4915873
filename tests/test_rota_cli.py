"""``socialops rota who|check|export`` and ``socialops assign`` through Typer's CliRunner."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cli.main import app
from socialops import storage
from socialops.config import load_config
from socialops.db import session_scope
from socialops.rota import checks
from socialops.rota.schedule import RotaEngine
from socialops.settings import get_settings, reset_settings_cache
from tests.conftest import REPO
from tests.routing_fixtures import add_classified, small_org, write_org

runner = CliRunner()
DEFAULT = REPO / "config" / "northwind.yaml"


@pytest.fixture
def default_org(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[RotaEngine]:
    monkeypatch.setenv("SOCIALOPS_CONFIG", str(DEFAULT))
    monkeypatch.setenv("SOCIALOPS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SOCIALOPS_CHANNELS", raising=False)
    reset_settings_cache()
    yield RotaEngine(load_config(DEFAULT))
    reset_settings_cache()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def export(*args: str) -> tuple[int, str]:
    """The export's exact bytes (the runner's text output turns CRLF into LF)."""
    result = runner.invoke(app, ["rota", "export", "--ics", *args])
    return result.exit_code, result.stdout_bytes.decode("utf-8")


def test_who_json_shape_and_values(default_org: RotaEngine) -> None:
    code, out, err = invoke("rota", "who", "--at", "2026-12-01T23:12:00Z", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [r["department"] for r in rows] == [
        "customer_relations",
        "marketing",
        "public_relations",
        "hr",
        "legal",
        "triage",
    ]
    for row in rows:
        assert set(row) == {"department", "at", "shift", "primary", "backup", "queued"}
        assert row["queued"] == 0  # nothing waits in an empty database
        assert row["at"] == "2026-12-01T23:12:00Z"
        assert row["shift"] in {"business-hours", "out-of-hours", "holiday"}
        assert set(row["primary"]) == {"name", "handle", "timezone"}
        duty = default_org.on_duty(row["department"], datetime(2026, 12, 1, 23, 12, tzinfo=UTC))
        assert row["primary"]["handle"] == duty.primary
        assert row["backup"]["handle"] == duty.backup
        assert row["primary"]["name"] == default_org.people[duty.primary or ""].name
    by_department = {r["department"]: r for r in rows}
    assert by_department["customer_relations"]["shift"] == "out-of-hours"  # closed at 22:00
    assert by_department["hr"]["primary"]["timezone"] == "America/New_York"  # 18:12 there


def test_who_for_one_department_in_local_time(default_org: RotaEngine) -> None:
    # No offset: the organisation's zone (London). Legal closes for lunch.
    code, out, _ = invoke(
        "rota", "who", "--department", "legal", "--at", "2026-11-30T12:45", "--json"
    )
    assert code == 0
    [row] = json.loads(out)
    assert row["shift"] == "out-of-hours" and row["at"] == "2026-11-30T12:45:00Z"
    code, out, _ = invoke(
        "rota", "who", "--department", "legal", "--at", "2026-12-25T11:00Z", "--json"
    )
    assert json.loads(out)[0]["shift"] == "holiday"
    code, out, _ = invoke("rota", "who", "--at", "2026-11-30T10:00Z")
    assert code == 0 and "business-hours" in out and "customer_relations" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["rota", "who", "--department", "finance"], "unknown department 'finance'"),
        (["rota", "who", "--at", "next tuesday"], "is not an ISO 8601 instant"),
        (["rota", "export", "--person", "uma.shah"], "give the format: --ics"),
        (["rota", "export", "--ics"], "give exactly one of --person HANDLE or --department ID"),
        (["rota", "export", "--ics", "--person", "nobody"], "no person with handle 'nobody'"),
    ],
)
def test_bad_arguments_fail_with_one_line(
    default_org: RotaEngine, args: list[str], message: str
) -> None:
    code, out, err = invoke(*args)
    assert code == 1
    assert message in err and "Traceback" not in err + out


def test_check_passes_for_the_default_organisation(default_org: RotaEngine) -> None:
    code, out, err = invoke("rota", "check", "--weeks", "2", "--from", "2026-11-30")
    assert code == 0, err
    assert "Every department is covered every hour." in out
    assert "Nobody is over their limits." in out
    assert re.search(r"worst 28-day window max/min 1\.[0-4]\d", out)
    code, out, _ = invoke("rota", "check", "--weeks", "1", "--from", "2026-11-30", "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["uncovered"] == [] and report["over_limits"] == []
    assert report["fairness"]["max_consecutive_nights"] <= 3


def test_check_shows_the_organisation_wide_figure(default_org: RotaEngine) -> None:
    # The four weeks from 7 December 2026: Isla is away over Christmas.
    code, out, err = invoke("rota", "check", "--weeks", "4", "--from", "2026-12-07")
    assert code == 0, err
    org = re.search(
        r"organisation-wide \(everyone on a department rotation, hours as carried\): "
        r"worst 28-day window max/min (\d\.\d\d) \(from 2026-12-06: [\d.]+ to [\d.]+ a week\)",
        out,
    )
    assert org and float(org.group(1)) <= 1.5
    assert re.search(
        r"per rota, worst 28-day window max/min: customer_relations \d\.\d\d, "
        r"public_relations \d\.\d\d, hr \d\.\d\d",
        out,
    )
    assert "per available day (leave pro-rated): worst 28-day window max/min" in out
    code, out, _ = invoke("rota", "check", "--weeks", "4", "--from", "2026-12-07", "--json")
    fairness = json.loads(out)["fairness"]
    first = default_org.index_of(date(2026, 12, 6))
    expected = checks.fairness(default_org, first, first + 27)
    assert fairness["windows"] == 1
    assert fairness["org_wide"] == {
        "worst_ratio": expected.org_ratio,
        "worst_window": "2026-12-06",
        "hours_per_week": expected.org_hours,
    }
    assert fairness["org_wide"]["worst_ratio"] <= 1.5
    assert fairness["per_rota"] == expected.per_rota
    assert float(org.group(1)) == round(expected.org_ratio or 0, 2)


def test_check_lists_uncovered_hours_and_people_over_limits(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = small_org()
    people = {p["handle"]: p for p in data["people"]}
    people["eve"]["leave"] = [{"start": "2026-12-07", "end": "2026-12-07"}]
    data["rotas"]["departments"]["legal"]["on_call"] = {
        "people": ["ann", "bob"],
        "follow_the_sun": False,
    }
    monkeypatch.setenv("SOCIALOPS_CONFIG", str(write_org(tmp_path / "org.yaml", data)))
    reset_settings_cache()
    code, out, err = invoke("rota", "check", "--weeks", "2", "--from", "2026-11-30")
    assert code == 1
    assert "customer_relations: Mon 07 Dec 08:00 to Mon 07 Dec 12:00 (4 h, business-hours)" in out
    assert "triage: Mon 07 Dec 08:00 to Mon 07 Dec 12:00 (4 h, business-hours)" in out
    assert re.search(r"ann: on call \d nights in a row from 2026-11-\d\d \(limit 3\)", out)
    assert "2 uncovered stretch(es) (8 hours)" in err
    code, out, _ = invoke("rota", "check", "--weeks", "2", "--from", "2026-11-30", "--json")
    report = json.loads(out)
    assert code == 1 and not report["ok"]
    assert {(g["department"], g["hours"]) for g in report["uncovered"]} == {
        ("customer_relations", 4.0),
        ("triage", 4.0),
    }


def _unfold(text: str) -> list[str]:
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    lines: list[str] = []
    for line in text.split("\r\n")[:-1]:
        assert len(line.encode()) <= 75
        if line.startswith(" "):
            lines[-1] += line[1:]
        else:
            lines.append(line)
    return lines


def _events(lines: list[str]) -> list[dict[str, str]]:
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines and any(line.startswith("PRODID:") for line in lines)
    events: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for line in lines[1:-1]:
        if line == "BEGIN:VEVENT":
            assert current is None
            current = {}
        elif line == "END:VEVENT":
            assert current is not None
            events.append(current)
            current = None
        elif current is not None:
            key, _, value = line.partition(":")
            current[key] = value
    assert current is None
    return events


def test_ics_export_for_a_person_parses_back(default_org: RotaEngine, tmp_path: Path) -> None:
    args = ["--person", "uma.shah", "--from", "2026-11-30"]
    code, out = export(*args, "--weeks", "2")
    assert code == 0, out
    events = _events(_unfold(out))
    stamp = re.compile(r"^\d{8}T\d{6}Z$")
    for event in events:
        assert {"UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY"} <= set(event)
        assert stamp.match(event["DTSTART"]) and stamp.match(event["DTEND"])
        assert event["DTEND"] > event["DTSTART"] and event["UID"].endswith("@socialops")
    uids = [e["UID"] for e in events]
    assert len(uids) == len(set(uids))
    # Every on-call stretch Uma holds in those two weeks, and only those.
    start = datetime(2026, 11, 30, tzinfo=UTC)
    end = start + timedelta(weeks=2)
    expected = sorted(
        interval.start.strftime("%Y%m%dT%H%M%SZ")
        for rota in default_org.rotations_of("uma.shah")
        for shift in default_org.shifts(rota, start, end)
        if "uma.shah" in (shift.primary, shift.backup)
        for interval in shift.intervals
        if interval.end > start and interval.start < end
    )
    on_call = sorted(e["DTSTART"] for e in events if e["CATEGORIES"] == "on-call")
    assert on_call == expected and len(expected) >= 3
    business = [e for e in events if e["CATEGORIES"] == "business-hours"]
    assert len(business) == 30  # Mon-Fri, three departments, two weeks (09:00-17:00 New York)
    assert {e["SUMMARY"] for e in business} == {
        "Business hours: People (HR)",
        "Business hours: Legal",
        "Business hours: Public relations",
    }
    # Stable UIDs: exporting again (to a file) gives the same events.
    target = tmp_path / "uma.ics"
    code, out = export(*args, "--weeks", "2", "--output", str(target))
    assert code == 0 and f"({len(events)} events)" in out
    assert [e["UID"] for e in _events(_unfold(target.read_bytes().decode()))] == uids


def test_ics_export_for_a_department_names_who_is_on_call(default_org: RotaEngine) -> None:
    code, out = export("--department", "legal", "--from", "2026-12-21", "--weeks", "1")
    assert code == 0
    events = _events(_unfold(out))
    start = datetime(2026, 12, 21, tzinfo=UTC)
    end = start + timedelta(weeks=1)
    stretches = sorted(
        (
            (i.start, s)
            for s in default_org.shifts("hr", start, end)
            for i in s.intervals
            if start < i.end and i.start < end
        ),
        key=lambda pair: pair[0],
    )
    assert len(events) == len(stretches)
    first = stretches[0][1]
    name = default_org.people[first.primary or ""].name
    assert events[0]["SUMMARY"] == f"On call: {name} (People (HR) + Legal)"
    assert "Backup: " in events[0]["DESCRIPTION"]
    # Isla is on leave over Christmas: never on call for legal that week.
    assert all("Isla Fraser" not in e["SUMMARY"] for e in events)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_assign_hands_a_mention_to_a_person(
    socialops_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope(get_settings().resolved_database_url()) as session:
        mention = add_classified(
            session,
            external_id="a1",
            department="legal",
            fetched_at=datetime(2026, 11, 30, 10, tzinfo=UTC),
        )
    code, out, err = invoke("assign", str(mention), "--to", "daniel.brooks", "--by", "grace")
    assert code == 0, err
    assert f"mention {mention} (legal) is now Daniel Brooks's, due Mon 30 Nov 15:00 GMT" in out
    with session_scope(get_settings().resolved_database_url()) as session:
        audit = session.execute(
            select(storage.AuditRow).where(storage.AuditRow.action == "assign")
        ).scalar_one()
        assert audit.actor == "cli:grace" and audit.details["to"] == "daniel.brooks"
    code, _, err = invoke("assign", str(mention), "--to", "nobody")
    assert code == 1 and "no person with handle 'nobody'" in err
    code, _, err = invoke("assign", "999999", "--to", "daniel.brooks")
    assert code == 1 and "no mention with id 999999" in err
