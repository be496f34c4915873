"""Reply texts from Jinja2 templates, within each platform's length limit.

Templates live under ``<folder of the organisation file>/replies/``, one file per department,
intent and language: ``<department>/<intent>.<lang>.j2``. The first that exists wins, in this
order: the department's for the intent, the department's ``default``, then the same under
``default/``; each first in the mention's language, then in English.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import jinja2
import regex
from jinja2.sandbox import SandboxedEnvironment

LIMITS: dict[str, int] = {"mastodon": 500, "bluesky": 300, "x": 280, "reddit": 10_000}
"""The longest text each platform accepts (Bluesky counts graphemes, the others characters;
Mastodon and X count any link as 23)."""

INTENTS = ("urgent", "complaint", "praise", "question", "private")
_URL = re.compile(r"https?://\S+")
_REMOTE_MENTION = re.compile(r"(@[A-Za-z0-9_]+)@[A-Za-z0-9.-]+")
_GRAPHEME = regex.compile(r"\X")


class TemplateMissing(Exception):
    """No template for a department, intent and language, not even the defaults."""


def intent_of(*, urgent: bool, sentiment: str | None, private: bool) -> str:
    """What the reply does: ``private`` (we will contact you directly), ``urgent``,
    ``complaint``, ``praise`` or ``question``."""
    if private:
        return "private"
    if urgent:
        return "urgent"
    if sentiment == "negative":
        return "complaint"
    if sentiment == "positive":
        return "praise"
    return "question"


def graphemes(text: str) -> int:
    """User-perceived characters: Unicode extended grapheme clusters (UAX #29), as Bluesky
    counts them. An emoji ZWJ sequence, a flag, a letter with combining accents, a Hangul
    syllable made of jamo: each is one."""
    return len(_GRAPHEME.findall(text))


def text_length(platform: str, text: str) -> int:
    """The length as the platform counts it."""
    if platform == "bluesky":
        return graphemes(text)
    if platform in ("mastodon", "x"):
        text = _URL.sub("x" * 23, text)
        if platform == "mastodon":
            text = _REMOTE_MENTION.sub(r"\1", text)
    return len(text)


def fit(platform: str, text: str) -> str:
    """The text, cut at a word with an ellipsis if it is longer than the platform allows."""
    limit = LIMITS.get(platform, 500)
    text = text.strip()
    if text_length(platform, text) <= limit:
        return text
    words = text.split(" ")
    while words and text_length(platform, " ".join(words) + "…") > limit:
        words.pop()
    cut = " ".join(words).rstrip(",;:.-") + "…"
    if not words:  # one enormous word: cut between characters as the platform counts them
        pieces = _GRAPHEME.findall(text) if platform == "bluesky" else list(text)
        cut = "".join(pieces[: limit - 1]) + "…"
    return cut


def address_author(platform: str, text: str, author: object) -> str:
    """Templates name the author ``@{{ author }}``; Reddit's way is ``u/name`` (an ``@`` there
    is plain text and notifies nobody)."""
    if platform != "reddit" or not isinstance(author, str) or not author:
        return text
    return re.sub(rf"(?<![\w/])@{re.escape(author)}(?![\w-])", f"u/{author}", text)


@dataclass(frozen=True)
class Rendered:
    text: str
    template: str


class ReplyTemplates:
    """The template folder, loaded once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._env = SandboxedEnvironment(
            loader=jinja2.FileSystemLoader(str(folder)),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )

    def candidates(self, department: str, intent: str, lang: str) -> list[str]:
        langs = [lang, "en"] if lang != "en" else ["en"]
        names: list[str] = []
        for code in langs:
            for folder in (department, "default"):
                for name in (intent, "default"):
                    path = f"{folder}/{name}.{code}.j2"
                    if path not in names:
                        names.append(path)
        return names

    def render(
        self,
        *,
        platform: str,
        department: str,
        intent: str,
        lang: str | None,
        values: Mapping[str, object],
    ) -> Rendered:
        """The reply text for one mention, fitted to the platform."""
        code = (lang or "en").split("-")[0].lower()
        for name in self.candidates(department, intent, code):
            if (self.folder / name).is_file():
                text = self._env.get_template(name).render(**values)
                text = re.sub(r"[ \t]+\n", "\n", text).strip()
                text = address_author(platform, text, values.get("author"))
                return Rendered(text=fit(platform, text), template=name)
        raise TemplateMissing(
            f"no reply template for {department}/{intent} in {code} under {self.folder} "
            "(add default/default.en.j2 at least)"
        )


def templates_folder(config_path: Path) -> Path:
    """Where the organisation file's reply templates live."""
    return config_path.resolve().parent / "replies"
