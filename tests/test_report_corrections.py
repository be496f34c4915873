"""The weekly report's classification corrections (issue 12: "the weekly report will show"
how often people had to correct the classifier), against a hand count and against
``classify-eval --corrections``'s live accuracy, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import delete

from socialops import storage
from socialops.classification.corrections import live_accuracy, record_correction
from socialops.config import OrgConfig, load_config
from socialops.db import session_scope
from socialops.report.render import render
from tests.routing_fixtures import add_classified
from tests.test_report import ORG_YAML, at, csv_figures, report_for


@pytest.fixture
def org(tmp_path: Path) -> OrgConfig:
    path = tmp_path / "org.yaml"
    path.write_text(ORG_YAML, encoding="utf-8")
    return load_config(path)


def _mention(session, key: str, created: datetime, department: str | None) -> int:  # type: ignore[no-untyped-def]
    """A mention the classifier decided on, or (``department`` None) one stored only."""
    mention_id = add_classified(
        session, external_id=key, department=department or "none", fetched_at=created
    )
    if department is None:
        session.execute(
            delete(storage.ClassificationRow).where(
                storage.ClassificationRow.mention_id == mention_id
            )
        )
    return mention_id


def _seed(url: str) -> None:
    """Six mentions the classifier decided on in 2026-W47, one it never classified, one of the
    week before; people correct five of them."""
    with session_scope(url) as session:
        ids = {
            key: _mention(session, key, created, department)
            for key, created, department in [
                ("m1", at(16, 9), "customer_relations"),
                ("m2", at(17, 10), "customer_relations"),
                ("m3", at(18, 11), "marketing"),
                ("m4", at(19, 12), "legal"),
                ("m5", at(20, 13), "hr"),
                ("m6", at(21, 14), "none"),
                ("m7", at(22, 15), None),  # stored, never classified
                ("m8", at(10, 9), "customer_relations"),  # the week before
            ]
        }

        def correct(key: str, department: str, when: datetime, urgent: bool | None = None) -> None:
            record_correction(
                session=session,
                mention_id=ids[key],
                department=department,
                urgent=urgent,
                by="grace",
                source="correct",
                now=when,
            )

        correct("m1", "legal", at(16, 10))  # counted
        correct("m2", "customer_relations", at(17, 11), urgent=True)  # urgency only
        correct("m3", "none", at(18, 12))  # counted once, as its first move
        correct("m3", "customer_relations", at(19, 9))
        correct("m7", "hr", at(22, 16))  # the classifier never decided: not its mistake
        correct("m8", "legal", at(16, 11))  # arrived the week before: another week's report


def test_the_week_shows_how_often_people_corrected_the_classifier(
    database_url: str, org: OrgConfig
) -> None:
    _seed(database_url)
    report = report_for(database_url, org)
    # Hand count: decisions by the classifier's department customer_relations (m1, m2),
    # marketing (m3), legal (m4), hr (m5), none (m6); corrected m1 and m3.
    assert report.corrections == {
        "decisions": 6,
        "corrected": 2,
        "share_corrected": 0.3333,
        "by_department": {
            "customer_relations": {"decisions": 2, "corrected": 1, "share_corrected": 0.5},
            "hr": {"decisions": 1, "corrected": 0, "share_corrected": 0.0},
            "legal": {"decisions": 1, "corrected": 0, "share_corrected": 0.0},
            "marketing": {"decisions": 1, "corrected": 1, "share_corrected": 1.0},
            "none": {"decisions": 1, "corrected": 0, "share_corrected": 0.0},
        },
        "moved": {"customer_relations -> legal": 1, "marketing -> none": 1},
    }
    # The volume figures read the current departments (after the corrections).
    assert report.volume_by_department == {
        "customer_relations": 2,
        "hr": 2,
        "legal": 2,
        "none": 1,
    }
    # The same week as `classify-eval --corrections` counts it (decided that week, since the
    # classifier decided on each mention when it arrived).
    with session_scope(database_url) as session:
        live = live_accuracy(session=session)
    assert live.by_week["2026-W47"] == (6, 2)


def test_every_format_shows_the_corrections(database_url: str, org: OrgConfig) -> None:
    _seed(database_url)
    report = report_for(database_url, org)
    assert json.loads(render(report, "json"))["corrections"]["corrected"] == 2
    rows = csv_figures(report)
    assert rows["corrections", "all", "share_corrected"] == "0.3333"
    assert rows["corrections", "marketing", "corrected"] == "1"
    assert rows["corrections_moved", "customer_relations -> legal", "mentions"] == "1"
    md = render(report, "md")
    line = "classifier corrected by people: 2 of 6 mentions (33.3%)"
    assert "## Classification corrections" in md and md.count(line) == 2  # summary + section
    assert "| marketing | 1 | 1 | 100.0% |" in md
    page = render(report, "html")
    assert "<h2>Classification corrections</h2>" in page and line in page
    assert "customer_relations -&gt; legal (1)" in page


def test_a_week_without_decisions_says_so(database_url: str, org: OrgConfig) -> None:
    report = report_for(database_url, org)
    assert report.corrections == {
        "decisions": 0,
        "corrected": 0,
        "share_corrected": None,
        "by_department": {},
        "moved": {},
    }
    assert (
        "No classified mentions this week."
        in render(report, "md").split("## Classification corrections")[1]
    )
