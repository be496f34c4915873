"""Organisation-file validation for departments, people, rotas and notifications: every error
names the file, the line and the key path."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from socialops.config import ConfigError, OrgConfig, load_config
from socialops.rota.models import format_duration, parse_duration
from tests.conftest import REPO
from tests.routing_fixtures import small_org, write_org

DEFAULT = REPO / "config" / "northwind.yaml"


def _error(tmp_path: Path, data: dict[str, Any]) -> str:
    path = write_org(tmp_path / "org.yaml", data)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return str(caught.value)


def _line(path: Path, needle: str, nth: int = 0) -> int:
    hits = [i for i, text in enumerate(path.read_text().splitlines(), 1) if needle in text]
    return hits[nth]


def test_default_organisation_has_people_rotas_and_policies() -> None:
    org = load_config(DEFAULT)
    assert len(org.people) == 22
    legal = org.departments["legal"]
    assert legal.business_hours == {"mon-fri": ["09:00-12:30", "13:30-17:30"]}
    assert legal.sla.urgent.first_response == timedelta(minutes=30)
    assert legal.sla.normal.clock == "business-hours"
    assert [step.to for step in legal.escalation] == ["backup", "lead", "duty_manager"]
    assert legal.sign_off.approvals_required == 2
    assert all(d.quiet_out_of_hours for d in org.departments.values())  # the default
    assert org.rotas is not None and org.rotas.departments["legal"].on_call.shared_with == "hr"
    assert org.person("uma.shah").timezone == "America/New_York"
    # Loading with a channels override revalidates a dump of the whole file: it round-trips.
    assert OrgConfig.model_validate(org.model_dump()) == org


def test_an_unknown_person_in_a_rota_names_the_line(tmp_path: Path) -> None:
    data = small_org()
    data["rotas"]["departments"]["legal"]["on_call"]["people"][1] = "zed"
    message = _error(tmp_path, data)
    path = tmp_path / "org.yaml"
    line = _line(path, "- zed")
    assert f"{path}:{line}: rotas.departments.legal.on_call.people[1]: unknown person" in message
    assert "(got 'zed')" in message


def test_a_rota_member_outside_the_departments_it_covers(tmp_path: Path) -> None:
    data = small_org()
    data["rotas"]["departments"]["legal"]["business_hours"].append("eve")
    data["rotas"]["departments"]["customer_relations"]["on_call"]["people"].append("ann")
    message = _error(tmp_path, data)
    assert "rotas.departments.legal.business_hours[3]: not in department legal" in message
    assert (
        "rotas.departments.customer_relations.on_call.people[4]: in none of the departments "
        "this rotation covers (customer_relations, triage)"
    ) in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["departments"]["legal"]["business_hours"].update({"sat": ["17:00-09:00"]}),
            "departments.legal.business_hours.sat[0]: a period must end after",
        ),
        (
            lambda d: d["departments"]["legal"]["business_hours"].update({"mon": ["10:00-11:00"]}),
            "departments.legal.business_hours: mon is given twice ('mon-fri' and 'mon')",
        ),
        (
            lambda d: d["departments"]["legal"]["business_hours"].update(
                {"sat": ["09:00-12:00", "11:00-13:00"]}
            ),
            "departments.legal.business_hours.sat: periods overlap",
        ),
        (
            lambda d: d["departments"]["legal"].update({"timezone": "Europe/Londn"}),
            "departments.legal.timezone: unknown time zone",
        ),
        (
            lambda d: d["departments"]["legal"].update({"holidays": "scotland"}),
            "departments.legal.holidays: unknown holiday calendar (calendars: uk)",
        ),
        (
            lambda d: d["departments"]["legal"].update(
                {"sla": {"urgent": {"first_response": "half an hour", "clock": "around-the-clock"}}}
            ),
            "departments.legal.sla.urgent.first_response: a duration like 30m",
        ),
        (
            lambda d: d["people"][2].update({"notify_env": "slack://T000/B000/XXXX"}),
            "people[2].notify_env: must be the NAME of an environment variable",
        ),
        (
            lambda d: d["people"][2].update({"departments": ["legal", "finance"]}),
            "people[2].departments[1]: unknown department",
        ),
        (
            lambda d: d["rotas"]["departments"]["triage"]["on_call"].update({"people": ["eve"]}),
            "rotas.departments.triage.on_call: give either people or shared_with, not both",
        ),
        (
            lambda d: d["rotas"]["departments"]["triage"]["on_call"].update(
                {"shared_with": "legal_team"}
            ),
            "rotas.departments.triage.on_call.shared_with: must name a department whose rota",
        ),
        (
            lambda d: d["rotas"]["departments"].pop("triage"),
            "rotas.departments: no rota for triage: every department must be covered",
        ),
        (
            lambda d: d["rotas"]["duty_manager"]["people"].append("ann"),
            "rotas.duty_manager.people[2]: a duty manager needs the role lead",
        ),
        (
            lambda d: d.update(
                {"notifications": {"templates": {"assigned": {"title": "{oops}", "body": "x"}}}}
            ),
            "notifications.templates.assigned.title: unknown placeholder {oops}",
        ),
        (
            lambda d: d["departments"]["legal"].update(
                {"escalation": [{"to": "lead", "after": "1h"}, {"to": "backup", "after": "0m"}]}
            ),
            "departments.legal.escalation: escalation steps must be in order",
        ),
        (
            lambda d: d["departments"]["legal"].update({"quiet_out_of_hours": "sometimes"}),
            "departments.legal.quiet_out_of_hours: Input should be a valid boolean",
        ),
        (
            lambda d: d["departments"]["legal"].update({"quiet_hours": True}),
            "departments.legal.quiet_hours: unknown key",
        ),
    ],
)
def test_bad_values_name_their_key_path(tmp_path: Path, change: Any, expected: str) -> None:
    data = small_org()
    change(data)
    assert expected in _error(tmp_path, data)


def test_a_department_without_a_lead_cannot_escalate_to_one(tmp_path: Path) -> None:
    data = small_org()
    for person in data["people"]:
        person["roles"] = ["agent"] if person["handle"] != "liz" else ["lead"]
        if person["handle"] == "lee":
            person["roles"] = ["agent"]
    data["rotas"]["duty_manager"]["people"] = ["liz"]
    message = _error(tmp_path, data)
    path = tmp_path / "org.yaml"
    assert "departments.legal.escalation[1].to: nobody in department legal has the role lead" in (
        message
    )
    assert f"{path}:" in message


def test_the_error_line_points_into_the_default_file(tmp_path: Path) -> None:
    text = DEFAULT.read_text().replace(
        "hannah.weiss, daniel.brooks, maya.chen]", "hannah.weiss, daniel.brooks, amelia.hart]"
    )
    path = tmp_path / "northwind.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    line = _line(path, "daniel.brooks, amelia.hart]")
    assert f"{path}:{line}: rotas.duty_manager.people[5]: a duty manager needs the role lead" in (
        str(caught.value)
    )


@pytest.mark.parametrize(
    ("text", "minutes"), [("30m", 30), ("4h", 240), ("1h30m", 90), ("2d", 2880), (0, 0)]
)
def test_durations(text: object, minutes: int) -> None:
    assert parse_duration(text) == timedelta(minutes=minutes)
    assert parse_duration(format_duration(timedelta(minutes=minutes))) == timedelta(minutes=minutes)


def test_yaml_anchors_share_a_policy(tmp_path: Path) -> None:
    text = """organisation: {name: T}
departments:
  legal:
    name: Legal
    sla: &sla
      urgent: {first_response: 15m, clock: around-the-clock}
      normal: {first_response: 2h, clock: business-hours}
  hr: {name: HR, sla: *sla}
"""
    path = tmp_path / "org.yaml"
    path.write_text(text)
    org = load_config(path)
    assert org.departments["hr"].sla.urgent.first_response == timedelta(minutes=15)
    assert yaml.safe_load(text)["departments"]["hr"]["sla"]["normal"]["first_response"] == "2h"
