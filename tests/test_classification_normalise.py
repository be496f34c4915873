"""What the model reads (normalisation), platform HTML through ingest's own code, and
``socialops rules test``."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.classify import html_to_text
from cli.main import app
from socialops.classification import model
from socialops.classification.classifier import Classifier
from socialops.classification.normalise import looks_like_html, normalise, strip_brand_handles
from socialops.classification.rules import ClassificationConfig, RuleBook, RuleSet
from socialops.config import load_config
from tests.conftest import REPO

ORG = load_config(REPO / "config" / "northwind.yaml")
MASTODON = (
    '<p><span class="h-card" translate="no"><a href="https://mastodon.social/@northwindhelp" '
    'class="u-url mention">@<span>northwindhelp</span></a></span> my order is wrong again, '
    'see <a href="https://example.com/x" rel="nofollow noopener" target="_blank">'
    '<span class="invisible">https://</span><span class="">example.com/x</span>'
    '<span class="invisible"></span></a></p><p>second paragraph<br />'
    '<a href="https://mastodon.social/tags/NorthwindCoffee" class="mention hashtag" '
    'rel="tag">#<span>NorthwindCoffee</span></a></p>'
)


def test_handles_urls_hashtags_and_brand_names_become_placeholders() -> None:
    text = "@NorthwindCoffee @ann_b my order https://t.co/AbC123xYz is wrong #BoycottNorthwind"
    assert normalise(text) == "@user my order URL is wrong Boycott Northwind"
    assert normalise("northwind coffee and NORTHWIND and northwindcoffee") == (
        "Northwind and Northwind and Northwind"
    )
    assert normalise("@northwind@mastodon.social hi @bob@example.org") == "hi @user"
    assert normalise(normalise(text)) == normalise(text)  # idempotent
    assert strip_brand_handles("@northwindhelp @northwind same here") == "same here"
    # One brand handle or another, or none: the model reads the same text.
    assert {
        normalise(f"{h}my latte is cold") for h in ("", "@northwindhelp ", "@NorthwindCoffee ")
    } == {"my latte is cold"}


def test_platform_html_is_read_as_ingest_reads_it() -> None:
    assert looks_like_html(MASTODON) and not looks_like_html("I <3 Northwind, 2 < 3")
    classifier = Classifier(
        model.load(model.DEFAULT_MODEL), ORG.classification, prepare=html_to_text
    )
    as_html, as_text = classifier.classify([MASTODON, html_to_text(MASTODON)])
    assert (as_html.department, as_html.urgent, as_html.sentiment) == (
        as_text.department,
        as_text.urgent,
        as_text.sentiment,
    )
    assert "<span" not in " ".join(as_html.explanation["features"])


def test_rules_no_longer_fire_on_ordinary_substrings() -> None:
    rules = RuleBook(ORG.classification)
    for text in (
        "I applied for the Northwind credit card and got rejected",
        "love that the new store is ADA friendly, thanks Ada!",
        "my attorney says your pumpkin latte is the best",
    ):
        assert rules.departments(text) == [], text
    assert [h.target for h in rules.departments("I applied for the barista job in May")] == ["hr"]
    assert [h.target for h in rules.departments("my attorney will file in small claims")] == [
        "legal"
    ]


def test_trace_names_the_exclusion_that_cancels_a_rule() -> None:
    rules = RuleBook(
        ClassificationConfig(
            departments={"public_relations": RuleSet(phrases=["press"], exclude=["french press"])},
            urgent=RuleSet(regexes=[r"\bkill\b"], exclude=["kill for"]),
        )
    )
    traces = rules.trace("My French press broke; I'd kill for a coffee. Press office?")
    assert [(t.rule, t.matched, t.cancelled_by) for t in traces] == [
        ("public_relations.phrases", "press", "French press"),
        ("public_relations.phrases", "press", None),
        ("urgent.regexes", "kill", "kill for"),
    ]


def test_rules_test_command_shows_rules_exclusions_and_the_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SOCIALOPS_CONFIG", str(REPO / "config" / "northwind.yaml"))
    monkeypatch.setenv("SOCIALOPS_HOME", str(tmp_path))
    monkeypatch.delenv("SOCIALOPS_CHANNELS", raising=False)
    from socialops.settings import reset_settings_cache

    reset_settings_cache()
    result = CliRunner().invoke(
        app, ["rules", "test", "my attorney says the french press is great"]
    )
    reset_settings_cache()
    assert result.exit_code == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert "legal.phrases 'my attorney' cancelled by exclude 'my attorney says'" in out
    assert "model:" in out and "the urgent threshold" in out and "decision:" in out
