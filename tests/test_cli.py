"""The socialops command: exit codes and one-line reasons, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from socialops.db import session_scope
from socialops.settings import get_settings, reset_settings_cache
from tests.conftest import REPO
from tests.fakes import mention

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def env(socialops_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SOCIALOPS_MASTODON_TOKEN", "cli-token-1234")
    monkeypatch.setenv("SOCIALOPS_MASTODON_HELP_TOKEN", "cli-token-5678")
    return socialops_env


def no_traceback(*outputs: str) -> None:
    for output in outputs:
        assert "Traceback" not in output


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_check_config_lists_channels_and_token_state(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOCIALOPS_MASTODON_HELP_TOKEN")
    code, out, err = invoke("check-config")
    assert code == 0, err
    assert "Northwind Coffee" in out
    assert "mastodon-main" in out and "SOCIALOPS_MASTODON_TOKEN set" in out
    assert "SOCIALOPS_MASTODON_HELP_TOKEN NOT SET" in out
    assert "cli-token-1234" not in out


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_bad_config_exits_2_naming_file_line_and_key(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = env / "bad.yaml"
    bad.write_text(
        (REPO / "config" / "northwind.yaml").read_text().replace("page_size", "pagesize")
        + "\nextra_key: 1\n"
    )
    monkeypatch.setenv("SOCIALOPS_CONFIG", str(bad))
    reset_settings_cache()
    for command in (["check-config"], ["inbox"], ["ingest"]):
        code, out, err = invoke(*command)
        assert code == 2, (command, out, err)
        assert err.startswith("error: invalid configuration:")
        assert f"{bad}:" in err and ": extra_key: unknown key" in err
        no_traceback(out, err)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_unknown_channel_and_missing_token_fail_before_any_flow(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _out, err = invoke("ingest", "--channel", "nope")
    assert code == 2
    assert err.strip() == (
        "error: no channel named 'nope' (configured: mastodon-main, mastodon-help)"
    )
    monkeypatch.delenv("SOCIALOPS_MASTODON_TOKEN")
    code, _out, err = invoke("run")
    assert code == 2
    assert "SOCIALOPS_MASTODON_TOKEN is not set" in err
    no_traceback(err)


def test_inbox_json_newest_first_with_the_documented_keys(env: Path) -> None:
    url = get_settings().resolved_database_url()
    code, out, _err = invoke("inbox", "--json")
    assert (code, out) == (0, "")  # migrated on start, nothing stored yet
    older = mention("1", text="<b>not bold</b> ☕")
    newer = mention("2", created_at=older.created_at.replace(hour=11))  # type: ignore[union-attr]
    with session_scope(url) as session:
        from socialops import storage

        storage.store_mentions(session=session, mentions=[older, newer])
    code, out, _err = invoke("inbox", "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["external_id"] for line in lines] == ["2", "1"]
    assert set(lines[1]) >= {
        "platform",
        "external_id",
        "url",
        "author",
        "text",
        "created_at",
        "department",
        "urgent",
    }
    assert lines[1]["text"] == "<b>not bold</b> ☕"
    assert (lines[1]["department"], lines[1]["urgent"]) == (None, None)
    assert lines[1]["created_at"] == "2026-11-20T09:30:00+00:00"
    code, out, _err = invoke("inbox", "--limit", "1")
    assert code == 0 and "hello @northwind 2" in out and "hello @northwind 1" not in out


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_unknown_department_is_refused(env: Path) -> None:
    code, _out, err = invoke("inbox", "--department", "finance")
    assert code == 1 and "unknown department 'finance'" in err


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_unreachable_database_is_one_line(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "SOCIALOPS_DATABASE_URL", "postgresql+psycopg://nobody:pw-123@127.0.0.1:1/none"
    )
    reset_settings_cache()
    code, out, err = invoke("inbox")
    assert code == 1
    assert err.startswith("error: database: ") and len(err.strip().splitlines()) == 1
    assert "pw-123" not in err
    no_traceback(out, err)


def test_the_cli_starts_without_loading_the_pipeline() -> None:
    """Commands import Prefect, the database and the model when they run, so every command
    (and ``socialops --help``) starts in a tenth of a second, not two."""
    heavy = {"prefect", "sqlalchemy", "sklearn", "pydantic", "httpx", "uvicorn"}
    probe = "import sys, cli.main; print(*sorted({m.split('.')[0] for m in sys.modules}))"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert heavy.isdisjoint(done.stdout.split())


def test_inbox_shows_an_item_withdrawn_after_reclassification(env: Path) -> None:
    from datetime import UTC, datetime

    from socialops import routing
    from socialops.config import load_config
    from socialops.rota.schedule import RotaEngine
    from tests.routing_fixtures import add_classified, reclassify

    settings = get_settings()
    org = load_config(settings.config)
    engine = RotaEngine(org)
    url = settings.resolved_database_url()
    stored = datetime(2026, 11, 30, 10, tzinfo=UTC)
    with session_scope(url) as session:
        spam = add_classified(session, external_id="w1", department="legal", fetched_at=stored)
        kept = add_classified(
            session, external_id="w2", department="legal", fetched_at=stored, text="a question"
        )
        routing.route_classified(session=session, org=org, engine=engine, now=stored)
    with session_scope(url) as session:
        reclassify(session, spam, department="none")
        run = routing.route_classified(session=session, org=org, engine=engine, now=stored)
        assert run.withdrawn == 1
    code, out, _err = invoke("inbox", "--json")
    status = {line["id"]: line["status"] for line in map(json.loads, out.splitlines())}
    assert code == 0 and status == {spam: "withdrawn", kept: "open"}
    code, out, _err = invoke("inbox")
    assert code == 0 and out.count("withdrawn") == 1 and out.count("due") == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_token_variable_set_but_empty_is_called_empty(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCIALOPS_MASTODON_TOKEN", "")
    code, _out, err = invoke("ingest")
    assert code == 2
    assert "SOCIALOPS_MASTODON_TOKEN is set but empty" in err and "not set" not in err
    code, out, _err = invoke("check-config")
    assert code == 0 and "SOCIALOPS_MASTODON_TOKEN EMPTY" in out
    no_traceback(err)


HOSTILE = (
    "\x1b[31mred\x1b]0;retitled\x07 \x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\\r\x9b2J"
)


def _has_controls(text: str) -> bool:
    return any(ch not in "\n\t" and (ord(ch) < 32 or 127 <= ord(ch) < 160) for ch in text)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_inbox_and_quarantine_never_print_a_mentions_control_characters(env: Path) -> None:
    from socialops import storage
    from socialops.mentions import InvalidItem

    url = get_settings().resolved_database_url()
    hostile = mention(
        "h1", text=HOSTILE, author_display_name="Ann\x1b[8m", author_handle="ann\x9b@x.example"
    )
    with session_scope(url) as session:
        storage.store_mentions(session=session, mentions=[hostile])
        storage.quarantine_items(
            session=session,
            channel="mastodon-main",
            platform="mastodon",
            stage="parse",
            items=[InvalidItem(raw={"id": "\x1b[2J"}, reason=f"could not map: {HOSTILE}")],
        )
    for command in (["inbox"], ["quarantine"], ["quarantine", "--json"]):
        code, out, err = invoke(*command)
        assert code == 0, err
        assert not _has_controls(out), command
    code, out, _err = invoke("inbox")
    assert "␛[31mred" in out  # shown as a picture of ESC, not obeyed
    code, out, _err = invoke("inbox", "--json")
    assert code == 0 and not _has_controls(out)
    [row] = [json.loads(line) for line in out.splitlines()]
    assert row["text"] == HOSTILE  # stored as received, and scripts get it exactly
    assert row["author_display_name"] == "Ann\x1b[8m"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_inbox_json_streams_beyond_ten_thousand(env: Path) -> None:
    from datetime import timedelta

    from socialops import storage

    url = get_settings().resolved_database_url()
    start = mention("x").created_at
    assert start is not None
    with session_scope(url) as session:
        storage.store_mentions(
            session=session,
            mentions=[
                mention(f"m{i:05d}", created_at=start + timedelta(seconds=i)) for i in range(10_050)
            ],
        )
    code, out, err = invoke("inbox", "--json", "--limit", "10040")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 10_040
    assert json.loads(lines[0])["external_id"] == "m10049"
    assert json.loads(lines[-1])["external_id"] == "m00010"
    code, _out, err = invoke("inbox", "--limit", "10040")
    assert code == 1 and "use --json for more" in err


def test_a_reader_that_goes_away_ends_the_command_quietly(env: Path) -> None:
    # `socialops inbox --json | head -1`: like any Unix tool, no "BrokenPipeError" line.
    import subprocess
    import sys

    with session_scope(get_settings().resolved_database_url()) as session:
        from socialops import storage

        storage.store_mentions(
            session=session, mentions=[mention(f"p{i:05d}") for i in range(3_000)]
        )
    socialops = str(Path(sys.executable).with_name("socialops"))
    proc = subprocess.Popen(
        [socialops, "inbox", "--json", "--limit", "3000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert json.loads(proc.stdout.readline())["external_id"].startswith("p")
    proc.stdout.close()  # the reader goes away
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 141
    assert err == ""


def test_inbox_queue_shows_what_waits_and_rota_who_counts_it(env: Path) -> None:
    from datetime import UTC, datetime

    from socialops import routing
    from socialops.config import load_config
    from socialops.rota.schedule import RotaEngine
    from tests.routing_fixtures import add_classified

    settings = get_settings()
    org = load_config(settings.config)
    engine = RotaEngine(org)
    url = settings.resolved_database_url()
    night = datetime(2026, 12, 1, 23, 12, tzinfo=UTC)  # every department closed
    with session_scope(url) as session:
        older = add_classified(session, external_id="q1", department="legal", fetched_at=night)
        newer = add_classified(
            session, external_id="q2", department="legal", fetched_at=night.replace(minute=20)
        )
        add_classified(session, external_id="q3", department="hr", fetched_at=night)
        urgent = add_classified(
            session, external_id="q4", department="legal", urgent=True, fetched_at=night
        )
        routing.route_classified(session=session, org=org, engine=engine, now=night)
    code, out, _err = invoke("inbox", "--queue", "--department", "legal", "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [line["id"] for line in lines] == [older, newer]  # oldest first
    assert {(line["status"], line["assignee"], line["queue"]) for line in lines} == {
        ("queued", None, "legal")
    }
    assert lines[0]["queued_at"] == "2026-12-01T23:12:00+00:00"
    assert lines[0]["first_assigned_at"] is None and lines[0]["queued_seconds"] > 0
    code, out, _err = invoke("inbox", "--json")
    status = {line["id"]: line["status"] for line in map(json.loads, out.splitlines())}
    assert status[urgent] == "open" and status[older] == "queued"
    code, out, _err = invoke("inbox", "--queue")
    assert code == 0 and "Queue: 3 waiting" in out and out.count("queued") >= 3
    code, out, _err = invoke("rota", "who", "--json")
    queued = {row["department"]: row["queued"] for row in json.loads(out)}
    assert code == 0 and queued["legal"] == 2 and queued["hr"] == 1 and queued["marketing"] == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_quarantine_shows_the_total_and_its_summary_is_one_json_object(env: Path) -> None:
    from socialops import storage
    from socialops.mentions import InvalidItem

    url = get_settings().resolved_database_url()
    with session_scope(url) as session:
        for channel, stage, n in (("mastodon-main", "parse", 3), ("x-main", "quality", 2)):
            storage.quarantine_items(
                session=session,
                channel=channel,
                platform=channel.split("-")[0],
                stage=stage,
                items=[InvalidItem(raw={"id": f"{channel}-{i}"}, reason="bad") for i in range(n)],
            )
    code, out, err = invoke("quarantine", "--limit", "2")
    assert code == 0, err
    assert "the newest 2 of 5 items" in out
    footer = next(line for line in out.splitlines() if "in quarantine, 2 shown" in line)
    assert "total" in footer and " 5 " in footer
    code, out, _err = invoke("quarantine", "--json", "--limit", "2")
    assert code == 0 and len(out.splitlines()) == 2  # rows stay rows: no summary mixed in
    code, out, _err = invoke("quarantine", "--json", "--summary")
    assert code == 0
    assert json.loads(out) == {
        "total": 5,
        "by_channel": {"mastodon-main": 3, "x-main": 2},
        "by_stage": {"parse": 3, "quality": 2},
    }
    code, out, _err = invoke("quarantine", "--summary")
    assert code == 0 and "mastodon-main" in out and "5" in out.split("total")[-1]
