"""``order: in_order``: approvals go step by step (general approvers first, the leads last);
a later step's approver is refused before the earlier one, with nothing changed; the order is
shown in ``approvals show`` and in the JSON."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cli.main import app
from socialops import storage
from socialops.config import load_config
from socialops.db import session_scope
from socialops.settings import DEFAULT_CONFIG, get_settings, reset_settings_cache
from socialops.signoff import approvals
from tests.signoff.fixtures import T_DAY, add_assigned, draft_all, snapshot

runner = CliRunner()
DAY = ["--at", T_DAY.isoformat()]
LEGAL = "approvals_required: 2\n      must_include: [{role: lead}]\n      urgent_approvals_required"


@pytest.fixture
def in_order(socialops_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default organisation with legal's policy in order: an approver, then a legal lead."""
    folder = socialops_env / "org"
    shutil.copytree(DEFAULT_CONFIG.parent, folder)
    path = folder / DEFAULT_CONFIG.name
    text = path.read_text()
    assert LEGAL in text
    path.write_text(
        text.replace(
            LEGAL, LEGAL.replace("\n      urgent", "\n      order: in_order\n      urgent")
        )
    )
    monkeypatch.setenv("SOCIALOPS_CONFIG", str(path))
    reset_settings_cache()
    return path


def _cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, *DAY])
    return result.exit_code, result.output


def test_the_lead_signs_after_the_approver(in_order: Path) -> None:
    org = load_config(in_order)
    assert org.departments["legal"].sign_off.order == "in_order"
    url = get_settings().resolved_database_url()
    with session_scope(url) as session:
        add_assigned(session, external_id="801", department="legal", assignee="ben.carter")
        draft_all(session, org, now=T_DAY, config=in_order)
        draft_id = session.execute(select(storage.DraftRow.id)).scalar_one()

    code, out = _cli("approvals", "list", "--json")
    [item] = json.loads(out)
    assert item["order"] == "in_order"
    assert item["waiting_for"] == ["approver", "lead (legal)"]
    first = {e["handle"] for e in item["eligible_approvers"]}
    # Daniel is legal's only lead: were he to take step 1, nobody could sign step 2.
    assert "daniel.brooks" not in first and "isla.fraser" in first

    with session_scope(url) as session:
        before = snapshot(session)
    code, out = _cli("approvals", "approve", str(draft_id), "--as", "daniel.brooks")
    assert code == 1 and out.count("\n") == 1, out
    assert "signs step 2 (lead (legal))" in out and "step 1 (approver) comes first" in out
    with session_scope(url) as session:
        assert snapshot(session) == before

    code, out = _cli("approvals", "approve", str(draft_id), "--as", "isla.fraser")
    assert code == 0 and "pending" in out, out
    code, out = _cli("approvals", "show", str(draft_id))
    assert "policy: 2 approvals including lead (legal) from legal (approver/lead) in order" in out
    assert "approvals: 1/2 1. Isla Fraser (approver," in out
    assert "still needed (in this order): lead (legal)" in out
    code, out = _cli("approvals", "list", "--json")
    [item] = json.loads(out)
    assert [(a["step"], a["who"], a["role"]) for a in item["approvals"]] == [
        (1, "isla.fraser", "approver")
    ]
    assert item["waiting_for"] == ["lead (legal)"]
    assert [e["handle"] for e in item["eligible_approvers"]] == ["daniel.brooks"]
    code, out = _cli("approvals", "approve", str(draft_id), "--as", "priya.nair")
    assert code == 1 and "not an eligible approver" in out  # step 2 is legal's lead's

    code, out = _cli("approvals", "approve", str(draft_id), "--as", "daniel.brooks")
    assert code == 0 and "approved" in out, out
    with session_scope(url) as session:
        draft = approvals.get_draft(session, draft_id)
        assert draft.status == "approved"
        done = approvals.approvals_of(session, draft)
        assert [(a.approver, a.role) for a in done] == [
            ("isla.fraser", "approver"),
            ("daniel.brooks", "lead (legal)"),
        ]
