"""The report's outputs: HTML safe against hostile text, the CLI formats, the flow, a browser."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from socialops.notify import Delivery
from socialops.report import deliver
from socialops.report.render import to_html
from tests.conftest import REPO
from tests.test_report import MENTIONS, WEEK, at, org, report_for, seed_by_hand

__all__ = ["org"]  # the fixture, shared

HOSTILE = [
    "<script>alert('x')</script> your coffee",
    '"><img src=x onerror=alert(1)>',
    "\u202egnp.exe مرحبا بكم في نورثويند",
    "zero\u200bwidth\u200d joiner\ufeff",
]


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _hostile_rows() -> list[tuple]:  # type: ignore[type-arg]
    return [
        (f"x{i}", at(17, 10 + i), "chan-a", ("customer_relations", True, "negative"), None, None)
        for i in range(len(HOSTILE))
    ]


def test_hostile_mention_text_is_shown_as_text(sqlite_url: str, org: object) -> None:
    from socialops.db import migrate, session_scope
    from socialops.storage import MentionRow

    migrate(sqlite_url)
    seed_by_hand(sqlite_url, _hostile_rows())
    with session_scope(sqlite_url) as session:
        for i, text in enumerate(HOSTILE):
            row = session.query(MentionRow).filter_by(external_id=f"x{i}").one()
            row.text = text
            row.author_handle = text[:40]
    html = to_html(report_for(sqlite_url, org))  # type: ignore[arg-type]
    page = _Page()
    page.feed(html)
    assert "script" not in page.tags and "img" not in page.tags
    assert not [name for name, _value in page.attrs if name.startswith("on")]
    shown = "".join(page.text)
    for text in HOSTILE:
        assert text in shown  # exactly the characters, as text (RTL and zero-width kept)
    assert 'dir="auto"' in html  # right-to-left text is laid out on its own
    assert "http://" not in html.replace("http://www.w3.org", "")  # no external assets
    assert html.count("<svg") >= 4


@pytest.fixture
def report_env(socialops_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    from tests.test_report import ORG_YAML

    config = tmp_path / "org.yaml"
    config.write_text(ORG_YAML, encoding="utf-8")
    monkeypatch.setenv("SOCIALOPS_CONFIG", str(config))
    from socialops.settings import get_settings, reset_settings_cache

    reset_settings_cache()
    url = get_settings().resolved_database_url()
    seed_by_hand(url, MENTIONS)
    return url


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cli_writes_every_format(report_env: str, tmp_path: Path) -> None:
    from cli.main import app

    runner = CliRunner()
    result = runner.invoke(app, ["report", "--week", WEEK, "--format", "json", "-o", "-"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    for key in ("week", "volume_by_channel", "volume_by_department", "sla", "response_time",
                "oncall_load", "sentiment", "publishing", "quarantine"):  # fmt: skip
        assert key in data
    assert sum(data["volume_by_channel"].values()) == data["total"] == 8
    assert sum(data["volume_by_department"].values()) == 8
    assert data["publishing"]["status"] == "not recorded"
    for fmt, marker in (("html", "<!doctype html>"), ("md", "# Weekly report"),
                        ("csv", "section,key,measure,value")):  # fmt: skip
        out = tmp_path / f"r.{fmt}"
        result = runner.invoke(app, ["report", "--week", WEEK, "--format", fmt, "-o", str(out)])
        assert result.exit_code == 0, result.stderr
        assert out.read_text(encoding="utf-8").startswith(marker)
    result = runner.invoke(app, ["report", "--week", "2026-W99"])
    assert result.exit_code == 1 and "no ISO week 99" in result.stderr
    result = runner.invoke(app, ["report", "--format", "pdf"])
    assert result.exit_code == 1 and "--format" in result.stderr


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_summary_goes_to_each_recipient_with_the_report_link(
    report_env: str, org: object
) -> None:
    sent: list[tuple[list[str], str, str]] = []

    def fake(*, urls: list[str], title: str, body: str, urgent: bool) -> Delivery:
        sent.append((list(urls), title, body))
        return Delivery(True)

    report = report_for(report_env, org)  # type: ignore[arg-type]
    outcome = deliver.send_summary(
        org=org,  # type: ignore[arg-type]
        report=report,
        paths={"html": Path("/r/weekly-report-2026-W47.html")},
        sender=fake,
        environ={"SOCIALOPS_NOTIFY_URL": "json://example.invalid/{handle}"},
    )
    assert outcome == {"ann": "sent with a link", "bob": "sent with a link"}
    assert sent[0][0] == ["json://example.invalid/ann"]
    assert "weekly report 2026-W47" in sent[0][1]
    assert "/r/weekly-report-2026-W47.html" in sent[0][2] and "8 mentions" in sent[0][2]
    assert deliver.send_summary(org=org, report=report, paths={}, sender=fake, environ={}) == {  # type: ignore[arg-type]
        "ann": "no_target",
        "bob": "no_target",
    }


@pytest.mark.usefixtures("prefect_api")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_flow_writes_files_and_artifacts(report_env: str, socialops_env: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.weekly_report import weekly_report

    os.environ.pop("SOCIALOPS_NOTIFY_URL", None)
    run = weekly_report(week=WEEK)
    assert run.total == 8
    folder = socialops_env / "home" / "reports"
    assert sorted(p.name for p in folder.iterdir()) == [
        f"weekly-report-{WEEK}.{fmt}" for fmt in ("csv", "html", "json", "md")
    ]
    assert run.sent == {"ann": "no_target", "bob": "no_target"}
    key = f"weekly-report-{WEEK.lower()}"
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key, key + "-sla"]))
        )
    by_key = {a.key: a for a in found}
    assert by_key[key].type == "markdown" and "Weekly report 2026-W47" in str(by_key[key].data)
    assert by_key[key + "-sla"].type == "table"
    assert "customer_relations" in str(by_key[key + "-sla"].data)


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_the_html_renders_in_headless_chromium(
    sqlite_url: str, org: object, tmp_path: Path
) -> None:
    from socialops.db import migrate

    migrate(sqlite_url)
    seed_by_hand(sqlite_url)
    page = tmp_path / "report.html"
    page.write_text(to_html(report_for(sqlite_url, org)), encoding="utf-8")  # type: ignore[arg-type]
    shot = tmp_path / "shot.png"
    done = subprocess.run(
        [str(REPO / "scripts" / "report-screenshot.sh"), str(page), str(shot), "390"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.stat().st_size > 20_000  # charts and tables, not a blank page
