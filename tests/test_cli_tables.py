"""The CLI's tables in an 80-column terminal: no name is cut short (two "mastodon-…" channels
cannot be told apart) and no field is folded to a letter a line."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from rich.console import Console

from cli.approvals import views_table
from cli.backfill import _table


def _render(table: object, width: int) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(table)
    return console.export_text()


def test_backfill_rows_keep_whole_channel_names_at_80_columns() -> None:
    rows = [
        SimpleNamespace(
            channel=name,
            day=date(2026, 12, 2),
            fetched=1520,
            stored=1423,
            duplicates=0,
            quarantined=14,
            skipped_as_done=False,
            finished=True,
        )
        for name in ("mastodon-main", "mastodon-help")
    ]
    text = _render(_table(rows), 80)
    assert "mastodon-main" in text and "mastodon-help" in text and "…" not in text
    assert "2026-12-02" in text


def test_approvals_fit_80_columns_and_use_the_width_of_a_wide_terminal() -> None:
    person = SimpleNamespace
    view = SimpleNamespace(
        id=17,
        kind="reply",
        department="customer_relations",
        urgent=True,
        status="pending",
        approvals=[],
        approvals_required=2,
        eligible_approvers=[person(handle="priya.nair"), person(handle="daniel.brooks")],
        scheduled_at=None,
        text="@ann Thank you for letting us know, we are on it.",
    )
    narrow = _render(views_table([view], "1 waiting"), 80)
    assert max(len(line) for line in narrow.splitlines()) <= 80
    for whole in ("customer_relations", "URGENT", "priya.nair", "daniel.brooks", "pending 0/2"):
        assert whole in narrow, whole
    wide = _render(views_table([view], "1 waiting", width=200), 200)
    header = next(line for line in wide.splitlines() if "dept" in line)
    assert all(c in header for c in ("kind", "urgent", "approvals", "may approve", "text"))
