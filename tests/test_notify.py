"""Notifications: templates, where they go, Apprise delivery to a local endpoint, and the
queue's claims, retries with backoff and giving up, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from socialops import notify, storage
from socialops.db import session_scope
from tests.routing_fixtures import Endpoint, org_from, small_org, start_endpoint

NOW = datetime(2026, 11, 30, 22, 0, tzinfo=UTC)


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    yield from start_endpoint()


def test_apprise_delivers_title_body_and_type_to_the_endpoint(endpoint: Endpoint) -> None:
    sender = notify.AppriseSender(timeout=5)
    delivery = sender(
        urls=[endpoint.url("hooks/ann")], title="Mention 7 is yours", body="Due 13:00", urgent=True
    )
    assert delivery == notify.Delivery(True)
    [arrival] = endpoint.wait_for(1)
    assert arrival.path == "/hooks/ann"
    assert arrival.payload["title"] == "Mention 7 is yours"
    assert arrival.payload["message"] == "Due 13:00"
    assert arrival.payload["type"] == "warning"  # urgent


def test_a_failed_send_is_reported_without_the_secret_url(endpoint: Endpoint) -> None:
    endpoint.fail = True
    secret_url = endpoint.url("hooks/T0SECRETTOKEN123")
    delivery = notify.AppriseSender(timeout=5, attempts=2, pause=0)(
        urls=[secret_url], title="t", body="b", urgent=False
    )
    assert not delivery.ok and delivery.error
    assert "T0SECRETTOKEN123" not in delivery.error and "127.0.0.1" not in delivery.error
    refused = notify.AppriseSender(timeout=2, attempts=1)(
        urls=["json://127.0.0.1:9/x"], title="t", body="b", urgent=False
    )
    assert not refused.ok and "Connection" in (refused.error or "")
    invalid = notify.AppriseSender()(urls=["nonsense://x"], title="t", body="b", urgent=False)
    assert invalid == notify.Delivery(
        False, "an Apprise URL in the configured variable is not valid"
    )


def test_targets_come_from_the_environment_never_the_file() -> None:
    data = small_org()
    data["people"][2]["notify_env"] = "ANN_URL"
    data["people"][2]["urgent_notify_env"] = "ANN_PAGER"
    data["departments"]["legal"]["notify_env"] = "LEGAL_CHANNEL"
    org = org_from(data)
    env = {
        "TEST_NOTIFY_URL": "json://hooks.example/n/{handle}",
        "ANN_URL": "mailto://ann:pw@example.org, json://a.example/x",
        "ANN_PAGER": "pagerduty://key@token",
        "LEGAL_CHANNEL": "slack://T1/B2/C3",
    }
    assert notify.target_urls(org, "ann", urgent=False, environ=env) == [
        "mailto://ann:pw@example.org",
        "json://a.example/x",
    ]
    assert notify.target_urls(org, "ann", urgent=True, environ=env) == ["pagerduty://key@token"]
    assert notify.target_urls(org, "bob", urgent=True, environ=env) == [
        "json://hooks.example/n/bob"
    ]
    assert notify.target_urls(org, "department:legal", urgent=True, environ=env) == [
        "slack://T1/B2/C3"
    ]
    assert notify.target_urls(org, "bob", urgent=False, environ={}) == []


def test_templates_render_with_defaults_and_overrides() -> None:
    data = small_org()
    data["notifications"]["templates"] = {
        "urgent": {"title": "PAGE {assignee}: {mention_id}", "body": "{text} ({due_local})"}
    }
    org = org_from(data)
    values = {"assignee": "ann", "mention_id": 7, "text": "help", "due_local": "Mon 22:30 GMT"}
    assert notify.render(org, "urgent", values) == ("PAGE ann: 7", "help (Mon 22:30 GMT)")
    title, body = notify.render(org, "assigned", {**values, "department_name": "Legal"})
    assert title == "[Legal] Mention 7 is yours"
    assert "First response due Mon 22:30 GMT" in body
    assert notify.local_time(NOW, "America/New_York") == "Mon 30 Nov 17:00 EST"


def _queue(session: object, org: object, key: str) -> int | None:
    return notify.enqueue(
        session=session,  # type: ignore[arg-type]
        org=org,  # type: ignore[arg-type]
        dedupe_key=key,
        event="assigned",
        recipient="ann",
        urgent=False,
        values={"mention_id": 1, "assignee_name": "Ann"},
        now=NOW,
    )


def test_queue_claims_retries_with_backoff_and_gives_up(database_url: str) -> None:
    data = small_org()
    data["notifications"]["max_attempts"] = 3
    org = org_from(data)
    with session_scope(database_url) as session:
        first = _queue(session, org, "k1")
        assert first is not None
        assert _queue(session, org, "k1") is None  # once per key
    with session_scope(database_url) as session:
        [claimed] = notify.claim_due(session=session, now=NOW)
        assert claimed.id == first and claimed.title == "[] Mention 1 is yours"
        assert notify.claim_due(session=session, now=NOW) == []  # claimed: nobody else sends it
    failure = notify.Delivery(False, "HTTP 500")
    with session_scope(database_url) as session:
        status = notify.record(
            session=session, org=org, outgoing=claimed, delivery=failure, now=NOW
        )
    assert status == "failed"
    with session_scope(database_url) as session:
        row = session.get(storage.NotificationRow, first)
        assert row is not None and row.attempts == 1 and row.last_error == "HTTP 500"
        assert row.next_attempt_at == NOW + timedelta(minutes=1)
        assert notify.claim_due(session=session, now=NOW + timedelta(seconds=59)) == []
        [again] = notify.claim_due(session=session, now=NOW + timedelta(minutes=1))
        assert (
            notify.record(
                session=session,
                org=org,
                outgoing=again,
                delivery=failure,
                now=NOW + timedelta(minutes=1),
            )
            == "failed"
        )
    with session_scope(database_url) as session:
        row = session.get(storage.NotificationRow, first)
        assert row is not None and row.next_attempt_at == NOW + timedelta(minutes=3)  # 1 + 2
        [third] = notify.claim_due(session=session, now=NOW + timedelta(minutes=3))
        assert (
            notify.record(session=session, org=org, outgoing=third, delivery=failure, now=NOW)
            == "gave_up"
        )
    with session_scope(database_url) as session:
        assert notify.claim_due(session=session, now=NOW + timedelta(days=1)) == []
        audit = session.execute(
            select(storage.AuditRow).where(storage.AuditRow.action == "notification-gave-up")
        ).scalar_one()
        assert audit.details["attempts"] == 3 and audit.subject_id == str(first)


def test_a_stale_claim_is_retried_and_no_target_is_final(database_url: str) -> None:
    org = org_from(small_org())
    with session_scope(database_url) as session:
        nid = _queue(session, org, "k2")
        [claimed] = notify.claim_due(session=session, now=NOW)
    # The deliverer crashed: after the claim expires the row is sent again (at least once).
    with session_scope(database_url) as session:
        assert notify.claim_due(session=session, now=NOW + timedelta(minutes=4)) == []
        [reclaimed] = notify.claim_due(session=session, now=NOW + timedelta(minutes=6))
        assert reclaimed.id == claimed.id == nid
        assert (
            notify.record(session=session, org=org, outgoing=reclaimed, delivery=None, now=NOW)
            == "no_target"
        )
    with session_scope(database_url) as session:
        row = session.get(storage.NotificationRow, nid)
        assert row is not None and row.status == "no_target" and row.attempts == 0
        assert notify.claim_due(session=session, now=NOW + timedelta(days=1)) == []


def test_a_held_notification_waits_and_a_skipped_one_is_final(database_url: str) -> None:
    org = org_from(small_org())
    opens = NOW + timedelta(hours=10)

    def queue(key: str, not_before: datetime) -> int:
        with session_scope(database_url) as session:
            nid = notify.enqueue(
                session=session,
                org=org,
                dedupe_key=key,
                event="assigned",
                recipient="ann",
                urgent=False,
                values={"mention_id": 1},
                now=NOW,
                not_before=not_before,
            )
        assert nid is not None
        return nid

    held = queue("held", opens)
    now_anyway = queue("past", NOW - timedelta(minutes=1))  # a time already passed: at once
    with session_scope(database_url) as session:
        row = session.get(storage.NotificationRow, held)
        assert row is not None and row.deferred_until == row.next_attempt_at == opens
        other = session.get(storage.NotificationRow, now_anyway)
        assert other is not None and other.deferred_until is None and other.next_attempt_at == NOW
        [claimed] = notify.claim_due(session=session, now=NOW)
        assert claimed.id == now_anyway
        notify.record(
            session=session, org=org, outgoing=claimed, delivery=notify.Delivery(True), now=NOW
        )
        assert notify.claim_due(session=session, now=opens - timedelta(seconds=1)) == []
        assert notify.skip(session=session, notification_id=held, reason="acted on", now=opens)
        assert not notify.skip(session=session, notification_id=held, reason="again", now=opens)
    with session_scope(database_url) as session:
        row = session.get(storage.NotificationRow, held)
        assert row is not None and (row.status, row.skip_reason, row.attempts) == (
            "skipped",
            "acted on",
            0,
        )
        assert notify.claim_due(session=session, now=opens + timedelta(days=1)) == []
        audit = session.execute(
            select(storage.AuditRow).where(storage.AuditRow.action == "notification-skipped")
        ).scalar_one()
        assert audit.subject_id == str(held) and audit.details["reason"] == "acted on"
    run = notify.DeliveryRun()
    run.count("skipped")
    assert run.skipped == 1


def test_the_released_template_says_why() -> None:
    org = org_from(small_org())
    title, body = notify.render(
        org,
        "released",
        {
            "department_name": "Legal",
            "mention_id": 7,
            "assignee_name": "Ann",
            "author": "zed@social.example",
            "reason": "it was reclassified for Care, and eve has it now",
        },
    )
    assert title == "[Legal] Mention 7 is no longer yours"
    assert body.startswith(
        "Ann, mention 7 from zed@social.example no longer needs you: it was reclassified for "
        "Care, and eve has it now."
    )


HOSTILE = (
    "\x1b[31mred\x1b]0;retitled\x07 \x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\\r\x9b2J"
)


def _has_controls(text: str) -> bool:
    return any(ch not in "\n\t" and (ord(ch) < 32 or 127 <= ord(ch) < 160) for ch in text)


def test_a_mentions_control_characters_never_reach_a_notification() -> None:
    org = org_from(small_org())
    title, body = notify.render(
        org,
        "urgent",
        {"assignee_name": "Ann", "author": "mallory\x1b[2J", "text": HOSTILE, "mention_id": 7},
    )
    assert not _has_controls(title) and not _has_controls(body)
    assert "\u241b[31mred" in body and "mallory\u241b[2J" in body  # shown, not obeyed
    assert "\n" in body  # the template's own new lines stay


@pytest.mark.parametrize(
    ("target_format", "expected"),
    [
        ("text", "<b>[click](http://evil.example/)</b>"),
        ("markdown", "\\[click\\]\\(http://evil\\.example/\\)"),  # escaped: not a link
        ("html", "&lt;b&gt;[click](http://evil.example/)&lt;/b&gt;"),  # escaped: not markup
    ],
)
def test_apprise_bodies_carry_a_mentions_text_as_text(
    endpoint: Endpoint, target_format: str, expected: str
) -> None:
    text = "\x1b]8;;http://evil.example/\x1b\\<b>[click](http://evil.example/)</b>\x1b]8;;\x1b\\"
    delivery = notify.AppriseSender(timeout=5)(
        urls=[endpoint.url(f"hooks/ann?format={target_format}")],
        title="Mention \x1b[5m7",
        body=text,
        urgent=False,
    )
    assert delivery.ok
    [arrival] = endpoint.wait_for(1)
    assert not _has_controls(arrival.payload["message"]) and not _has_controls(
        arrival.payload["title"]
    )
    assert expected in arrival.payload["message"]


def test_every_urgent_page_is_claimed_whatever_the_cap(database_url: str) -> None:
    org = org_from(small_org())
    with session_scope(database_url) as session:
        for i in range(30):
            notify.enqueue(
                session=session,
                org=org,
                dedupe_key=f"u{i}",
                event="assigned",
                recipient="ann",
                urgent=i % 3 == 0,  # 10 urgent among 30
                values={"mention_id": i, "assignee_name": "Ann"},
                now=NOW,
            )
    with session_scope(database_url) as session:
        claimed = notify.claim_due(session=session, now=NOW, limit=5)
    # All 10 urgent ones (first), then the cap's 5 normal ones: a page never waits a run.
    assert [c.urgent for c in claimed] == [True] * 10 + [False] * 5


def test_the_delivery_log_line_names_skipped_notices_only_when_there_were_some() -> None:
    from tasks.notify import delivery_log_line

    quiet = delivery_log_line(notify.DeliveryRun(sent=3, urgent_sent=2))
    assert quiet == (
        "notifications: 3 sent (2 urgent), 0 failed (retried later), 0 given up, "
        "0 with no target configured"
    )
    assert "quiet hours" not in quiet
    held = delivery_log_line(notify.DeliveryRun(sent=1, skipped=2))
    assert held.endswith(
        "; 2 held for quiet hours and no longer needed (the item was handed over or acted on "
        "meanwhile), not sent"
    )
