"""What strangers wrote, shown without letting it drive a terminal: the shared sanitiser and
the Prefect artifacts built with it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from socialops.classification.store import BatchResult, UrgentItem
from socialops.ingest import ChannelResult
from socialops.reports import classification_summary_markdown, ingest_summary_markdown
from socialops.text_safety import is_safe, json_line, neutralise

HOSTILE = (
    "\x1b[31mred\x1b[0m \x1b]0;retitled\x07 \x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\"
    "\rover\x08\x7f\x9b2J\x85end"
)


def test_neutralise_makes_every_control_character_visible_but_keeps_newline_and_tab() -> None:
    shown = neutralise(HOSTILE + "\nnext\tcolumn ☕ é")
    assert is_safe(shown) and not is_safe(HOSTILE)
    assert shown.startswith("\u241b[31mred\u241b[0m \u241b]0;retitled\u2407 ")
    assert "\u240dover\u2408\u2421\ufffd2J\ufffdend" in shown
    assert shown.endswith("\nnext\tcolumn ☕ é")
    assert neutralise("plain text ☕") == "plain text ☕"


def test_json_lines_keep_the_text_exact_and_are_safe_to_print() -> None:
    row = {"text": HOSTILE, "author_display_name": "Ann\x9b", "n": 1}
    line = json_line(row)
    assert is_safe(line) and "\n" not in line
    assert json.loads(line) == row  # nothing lost for scripts
    assert "\\u001b[31m" in line and "\\u009b" in line


def test_the_ingest_artifact_is_free_of_control_characters() -> None:
    result = ChannelResult(
        channel="mastodon-main",
        platform="mastodon",
        stored=240,
        error="Rejected: GET /api/v1/notifications: rejected (Mastodon said: \x1b[2J)",
        resume_at=datetime(2026, 11, 20, 12, 5, tzinfo=UTC),
        quarantine_reasons={f"could not map: {HOSTILE}": 1},
        skipped={"notification type '\x1b]0;x\x07' is not a mention": 2},
    )
    markdown = ingest_summary_markdown([result], {"mastodon-main": result.error or ""})
    assert is_safe(markdown)
    assert "| 240 |" in markdown and "resumes after 12:05:00 UTC" in markdown
    assert "\u241b[2J" in markdown


def test_the_classification_artifact_is_free_of_control_characters() -> None:
    batch = BatchResult(
        classified=1,
        new=1,
        changed=0,
        unchanged=0,
        departments={"legal": 1},
        urgent=[UrgentItem(mention_id=1, department="legal", text=HOSTILE, why="threat\x1b[5m")],
        model_version="m1",
    )
    markdown = classification_summary_markdown([batch])
    assert is_safe(markdown) and "\u241b[31mred" in markdown
