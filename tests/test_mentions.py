"""The Mention model's payload: kept as compact JSON bytes, stored as the structure it was."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime

from sqlalchemy import select

from socialops import quality, storage
from socialops.db import session_scope
from socialops.mentions import Mention, RawJSON
from tests.fakes import mention

PAYLOAD = {
    "id": "113",
    "status": {"content": "<p>caf\u00e9 \u2615 &amp; \U0001d54f</p>", "tags": [], "n": 3},
    "emoji": "\U0001f600",
    "nothing": None,
}


def test_a_dict_payload_is_serialised_once_and_parses_back_unchanged() -> None:
    m = Mention(
        platform="mastodon",
        external_id="113",
        channel="c",
        author_handle="a",
        text="t",
        raw=PAYLOAD,
    )
    assert isinstance(m.raw, RawJSON)
    assert m.raw.value() == PAYLOAD
    assert m.model_dump(mode="json")["raw"] == PAYLOAD  # a dump shows the structure
    assert Mention.model_validate(m.model_dump()).raw == m.raw
    assert "caf" not in repr(m)  # payloads stay out of reprs and logs


def test_the_bytes_are_their_own_size_not_the_serialiser_buffer() -> None:
    payload = {"content": "x" * 3000}
    tracemalloc.start()
    try:
        raws = [RawJSON.of(payload) for _ in range(100)]
        held, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A batch keeps thousands of these: orjson's output buffer (~32 KB here) would be kept with
    # each one unless copied out (sys.getsizeof cannot see it; the allocator can).
    assert held < 100 * (len(raws[0].json) + 200)


def test_a_stored_payload_is_the_structure_received(database_url: str) -> None:
    with session_scope(database_url) as session:
        storage.store_mentions(session=session, mentions=[mention("113", raw=PAYLOAD)])
    with session_scope(database_url) as session:
        row = session.execute(select(storage.MentionRow)).scalar_one()
        assert row.raw == PAYLOAD


def test_a_payload_that_fails_quality_is_quarantined_as_received(database_url: str) -> None:
    bad = mention("113", text="", raw=PAYLOAD)  # empty text fails the suite
    report = quality.validate_mentions([bad], now=datetime.now(UTC), rules=quality.QualityRules())
    assert [item.raw for item in report.invalid] == [PAYLOAD]
    with session_scope(database_url) as session:
        storage.quarantine_items(
            session=session, channel="c", platform="mastodon", stage="quality", items=report.invalid
        )
    with session_scope(database_url) as session:
        row = session.execute(select(storage.QuarantineRow)).scalar_one()
        assert row.raw == PAYLOAD
