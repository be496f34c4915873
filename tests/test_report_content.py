"""The weekly report's sign-off, queue-time and community sections, against hand counts, on
SQLite and PostgreSQL; and the sign-off section against what the real sign-off code writes."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from socialops import storage
from socialops.config import OrgConfig, load_config
from socialops.db import session_scope
from socialops.report import themes
from socialops.report.week import IsoWeek
from tests.test_report import ORG_YAML, WEEK, at, csv_figures, report_for, seed_by_hand


@pytest.fixture
def org(tmp_path: Path) -> OrgConfig:
    path = tmp_path / "org.yaml"
    path.write_text(ORG_YAML, encoding="utf-8")
    return load_config(path)


# --------------------------------------------------------------------------------------------
# Approvals and publishing
# --------------------------------------------------------------------------------------------


def _draft(
    session: Any,
    *,
    kind: str,
    channel: str,
    department: str,
    status: str,
    mention_id: int | None = None,
    published_at: datetime | None = None,
) -> int:
    row = storage.DraftRow(
        kind=kind,
        mention_id=mention_id,
        channel=channel,
        platform="mastodon",
        department=department,
        urgent=False,
        intent="post" if kind == "post" else "question",
        lang="en",
        text="draft text",
        version=1,
        author="ann",
        assignee="ann",
        visibility="public",
        status=status,
        approvals_required=1,
        idempotency_key=uuid.uuid4().hex,
        attempts=0,
        published_at=published_at,
        created_at=at(16, 0),
        updated_at=at(16, 0),
    )
    session.add(row)
    session.flush()
    return row.id


def _audit(session: Any, draft: int, when: datetime, action: str, **details: Any) -> None:
    """An audit row as :func:`socialops.signoff.approvals.audit_draft` writes it, at a chosen
    time (the real one stamps the wall clock)."""
    session.add(
        storage.AuditRow(
            at=when,
            actor="test",
            action=action,
            subject_type="draft",
            subject_id=str(draft),
            details={"version": details.pop("version", 1), **details},
        )
    )


def seed_signoff(url: str, ids: dict[str, int]) -> None:
    with session_scope(url) as s:
        cr = "customer_relations"
        # D1: requested Mon 10:11, approved 10:21 (600 s), published.
        d1 = _draft(
            s,
            kind="reply",
            channel="chan-a",
            department=cr,
            status="published",
            mention_id=ids["m1"],
            published_at=at(16, 10, 22),
        )
        _audit(s, d1, at(16, 10, 11), "draft", status="pending")
        _audit(s, d1, at(16, 10, 21), "approve", status="approved")
        _audit(s, d1, at(16, 10, 22), "publish", status="published")
        # D2: v1 rejected after 12 h (43,200 s); v2 (an edit) approved after 120 s; published.
        d2 = _draft(
            s,
            kind="reply",
            channel="chan-a",
            department=cr,
            status="published",
            mention_id=ids["m2"],
            published_at=at(17, 9, 5),
        )
        _audit(s, d2, at(16, 20, 1), "draft", status="pending")
        _audit(s, d2, at(17, 8, 1), "reject", status="rejected", before="pending")
        _audit(s, d2, at(17, 9, 0), "edit", version=2, status="pending", before="old text")
        _audit(s, d2, at(17, 9, 1), "approve", version=2, status="pending")  # 1 of 2
        _audit(s, d2, at(17, 9, 2), "approve", version=2, status="approved")
        # D3: needed no sign-off; the platform refused it.
        d3 = _draft(
            s, kind="reply", channel="chan-b", department=cr, status="failed", mention_id=ids["m3"]
        )
        _audit(s, d3, at(17, 12, 1), "draft", status="approved")
        _audit(s, d3, at(17, 12, 2), "publish_failed", status="failed", error="refused")
        # D4: a planned marketing post that expired before anyone approved it.
        d4 = _draft(s, kind="post", channel="chan-b", department="marketing", status="expired")
        _audit(s, d4, at(18, 10), "plan_post", status="pending")
        _audit(s, d4, at(19, 10), "expire", status="expired", before="pending")
        # D5: legal, requested Thu 14:01, decided the next Monday 14:01 (345,600 s).
        d5 = _draft(
            s,
            kind="reply",
            channel="chan-b",
            department="legal",
            status="approved",
            mention_id=ids["m9"],
        )
        _audit(s, d5, at(19, 14, 1), "draft", status="pending")
        _audit(s, d5, at(23, 14, 1), "approve", status="approved")
        # D6: urgent, approved after an hour (3,600 s), published.
        d6 = _draft(
            s,
            kind="reply",
            channel="chan-b",
            department=cr,
            status="published",
            mention_id=ids["m4"],
            published_at=at(18, 4, 40),
        )
        _audit(s, d6, at(18, 3, 31), "draft", status="pending")
        _audit(s, d6, at(18, 4, 31), "approve", status="approved")
        # D7: requested and approved the week before, published in the week.
        d7 = _draft(
            s,
            kind="reply",
            channel="chan-a",
            department=cr,
            status="published",
            mention_id=ids["m8"],
            published_at=at(16, 9, 1),
        )
        _audit(s, d7, at(15, 23, 1), "draft", status="pending")
        _audit(s, d7, at(15, 23, 30), "approve", status="approved")
        # D8: a marketing post that needed no sign-off, published Friday.
        d8 = _draft(
            s,
            kind="post",
            channel="chan-a",
            department="marketing",
            status="published",
            published_at=at(20, 12),
        )
        _audit(s, d8, at(16, 8), "plan_post", status="approved")
        # D9: an HR post still waiting.
        d9 = _draft(s, kind="post", channel="chan-a", department="hr", status="pending")
        _audit(s, d9, at(21, 10), "plan_post", status="pending")
        # An unrelated audit row: not a draft.
        s.add(
            storage.AuditRow(
                at=at(17, 1),
                actor="x",
                action="approve",
                subject_type="rota",
                subject_id="1",
                details={"status": "approved"},
            )
        )


def test_approvals_and_publishing_match_the_hand_count(database_url: str, org: OrgConfig) -> None:
    ids = seed_by_hand(database_url)
    assert report_for(database_url, org).approvals["status"] == "not recorded"
    seed_signoff(database_url, ids)
    report = report_for(database_url, org)
    ap = report.approvals
    assert ap["status"] == "recorded"
    assert (ap["requested"], ap["approved"], ap["rejected"], ap["expired"], ap["pending"]) == (
        7,
        4,
        1,
        1,
        1,
    )
    assert ap["without_sign_off"] == 2  # D3, D8
    # Turnarounds: 120, 600, 3600, 43200, 345600 -> nearest rank 3 and 5.
    assert ap["turnaround"] == {"count": 5, "median_seconds": 3600, "p90_seconds": 345600}
    care = ap["by_department"]["customer_relations"]
    assert (care["requested"], care["approved"], care["rejected"], care["pending"]) == (4, 3, 1, 0)
    assert care["without_sign_off"] == 1
    # 120, 600, 3600, 43200: ranks 2 and 4.
    assert care["turnaround"] == {"count": 4, "median_seconds": 600, "p90_seconds": 43200}
    assert ap["by_department"]["legal"]["turnaround"] == {
        "count": 1,
        "median_seconds": 345600,
        "p90_seconds": 345600,
    }
    marketing = ap["by_department"]["marketing"]
    assert (marketing["requested"], marketing["expired"], marketing["without_sign_off"]) == (
        1,
        1,
        1,
    )
    assert marketing["turnaround"]["count"] == 0
    assert ap["by_department"]["hr"]["pending"] == 1

    pub = report.publishing
    assert (pub["replies"], pub["posts"], pub["failures"], pub["expired_posts"]) == (4, 1, 1, 1)
    assert pub["by_channel"] == {
        "chan-a": {"replies": 3, "posts": 1, "failures": 0, "expired_posts": 0},
        "chan-b": {"replies": 1, "posts": 0, "failures": 1, "expired_posts": 1},
    }
    # The week before sees D7's request and approval (1,740 s), nothing published.
    before = report_for(database_url, org, "2026-W46")
    assert before.approvals["requested"] == before.approvals["approved"] == 1
    assert before.approvals["turnaround"]["median_seconds"] == 1740
    assert before.publishing["replies"] == before.publishing["posts"] == 0


def test_the_report_reads_what_the_real_sign_off_code_writes(socialops_env: Path) -> None:
    """Drafts, an approval, a rejection and an edit through :mod:`socialops.signoff`: the
    report counts them (the audit log is stamped with the wall clock, so this week)."""
    from socialops.report.files import make_report
    from socialops.rota.schedule import engine_for
    from socialops.signoff import approvals
    from tests.signoff.fixtures import T_DAY, add_assigned, draft_all, northwind

    url = os.environ["SOCIALOPS_DATABASE_URL"]
    org = northwind()
    engine = engine_for(org)
    with session_scope(url) as session:
        for ext in ("201", "202", "203"):
            add_assigned(
                session, external_id=ext, department="customer_relations", assignee="amelia.hart"
            )
        draft_all(session, org, now=T_DAY, engine=engine)
        ids = sorted(d.id for d in session.query(storage.DraftRow))
    assert len(ids) == 3
    with session_scope(url) as session:
        need = approvals.policy_for(org, approvals.get_draft(session, ids[0])).required
        eligible = approvals.eligible_approvers(
            session, org, engine, approvals.get_draft(session, ids[0]), T_DAY
        )
        for who in [e.handle for e in eligible][:need]:
            approvals.approve(
                session=session, org=org, engine=engine, draft_id=ids[0], who=who, now=T_DAY
            )
        who = eligible[0].handle
        approvals.reject(
            session=session,
            org=org,
            engine=engine,
            draft_id=ids[1],
            who=who,
            reason="tone",
            now=T_DAY,
        )
        approvals.edit(
            session=session,
            org=org,
            engine=engine,
            draft_id=ids[1],
            who="amelia.hart",
            text="A better answer",
            now=T_DAY,
        )
    week = IsoWeek.containing(datetime.now(UTC), org.organisation.timezone)
    report = make_report(database_url=url, org=org, week=week)
    ap = report.approvals["by_department"]["customer_relations"]
    # Requests: 3 first versions and the edited one; approved 1, rejected 1, 2 pending.
    assert (ap["requested"], ap["approved"], ap["rejected"], ap["pending"]) == (4, 1, 1, 2)
    assert ap["turnaround"]["count"] == 2
    assert report.publishing["replies"] == 0


# --------------------------------------------------------------------------------------------
# Time in queue
# --------------------------------------------------------------------------------------------


def test_time_to_first_owner_and_in_queue_match_the_hand_count(
    database_url: str, org: OrgConfig
) -> None:
    ids = seed_by_hand(database_url)
    a = storage.AssignmentRow
    changes: dict[str, dict[str, Any]] = {
        "m1": {"first_assigned_at": at(16, 10, 1)},  # 0 s to an owner
        # Arrived Monday 20:01, queued overnight, taken Tuesday 09:00: 46,740 s.
        "m2": {
            "queued_at": at(16, 20, 1),
            "first_assigned_at": at(17, 9, 0),
            "queued_seconds": 46740,
        },
        "m3": {"first_assigned_at": at(17, 12, 1, 30)},  # 30 s
        "m4": {"first_assigned_at": at(18, 3, 31)},  # 0 s
        # Still queued at the report's time (1 Dec 12:00): 10 days 59 min = 867,540 s.
        "m5": {
            "queued_at": at(21, 11, 1),
            "status": "queued",
            "assignee": None,
            "acted_at": None,
        },
        "m9": {
            "queued_at": at(19, 14, 1),
            "first_assigned_at": at(19, 14, 11),
            "queued_seconds": 600,
        },
    }
    with session_scope(database_url) as session:
        for key, values in changes.items():
            session.execute(update(a).where(a.mention_id == ids[key]).values(**values))
    qt = report_for(database_url, org).queue_time
    # m2, m5 and m9 waited (m1, m3, m4 went straight to a person: not counted here).
    assert (qt["waited_in_queue"], qt["still_queued"], qt["without_owner"]) == (3, 1, 1)
    # To an owner (m5 has none yet): 600, 46740 -> ranks 1 and 2.
    assert qt["time_to_first_owner"] == {"count": 2, "median_seconds": 600, "p90_seconds": 46740}
    # In a queue: 600, 46740, 867540 -> ranks 2 and 3.
    assert qt["time_in_queue"] == {"count": 3, "median_seconds": 46740, "p90_seconds": 867540}
    care = qt["by_department"]["customer_relations"]
    assert care["time_in_queue"] == qt["time_in_queue"]
    assert care["waited_in_queue"] == 3


def test_an_empty_week_has_empty_sign_off_queue_and_theme_sections(
    database_url: str, org: OrgConfig
) -> None:
    report = report_for(database_url, org)
    assert report.queue_time["waited_in_queue"] == 0
    assert report.queue_time["time_in_queue"]["median_seconds"] is None
    assert report.themes["intents"] == {} and report.themes["terms"] == {}
    assert report.publishing["status"] == "not recorded"


# --------------------------------------------------------------------------------------------
# Themes and terms
# --------------------------------------------------------------------------------------------

TEXTS = [
    ("customer_relations", "My refund never came @northwind https://shop.example/voucher"),
    ("customer_relations", "Still waiting for a refund, order 12345! cc @voucher"),
    ("customer_relations", "Refund please, the card was charged twice"),
    ("customer_relations", "charged twice again? see www.voucher.example/voucher"),
    ("marketing", "Loving the autumn menu at Test Coffee"),
    ("marketing", "The autumn menu is great, loving it"),
    ("marketing", "Great ad campaign"),
    ("marketing", "Nous aimons le menu d'automne"),
]
TIMES = [
    at(16, 10),
    at(16, 11),
    at(17, 12),
    at(20, 9),
    at(21, 10),
    at(21, 11),
    at(22, 12),
    at(18, 10),
]


def seed_texts(url: str, texts: list[tuple[str, str]] = TEXTS) -> None:
    with session_scope(url) as session:
        for i, ((department, text), created) in enumerate(zip(texts, TIMES, strict=True)):
            mention = storage.MentionRow(
                platform="mastodon",
                external_id=f"t{i}",
                channel="chan-a",
                url=None,
                author_handle=f"a{i}@social.example",
                author_followers=10,
                text=text,
                lang="en",
                created_at=created,
                fetched_at=created,
                raw={},
            )
            session.add(mention)
            session.flush()
            session.add(
                storage.ClassificationRow(
                    mention_id=mention.id,
                    department=department,
                    urgent=i == 0,
                    sentiment=("negative", "neutral", "positive")[i % 3],
                    confidence=0.9,
                    explanation={},
                    model_version="t",
                    classified_at=created,
                    is_current=True,
                )
            )


def test_themes_and_distinctive_terms_per_department(database_url: str, org: OrgConfig) -> None:
    seed_texts(database_url)
    report = report_for(database_url, org)
    th = report.themes
    # Intents: urgent first, then the sentiment (negative, neutral, positive by position).
    assert th["intents"] == {
        "customer_relations": {"urgent": 1, "complaint": 1, "praise": 1, "question": 1},
        "marketing": {"urgent": 0, "complaint": 1, "praise": 1, "question": 2},
    }
    # Links, @handles, numbers, stop words (English, French) and the organisation's name are
    # dropped: "voucher" (only in links and handles) and "coffee" never appear.
    care = [(t["term"], t["mentions"]) for t in th["terms"]["customer_relations"]]
    assert care == [("refund", 3), ("charged", 2), ("twice", 2)]
    marketing = [(t["term"], t["mentions"]) for t in th["terms"]["marketing"]]
    assert marketing == [("menu", 3), ("autumn", 2), ("great", 2), ("loving", 2)]
    assert th["terms_source"]["sampled"] is False
    assert "all 8 classified mentions" in th["terms_source"]["note"]


def test_terms_come_from_a_bounded_deterministic_sample(database_url: str) -> None:
    seed_texts(database_url)
    week = IsoWeek.parse(WEEK, "Europe/London")
    with session_scope(database_url) as session:
        # Two spans (the week's halves, split Thursday 12:00): the first two mentions of each.
        picked = themes.sample(session=session, week=week, total=8, limit=4, slices=2)
        again = themes.sample(session=session, week=week, total=8, limit=4, slices=2)
        section = themes.themes(session=session, week=week, cells=[], total=8, limit=4, slices=2)
    assert picked == again
    assert picked.sampled and picked.mentions == 4
    assert [t for _, t in picked.rows] == [TEXTS[0][1], TEXTS[1][1], TEXTS[3][1], TEXTS[4][1]]
    assert section["terms_source"]["sampled"] is True
    assert "sample of 4 of the week's 8 mentions" in section["terms_source"]["note"]


def test_words_drop_links_handles_numbers_and_stop_words() -> None:
    got = themes.words(
        "RT @ann@social.example Der Kaffee ist kalt!!! https://x.example/a?b=1 "
        "el café está frío 2026 #Refund user@mail.example",
        frozenset({"northwind"}),
    )
    assert got == {"kaffee", "kalt", "café", "frío", "refund"}


def test_a_word_that_is_every_word_of_the_week_is_not_distinctive() -> None:
    # Every mention of every department says only "mention": the log-odds' "other words" are
    # empty (this raised a math domain error before).
    docs = [("legal", {"mention"}), ("hr", {"mention"}), ("hr", {"mention"})]
    assert themes.distinctive_terms(docs, min_mentions=1) == {"hr": [], "legal": []}


def test_a_single_department_still_gets_its_frequent_terms() -> None:
    docs = [("legal", {"gdpr", "data"}), ("legal", {"gdpr", "deleted"}), ("legal", {"gdpr"})]
    terms = themes.distinctive_terms(docs)
    assert terms["legal"] == [{"term": "gdpr", "mentions": 3, "score": None}]


# --------------------------------------------------------------------------------------------
# Rendering and delivery
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_format_shows_the_new_sections(database_url: str, org: OrgConfig) -> None:
    import json
    from html.parser import HTMLParser

    from socialops.report.render import render

    ids = seed_by_hand(database_url)
    seed_signoff(database_url, ids)
    with session_scope(database_url) as session:
        for i in range(2):  # a hostile text twice: "script" becomes a care term
            session.add(
                storage.ClassificationRow(
                    mention_id=_hostile(session, i),
                    department="customer_relations",
                    urgent=False,
                    sentiment="negative",
                    confidence=0.9,
                    explanation={},
                    model_version="t",
                    classified_at=at(18, 12),
                    is_current=True,
                )
            )
    report = report_for(database_url, org)
    data = json.loads(render(report, "json"))
    assert {"approvals", "publishing", "queue_time", "themes"} <= set(data)
    assert data["publishing"]["by_channel"]["chan-b"]["failures"] == 1
    rows = csv_figures(report)
    assert rows["approvals", "all", "turnaround_median_seconds"] == "3600"
    assert rows["approvals", "customer_relations", "rejected"] == "1"
    assert rows["publishing", "chan-a", "replies"] == "3"
    assert rows["queue_time", "all", "waited_in_queue"] == "0"
    assert rows["themes", "customer_relations", "urgent"] == "2"
    # alert, img, onerror, script, src: each in the same 2 mentions, alphabetical.
    assert rows["terms", "customer_relations", "term_1"] == "alert"
    md = render(report, "md")
    assert "## Approvals and publishing" in md and "| chan-b | 1 | 0 | 1 | 1 |" in md
    assert "## Time in queue" in md and "## What the community said" in md
    assert "script (2)" in md

    class Page(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.tags: list[str] = []
            self.text: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.tags.append(tag)

        def handle_data(self, data: str) -> None:
            self.text.append(data)

    page = Page()
    page.feed(render(report, "html"))
    text = " ".join(page.text)
    assert "script" not in page.tags and "img" not in page.tags
    assert "<script>alert(1)</script>" in text  # the mention, shown as text
    assert "script (2)" in text
    assert "7 requested, 4 approved, 1 rejected, 1 expired, 1 pending" in text
    assert "published: 4 replies, 1 planned posts; 1 failed, 1 planned posts missed" in text
    assert "terms from all" in text


def _hostile(session: Any, i: int) -> int:
    row = storage.MentionRow(
        platform="mastodon",
        external_id=f"h{i}",
        channel="chan-a",
        url=None,
        author_handle="x@social.example",
        author_followers=1_000_000,
        text='<script>alert(1)</script> "><img src=x onerror=alert(1)>',
        lang="en",
        created_at=at(18, 12),
        fetched_at=at(18, 12),
        raw={},
    )
    session.add(row)
    session.flush()
    return int(row.id)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_summary_arrives_with_the_report_attached_where_the_target_takes_files(
    database_url: str, org: OrgConfig, tmp_path: Path
) -> None:
    import base64

    from socialops.report import deliver
    from socialops.report.files import write_report
    from tests.routing_fixtures import start_endpoint

    seed_by_hand(database_url)
    report = report_for(database_url, org)
    paths = write_report(report, tmp_path / "reports")
    endpoint_iter = start_endpoint()
    endpoint = next(endpoint_iter)
    try:
        # JSON webhooks take attachments; Gotify does not (Apprise's attachment_support).
        urls = f"{endpoint.url('notify/{handle}')} gotify://127.0.0.1:{endpoint.port}/T{{handle}}"
        outcome = deliver.send_summary(
            org=org, report=report, paths=paths, environ={"SOCIALOPS_NOTIFY_URL": urls}
        )
        arrivals = endpoint.wait_for(4)
    finally:
        endpoint_iter.close()
    both = f"{deliver.SENT_ATTACHED}; {deliver.SENT_LINK}"
    assert outcome == {"ann": both, "bob": both}
    webhook = [a for a in arrivals if a.path == "/notify/ann"]
    [ann] = webhook
    [attachment] = ann.payload["attachments"]
    assert attachment["filename"] == "weekly-report-2026-W47.html"
    assert base64.b64decode(attachment["base64"]) == paths["html"].read_bytes()
    assert "Full report attached (weekly-report-2026-W47.html)" in ann.payload["message"]
    gotify = [a for a in arrivals if a.path.startswith("/message")]
    assert len(gotify) == 2
    assert all("attachments" not in a.payload for a in gotify)
    assert all(f"Full report: {paths['html']}" in a.payload["message"] for a in gotify)


def test_a_send_refused_with_the_file_is_sent_again_with_the_link(
    org: OrgConfig, tmp_path: Path
) -> None:
    from socialops.notify import Delivery
    from socialops.report import deliver
    from socialops.report.metrics import WeeklyReport

    calls: list[tuple[list[str], tuple[str, ...]]] = []

    def fake(*, urls: Any, title: str, body: str, urgent: bool, attach: Any = ()) -> Delivery:
        calls.append((list(urls), tuple(attach)))
        return Delivery(not attach, "413 Payload Too Large" if attach else None)

    html = tmp_path / "weekly-report-2026-W47.html"
    html.write_text("<!doctype html>", encoding="utf-8")
    report = WeeklyReport.model_validate(_empty_report_json(org))
    outcome = deliver.send_summary(
        org=org,
        report=report,
        paths={"html": html},
        sender=fake,
        environ={"SOCIALOPS_NOTIFY_URL": "json://127.0.0.1:9/{handle}"},
        attachable=lambda url: True,
    )
    assert outcome == {"ann": deliver.SENT_LINK, "bob": deliver.SENT_LINK}
    assert calls[:2] == [
        (["json://127.0.0.1:9/ann"], (str(html),)),
        (["json://127.0.0.1:9/ann"], ()),
    ]


def _empty_report_json(org: OrgConfig) -> dict[str, Any]:
    import tempfile

    from socialops.db import migrate

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/r.db"
        migrate(url)
        return report_for(url, org).model_dump()
