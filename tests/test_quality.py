from __future__ import annotations

from datetime import timedelta

from socialops.mentions import Mention
from socialops.quality import QualityRules, validate_mentions
from tests.fakes import T0, mention


def m(external_id: str, **overrides: object) -> Mention:
    values: dict[str, object] = {
        "channel": "c",
        "author_handle": "ann",
        "text": "hello",
        "created_at": T0,
        "url": f"https://social.example/{external_id}",
        "raw": {"id": external_id},
    }
    return mention(external_id, **{**values, **overrides})


def test_clean_batch_passes_whole() -> None:
    batch = [m("1"), m("2", url=None, text="<script>alert(1)</script>")]
    report = validate_mentions(batch, now=T0)
    assert report.valid == batch and report.invalid == [] and report.failures == {}


def test_failing_rows_are_set_aside_with_every_reason_and_the_rest_pass() -> None:
    rules = QualityRules(clock_skew=timedelta(minutes=5), max_text_length=50)
    batch = [
        m("ok"),
        m("", raw={"row": "no id"}),
        m("p", platform="myspace"),
        m("future", created_at=T0 + timedelta(minutes=6)),
        m("skew-ok", created_at=T0 + timedelta(minutes=4)),
        m("ancient", created_at=T0.replace(year=1999)),
        m("no-date", created_at=None),
        m("empty", text=""),
        m("long", text="x" * 51),
        m("js", url="javascript:alert(1)"),
        m("ok", raw={"copy": 2}),
        m("many", text="", url="ftp://x", created_at=None),
    ]
    report = validate_mentions(batch, now=T0, rules=rules)
    assert [x.external_id for x in report.valid] == ["ok", "skew-ok"]
    reasons = {str(item.raw.get("id", item.raw)): item.reason for item in report.invalid}
    assert reasons == {
        "{'row': 'no id'}": "external_id is missing",
        "p": "platform is not one of mastodon, bluesky, reddit, x",
        "future": "created_at is in the future beyond the 300 s clock-skew margin",
        "ancient": "created_at is before 2006-03-21, older than any platform",
        "no-date": "created_at is missing or not a valid timestamp",
        "empty": "text length is outside 1..50 characters",
        "long": "text length is outside 1..50 characters",
        "js": "url is not an http(s) URL",
        "{'copy': 2}": "(platform, external_id) appears more than once in the batch",
        "many": "created_at is missing or not a valid timestamp; "
        "text length is outside 1..50 characters; url is not an http(s) URL",
    }
    assert report.failures["text length is outside 1..50 characters"] == 3


def test_empty_batch() -> None:
    report = validate_mentions([], now=T0)
    assert report.valid == [] and report.invalid == []
