"""People correcting the classifier: ``classify correct``, a manual ``assign`` to another
department, training on corrections, and live accuracy (real SQLite, the real CLI)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cli.main import app
from socialops import storage
from socialops.classification import corrections, training
from socialops.classification.data import Example, load_labelled
from socialops.db import session_scope
from socialops.settings import get_settings
from tests.routing_fixtures import add_classified

runner = CliRunner()
AT = datetime(2026, 11, 30, 10, tzinfo=UTC)


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def url() -> str:
    return get_settings().resolved_database_url()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_correct_stores_audits_and_reroutes(socialops_env: Path) -> None:
    with session_scope(url()) as session:
        mention = add_classified(
            session, external_id="c1", department="legal", fetched_at=AT, text="my pay is late"
        )
    code, out, err = invoke(
        "classify", "correct", str(mention), "--department", "hr", "--urgent", "--by", "grace"
    )
    assert code == 0, err
    assert f"mention {mention}: legal -> hr (urgent), correction 1" in " ".join(out.split())
    with session_scope(url()) as session:
        row = session.execute(select(storage.CorrectionRow)).scalar_one()
        assert (row.from_department, row.department, row.urgent) == ("legal", "hr", True)
        assert (row.corrected_by, row.source) == ("cli:grace", "correct")
        current = session.execute(
            select(storage.ClassificationRow).where(
                storage.ClassificationRow.mention_id == mention,
                storage.ClassificationRow.is_current.is_(True),
            )
        ).scalar_one()
        assert (current.department, current.urgent, current.model_version) == (
            "hr",
            True,
            "correction",
        )
        audit = session.execute(
            select(storage.AuditRow).where(storage.AuditRow.action == "classification_corrected")
        ).scalar_one()
        assert audit.details["from"] == "legal" and audit.details["to"] == "hr"
        owner = session.execute(
            select(storage.AssignmentRow).where(storage.AssignmentRow.mention_id == mention)
        ).scalar_one()
        assert owner.department == "hr" and owner.urgent
    code, _, err = invoke("classify", "correct", str(mention), "--department", "sales")
    assert code == 1 and "unknown department 'sales'" in err
    code, _, err = invoke("classify", "correct", "99999", "--department", "hr")
    assert code == 1 and "no mention with id 99999" in err
    # A correction that changes nothing is refused, and nothing is stored.
    code, _, err = invoke("classify", "correct", str(mention), "--department", "hr")
    assert code == 1 and "is already hr, urgent: nothing to correct" in err
    # Moved to a department that needs no answer: the message says the item is withdrawn.
    code, out, err = invoke(
        "classify", "correct", str(mention), "--department", "none", "--not-urgent"
    )
    assert code == 0, err
    assert "its item is withdrawn (none needs no answer)" in " ".join(out.split())
    with session_scope(url()) as session:
        assert len(session.execute(select(storage.CorrectionRow)).scalars().all()) == 2


def test_live_accuracy_without_decisions_says_so(socialops_env: Path) -> None:
    code, out, err = invoke("classify-eval", "--corrections", "--since", "2026-12-05")
    assert code == 0, err
    assert "live accuracy since 2026-12-05: no classifier decisions yet" in out
    code, _, err = invoke("classify-eval", "--since", "2026-12-05")
    assert code == 1 and "--since goes with --corrections" in err


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_assigning_to_another_department_records_a_correction(socialops_env: Path) -> None:
    with session_scope(url()) as session:
        mention = add_classified(session, external_id="a1", department="marketing", fetched_at=AT)
        same = add_classified(session, external_id="a2", department="legal", fetched_at=AT)
    code, out, err = invoke("assign", str(mention), "--to", "daniel.brooks", "--by", "grace")
    assert code == 0, err
    assert "recorded as a classification correction: marketing -> legal" in out
    code, out, err = invoke("assign", str(same), "--to", "daniel.brooks", "--by", "grace")
    assert code == 0 and "correction" not in out  # legal already: nothing to correct
    with session_scope(url()) as session:
        rows = session.execute(select(storage.CorrectionRow)).scalars().all()
        assert [(r.mention_id, r.department, r.source) for r in rows] == [
            (mention, "legal", "assign")
        ]
        owner = session.execute(
            select(storage.AssignmentRow).where(storage.AssignmentRow.mention_id == mention)
        ).scalar_one()
        assert owner.assignee == "daniel.brooks"  # assigned by hand: the owner stays


def test_department_for_person() -> None:
    assert corrections.department_for_person(["legal"], "marketing") == "legal"
    assert corrections.department_for_person(["legal", "hr"], "marketing") is None  # ambiguous
    assert corrections.department_for_person(["legal", "triage"], "triage") == "legal"
    assert corrections.department_for_person(["legal"], "legal") is None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_live_accuracy_by_department_and_week(socialops_env: Path) -> None:
    with session_scope(url()) as session:
        ids = [
            add_classified(
                session,
                external_id=f"m{i}",
                department=department,
                fetched_at=datetime(2026, 11, day, 10, tzinfo=UTC),
            )
            for i, (department, day) in enumerate(
                [("legal", 23), ("legal", 30), ("marketing", 30), ("hr", 30)]
            )
        ]
        for mention_id, department in ((ids[0], "hr"), (ids[2], "customer_relations")):
            corrections.record_correction(
                session=session,
                mention_id=mention_id,
                department=department,
                urgent=None,
                by="cli:grace",
                source="correct",
                now=datetime(2026, 12, 1, tzinfo=UTC),
            )
        corrections.record_correction(  # urgency only: the department stood
            session=session,
            mention_id=ids[3],
            department="hr",
            urgent=True,
            by="cli:grace",
            source="correct",
            now=datetime(2026, 12, 1, tzinfo=UTC),
        )
    with session_scope(url()) as session:
        live = corrections.live_accuracy(session=session)
        assert (live.classified, live.corrected) == (4, 2)
        assert live.by_department == {"hr": (1, 0), "legal": (2, 1), "marketing": (1, 1)}
        assert live.by_week == {"2026-W48": (1, 1), "2026-W49": (3, 1)}
        assert live.moved == {"legal -> hr": 1, "marketing -> customer_relations": 1}
        since = corrections.live_accuracy(session=session, since=date(2026, 11, 30))
        assert (since.classified, since.corrected) == (3, 1)
    code, out, err = invoke("classify-eval", "--corrections", "--since", "2026-11-30")
    assert code == 0, err
    text = " ".join(out.split())
    assert "live accuracy since 2026-11-30: 66.7% of 3 decisions stood (1 corrected)" in text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_training_learns_from_the_newest_correction(socialops_env: Path) -> None:
    text = "the zanzibar kiosk rota keeps changing, who do I ask about my hours"
    with session_scope(url()) as session:
        mention = add_classified(
            session, external_id="t1", department="legal", fetched_at=AT, text=text
        )
        for department, day in (("marketing", 1), ("hr", 2)):
            corrections.record_correction(
                session=session,
                mention_id=mention,
                department=department,
                urgent=None,
                by="cli:grace",
                source="correct",
                now=datetime(2026, 12, day, tzinfo=UTC),
            )
    with session_scope(url()) as session:
        learnt = corrections.training_examples(session=session)
    assert [(e.department, at.day) for e, at in learnt] == [("hr", 2)]
    written = Example(id="w-1", text=text, department="legal", urgent=False, sentiment="negative")
    examples, weights = corrections.with_corrections(
        [*[e for e in load_labelled() if e.split == "train"], written], learnt
    )
    assert written not in examples  # the correction outweighs the written label
    corrected = examples[-1]
    assert (corrected.department, corrected.sentiment, weights[-1]) == (
        "hr",
        "negative",
        corrections.CORRECTION_WEIGHT,
    )
    trained = training.train(examples, data_fingerprint="test", weights=weights)
    assert trained.predict([text])[0].department_probabilities["hr"] > 0.5
