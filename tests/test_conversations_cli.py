"""``socialops conversations`` and ``socialops people`` with the shipped organisation, and the
inbox's view of a conversation (real SQLite, the CLI as a person runs it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from socialops import routing
from socialops.config import load_config
from socialops.db import session_scope
from socialops.rota.schedule import engine_for
from socialops.settings import get_settings
from tests.test_cli import invoke
from tests.test_conversations import MONDAY_10, jane_on_two_platforms

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _route() -> None:
    settings = get_settings()
    org = load_config(settings.config, channels_path=settings.channels)
    with session_scope(settings.resolved_database_url()) as session:
        routing.route_classified(session=session, org=org, engine=engine_for(org), now=MONDAY_10)


def test_conversations_are_listed_shown_explained_and_unlinked(socialops_env: Path) -> None:
    code, _out, _err = invoke("conversations", "list")  # migrates; nothing yet
    assert code == 0
    first, second = jane_on_two_platforms(get_settings().resolved_database_url())
    _route()
    code, out, _err = invoke("inbox", "--json", "--limit", "5")
    rows = {row["id"]: row for row in map(json.loads, out.splitlines())}
    linked, opener = rows[second], rows[first]
    assert linked["conversation"]["role"] == "linked"
    assert linked["conversation"]["opener_mention_id"] == first
    assert linked["conversation"]["why"] == "both handles read 'janedoe'"
    assert linked["conversation"]["similarity"] >= 0.9
    assert linked["assignee"] == opener["assignee"] is not None  # the conversation's owner
    code, out, _err = invoke("inbox", "--limit", "5")
    assert code == 0 and "conversation" in out and "janedoe" in out
    code, out, _err = invoke("conversations", "list", "--json")
    [listed] = [json.loads(line) for line in out.splitlines()]
    assert listed["platforms"] == ["bluesky", "mastodon"] and len(listed["mentions"]) == 2
    code, out, _err = invoke("conversations", "show", str(listed["id"]))
    assert code == 0 and "opened it" in out and "similarity" in out
    code, _out, err = invoke("conversations", "show", "999")
    assert code == 1 and "no conversation 999" in err and "Traceback" not in err
    code, _out, err = invoke("conversations", "unlink", str(first), "--as", "liz")
    assert code == 1 and "unlink the others instead" in err
    at = ["--at", MONDAY_10.isoformat()]
    code, out, err = invoke("conversations", "unlink", str(second), "--as", "liz", *at)
    assert code == 0, err
    assert f"mention {second} left conversation {listed['id']}" in " ".join(out.split())
    code, out, _err = invoke("inbox", "--json", "--limit", "5")
    rows = {row["id"]: row for row in map(json.loads, out.splitlines())}
    assert rows[second]["conversation"]["status"] == "unlinked"
    assert rows[second]["status"] in ("open", "queued")  # its own assignment now


def test_people_are_linked_listed_and_unlinked_with_one_line_errors(socialops_env: Path) -> None:
    code, out, err = invoke(
        "people",
        "link",
        "mastodon:@jane@mastodon.social",
        "bluesky:jane.bsky.social",
        "--as",
        "liz",
        "--name",
        "Jane",
    )
    assert code == 0, err
    code, out, _err = invoke("people", "list", "--json")
    [person] = [json.loads(line) for line in out.splitlines()]
    assert person["label"] == "Jane"
    assert person["accounts"] == ["bluesky:jane.bsky.social", "mastodon:jane@mastodon.social"]
    code, _out, err = invoke("people", "link", "mastodon:@jane", "x:@jane", "--as", "liz")
    assert code == 1 and "needs its server too" in err and len(err.strip().splitlines()) == 1
    code, _out, err = invoke("people", "link", "x:@bob", "reddit:u/bob", "--as", "liz")
    assert code == 0, err
    code, _out, err = invoke("people", "link", "x:@bob", "bluesky:jane.bsky.social", "--as", "liz")
    assert code == 1 and "already belong to different people" in err
    code, out, err = invoke("people", "unlink", "bluesky:jane.bsky.social", "--as", "liz")
    assert code == 0, err
    code, _out, err = invoke("people", "unlink", "bluesky:jane.bsky.social", "--as", "liz")
    assert code == 1 and "is not in the person directory" in err
