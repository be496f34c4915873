from __future__ import annotations

from pathlib import Path

import pytest

from socialops.config import ConfigError, load_config
from tests.conftest import REPO

DEFAULT = REPO / "config" / "northwind.yaml"


def _write(tmp_path: Path, text: str, name: str = "org.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_default_organisation_loads() -> None:
    org = load_config(DEFAULT)
    assert org.organisation.name == "Northwind Coffee"
    assert [c.name for c in org.channels] == ["mastodon-main", "mastodon-help"]
    assert set(org.departments) == {
        "customer_relations",
        "marketing",
        "public_relations",
        "hr",
        "legal",
        "triage",
    }


def test_error_names_file_line_key_path_and_expectation(tmp_path: Path) -> None:
    bad = DEFAULT.read_text().replace(
        "    base_url: http://127.0.0.1:8787/i/help", "    base_url: ftp://example.org"
    )
    path = _write(tmp_path, bad)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    line = next(i for i, text in enumerate(bad.splitlines(), 1) if "ftp://" in text)
    assert f"{path}:{line}: channels[1].base_url: String should match pattern" in str(caught.value)
    assert "'ftp://example.org'" in str(caught.value)


def test_token_in_file_is_refused_with_the_reason(tmp_path: Path) -> None:
    bad = DEFAULT.read_text().replace(
        "    token_env: SOCIALOPS_MASTODON_TOKEN\n",
        "    token_env: SOCIALOPS_MASTODON_TOKEN\n    token: s3cr3t-value\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, bad))
    message = str(caught.value)
    assert "channels[0].token: unknown key (tokens never sit in files" in message
    assert "s3cr3t-value" not in message


def test_token_env_must_be_a_variable_name(tmp_path: Path) -> None:
    bad = DEFAULT.read_text().replace(
        "token_env: SOCIALOPS_MASTODON_TOKEN", "token_env: abc123-real-token"
    )
    with pytest.raises(ConfigError, match=r"channels\[0\]\.token_env: must be the NAME"):
        load_config(_write(tmp_path, bad))


def test_missing_key_unknown_department_and_duplicate_channel(tmp_path: Path) -> None:
    text = """organisation:
  handles: [x]
channels:
  - {name: a, platform: mastodon, base_url: "https://m.example", token_env: T}
  - {name: a, platform: mastodon, base_url: "https://m.example", token_env: T}
departments:
  finance: {name: Finance}
"""
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, text))
    message = str(caught.value)
    assert "org.yaml:1: organisation.name: required key is missing" in message
    assert "channels: channel name 'a' is used twice" in message
    assert ":7: departments.finance" in message


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "organisation:\n  name: [unclosed\nchannels: []\n")
    with pytest.raises(ConfigError, match=rf"{path}:\d+: not valid YAML"):
        load_config(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")


def test_channels_file_replaces_the_list_and_reports_its_own_errors(tmp_path: Path) -> None:
    channels = _write(
        tmp_path,
        "channels:\n  - name: prod\n    platform: mastodon\n"
        "    base_url: https://mastodon.example\n    token_env: PROD_TOKEN\n",
        "channels.yaml",
    )
    org = load_config(DEFAULT, channels_path=channels)
    assert [c.name for c in org.channels] == ["prod"]
    assert org.organisation.name == "Northwind Coffee"

    broken = _write(tmp_path, "channels:\n  - name: prod\n    platform: mastodon\n", "bad.yaml")
    with pytest.raises(ConfigError) as caught:
        load_config(DEFAULT, channels_path=broken)
    assert f"{broken}:2: channels[0].base_url: required key is missing" in str(caught.value)


def test_channel_token_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    channel = load_config(DEFAULT).channels[0]
    monkeypatch.delenv(channel.token_env, raising=False)
    with pytest.raises(ConfigError, match="SOCIALOPS_MASTODON_TOKEN is not set"):
        channel.token()
    monkeypatch.setenv(channel.token_env, "tok-123")
    assert channel.token().get_secret_value() == "tok-123"
    assert "tok-123" not in repr(channel.token())
