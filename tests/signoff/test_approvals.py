"""Sign-off through the CLI and the domain: policies, eligibility from the rota, refusals that
change nothing, edits restarting approvals, rejections, expiry, notices and the audit log."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cli.main import app
from socialops import storage
from socialops.config import ConfigError, load_config
from socialops.db import session_scope
from socialops.rota.schedule import engine_for
from socialops.settings import DEFAULT_CONFIG, get_settings
from socialops.signoff import approvals
from tests.signoff.fixtures import T_DAY, T_NIGHT, add_assigned, draft_all, northwind, snapshot

runner = CliRunner()
DAY = ["--at", T_DAY.isoformat()]


def _draft(
    url: str,
    *,
    department: str,
    urgent: bool = False,
    at=T_DAY,
    ext: str = "101",
    assignee: str = "amelia.hart",
    **kw: object,
) -> int:
    org = northwind()
    with session_scope(url) as session:
        mention_id = add_assigned(
            session,
            external_id=ext,
            department=department,
            assignee=assignee,
            urgent=urgent,
            at=at,
            **kw,
        )  # type: ignore[arg-type]
        draft_all(session, org, now=at)
        return session.execute(
            select(storage.DraftRow.id).where(storage.DraftRow.mention_id == mention_id)
        ).scalar_one()


def _cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def _url() -> str:
    return get_settings().resolved_database_url()


def test_list_json_has_the_issue_keys(socialops_env: Path) -> None:
    draft_id = _draft(_url(), department="customer_relations")
    code, out = _cli("approvals", "list", "--json", *DAY)
    assert code == 0, out
    [item] = json.loads(out)
    assert {
        "id",
        "mention_external_id",
        "channel",
        "department",
        "urgent",
        "draft_text",
        "status",
        "approvals",
        "approvals_required",
        "eligible_approvers",
    } <= set(item)
    assert item["id"] == draft_id and item["status"] == "pending"
    assert item["mention_external_id"] == "101" and item["approvals_required"] == 1
    assert item["draft_text"].startswith("@ann@social.example ")
    handles = {e["handle"] for e in item["eligible_approvers"]}
    assert handles and "amelia.hart" not in handles  # the author never approves
    assert all(set(e) == {"name", "handle", "role"} for e in item["eligible_approvers"])
    code, mine = _cli("approvals", "list", "--json", "--as", "Grace Okafor", "--mine", *DAY)
    assert code == 0 and [i["id"] for i in json.loads(mine)] == [draft_id]
    code, none = _cli("approvals", "list", "--json", "--as", "tom.reilly", "--mine", *DAY)
    assert code == 0 and json.loads(none) == []


def test_every_refusal_is_one_line_and_changes_nothing(socialops_env: Path) -> None:
    url = _url()
    legal = _draft(url, department="legal", assignee="ben.carter")
    with session_scope(url) as session:
        before = snapshot(session)
    refusals = [
        (["approve", str(legal), "--as", "nobody.here"], "no person called"),
        (["approve", str(legal), "--as", "amelia.hart"], "not an eligible approver"),
        (["approve", str(legal), "--as", "ben.carter"], "own text"),
        (["approve", "9999", "--as", "daniel.brooks"], "no draft with id 9999"),
        (["reject", str(legal), "--as", "daniel.brooks"], "needs a reason"),
        (["reject", str(legal), "--as", "amelia.hart", "--reason", "no"], "may not reject"),
    ]
    for args, reason in refusals:
        code, out = _cli("approvals", *args, *DAY)
        assert code == 1, (args, out)
        assert reason in out and out.count("\n") == 1, out
    with session_scope(url) as session:
        assert snapshot(session) == before

    code, out = _cli("approvals", "approve", str(legal), "--as", "Daniel Brooks", *DAY)
    assert code == 0, out
    with session_scope(url) as session:
        before = snapshot(session)
    code, out = _cli("approvals", "approve", str(legal), "--as", "daniel.brooks", *DAY)
    assert code == 1 and "already approved" in out
    with session_scope(url) as session:
        assert snapshot(session) == before
        draft = session.get(storage.DraftRow, legal)
        assert draft is not None
        draft.status = "published"
        draft.external_url = "https://social.example/@northwind/1"
    with session_scope(url) as session:
        before = snapshot(session)
    code, out = _cli("approvals", "approve", str(legal), "--as", "isla.fraser", *DAY)
    assert code == 1 and "already published" in out
    code, out = _cli("drafts", "edit", str(legal), "--as", "ben.carter", "--text", "x", *DAY)
    assert code == 1 and "already published" in out
    with session_scope(url) as session:
        assert snapshot(session) == before


def test_legal_needs_a_lead_and_an_edit_restarts_approvals(socialops_env: Path) -> None:
    url = _url()
    legal = _draft(url, department="legal", assignee="ben.carter")
    org = northwind()
    with session_scope(url) as session:
        draft = approvals.get_draft(session, legal)
        assert draft.intent == "private" and "contact you directly" in draft.text
        eligible = {
            e.handle: e.role
            for e in approvals.eligible_approvers(session, org, engine_for(org), draft, T_DAY)
        }
    assert eligible.get("daniel.brooks") == "lead (legal)"
    code, out = _cli("approvals", "approve", str(legal), "--as", "isla.fraser", *DAY)
    assert code == 0 and "pending" in out
    # One general slot is filled: only a legal lead can take the last one.
    code, out = _cli("approvals", "list", "--json", *DAY)
    [item] = json.loads(out)
    assert [e["handle"] for e in item["eligible_approvers"]] == ["daniel.brooks"]
    code, out = _cli(
        "drafts",
        "edit",
        str(legal),
        "--as",
        "ben.carter",
        "--text",
        "@ann@social.example We will write to you today. – Northwind",
        *DAY,
    )
    assert code == 0, out
    code, out = _cli("approvals", "show", str(legal), *DAY)
    assert "approvals: 0/2" in out and "version 2 by ben.carter" in out
    for who in ("isla.fraser", "daniel.brooks"):
        code, out = _cli("approvals", "approve", str(legal), "--as", who, *DAY)
        assert code == 0, out
    assert "approved" in out
    with session_scope(url) as session:
        audit = (
            session.execute(
                select(storage.AuditRow)
                .where(storage.AuditRow.subject_type == "draft")
                .order_by(storage.AuditRow.id)
            )
            .scalars()
            .all()
        )
    actions = [(a.actor, a.action) for a in audit]
    assert actions == [
        ("socialops:draft", "draft"),
        ("isla.fraser", "approve"),
        ("ben.carter", "edit"),
        ("isla.fraser", "approve"),
        ("daniel.brooks", "approve"),
    ]
    edit = audit[2].details
    assert "contact you directly" in edit["before"] and edit["after"].endswith("– Northwind")
    approval = audit[1].details
    assert approval["at"] == T_DAY.isoformat() and approval["via"] == "cli"
    assert "contact you directly" in approval["text"] and approval["approvals"] == "1/2"
    assert audit[0].details["after"] == approval["text"]  # what was drafted is what was approved


def test_urgent_legal_also_needs_the_pr_lead(socialops_env: Path) -> None:
    url = _url()
    legal = _draft(url, department="legal", urgent=True, assignee="ben.carter")
    for who in ("daniel.brooks", "isla.fraser"):
        code, out = _cli("approvals", "approve", str(legal), "--as", who, *DAY)
        assert code == 0, out
    code, out = _cli("approvals", "list", "--json", *DAY)
    [item] = json.loads(out)
    assert item["approvals_required"] == 3 and item["status"] == "pending"
    assert item["eligible_approvers"] == [
        {"name": "Priya Nair", "handle": "priya.nair", "role": "lead (public_relations)"}
    ]
    code, out = _cli("approvals", "approve", str(legal), "--as", "priya.nair", *DAY)
    assert code == 0 and "approved" in out


def test_rejection_goes_back_to_the_assignee(socialops_env: Path) -> None:
    url = _url()
    draft_id = _draft(url, department="customer_relations")
    code, out = _cli(
        "approvals",
        "reject",
        str(draft_id),
        "--as",
        "grace.okafor",
        "--reason",
        "Offer a refund, please",
        *DAY,
    )
    assert code == 0, out
    with session_scope(url) as session:
        note = session.execute(
            select(storage.NotificationRow).where(storage.NotificationRow.event == "rejected")
        ).scalar_one()
        assert note.recipient == "amelia.hart" and "Offer a refund" in note.body
    code, out = _cli("approvals", "approve", str(draft_id), "--as", "grace.okafor", *DAY)
    assert code == 1 and "rejected (Offer a refund, please)" in out
    code, out = _cli(
        "drafts",
        "edit",
        str(draft_id),
        "--as",
        "amelia.hart",
        "--text",
        "@ann@social.example Sorry! A refund is on its way.",
        *DAY,
    )
    assert code == 0, out
    code, out = _cli("approvals", "approve", str(draft_id), "--as", "grace.okafor", *DAY)
    assert code == 0 and "approved" in out


def test_at_3am_the_on_call_people_are_asked_and_normal_notices_wait(
    socialops_env: Path,
) -> None:
    url = _url()
    org = northwind()
    engine = engine_for(org)
    duty = engine.on_duty("customer_relations", T_NIGHT)
    assignee = duty.primary or "amelia.hart"
    normal = _draft(
        url,
        department="customer_relations",
        at=T_NIGHT,
        assignee=assignee,
        due_in=timedelta(hours=12),
    )
    urgent = _draft(
        url, department="customer_relations", at=T_NIGHT, assignee=assignee, ext="102", urgent=True
    )
    with session_scope(url) as session:
        draft = approvals.get_draft(session, normal)
        night = {
            e.handle for e in approvals.eligible_approvers(session, org, engine, draft, T_NIGHT)
        }
        day = {e.handle for e in approvals.eligible_approvers(session, org, engine, draft, T_DAY)}
        notes = (
            session.execute(
                select(storage.NotificationRow).where(storage.NotificationRow.event == "review")
            )
            .scalars()
            .all()
        )
    on_call = {duty.primary, duty.backup} - {None}
    lead = engine.lead("customer_relations", T_NIGHT)
    assert night and night <= on_call | {lead}
    assert assignee not in night and night != day
    by_draft = {(n.title.split(" waits")[0], n.recipient): n for n in notes}
    assert by_draft, "approvers were not told"
    for n in notes:
        if n.urgent:
            assert n.deferred_until is None  # urgent: at once
        else:
            assert n.deferred_until is not None and n.deferred_until > T_NIGHT
    assert any(n.urgent for n in notes) and any(not n.urgent for n in notes)
    del urgent


def test_planned_post_expires_when_its_time_passes(socialops_env: Path) -> None:
    url = _url()
    at = (T_DAY + timedelta(hours=2)).isoformat()
    code, out = _cli(
        "posts",
        "add",
        "--channel",
        "mastodon-main",
        "--at",
        at,
        "--text",
        "Our winter blend is back!",
        "--as",
        "amelia.hart",
        "--now",
        T_DAY.isoformat(),
    )
    assert code == 0, out
    code, out = _cli("posts", "list", "--now", T_DAY.isoformat())
    assert code == 0 and "1 planned posts" in out
    later = ["--at", (T_DAY + timedelta(hours=3)).isoformat()]
    with session_scope(url) as session:
        post_id = session.execute(select(storage.DraftRow.id)).scalar_one()
        before = snapshot(session)
    code, out = _cli("approvals", "approve", str(post_id), "--as", "tom.reilly", *later)
    assert code == 1 and "expired" in out
    with session_scope(url) as session:
        assert snapshot(session) == before
        assert approvals.expire_due(session=session, now=T_DAY + timedelta(hours=3)) == 1
        assert approvals.get_draft(session, post_id).status == "expired"


def test_no_drafts_for_withdrawn_or_none(socialops_env: Path) -> None:
    url = _url()
    org = northwind()
    with session_scope(url) as session:
        add_assigned(session, external_id="201", department="none", assignee="amelia.hart")
        add_assigned(
            session,
            external_id="202",
            department="customer_relations",
            assignee="amelia.hart",
            status="withdrawn",
        )
        run = draft_all(session, org, now=T_DAY)
    assert run.drafted == 0


def test_a_bad_sign_off_block_names_the_line_and_path(tmp_path: Path) -> None:
    text = DEFAULT_CONFIG.read_text()
    bad = text.replace(
        "approvals_required: 2\n      must_include: [{role: lead}]\n  hr:",
        "approvals_required: 2\n      must_include: [{role: boss}]\n  hr:",
        1,
    )
    bad = bad.replace(
        "sign_off: {approvals_required: 1}   # one approver or lead of the department",
        "sign_off: {approvals_required: 1, approvers: [no.body]}   # x",
        1,
    )
    assert bad != text
    path = tmp_path / "org.yaml"
    path.write_text(bad)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "departments.public_relations.sign_off.must_include[0].role" in message
    assert f"{path}:" in message
    path.write_text(
        text.replace(
            "sign_off: {approvals_required: 1}   # one approver or lead of the department",
            "sign_off: {approvals_required: 1, approvers: [no.body]}",
            1,
        )
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "departments.customer_relations.sign_off.approvers[0]: unknown person" in str(info.value)
