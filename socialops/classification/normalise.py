"""What the model reads: a mention with the accidents of how it was posted taken out.

Which of the brand's handles was addressed, the link shortener, the hashtag markup and the way
the brand is spelt say nothing about which department must act, but a model trained on a few
writers learns them anyway (``@northwindhelp`` was the customer-relations feature). So before
the model sees a text:

- the brand's own handles (``@northwind``, ``@northwindhelp``, ``@NorthwindCoffee``...) are
  removed, every other handle becomes ``@user``;
- URLs become ``URL`` (the domain of a known platform is kept as a word: a link to a news site
  or a shop is not the point, a link at all is);
- hashtags lose their ``#`` and CamelCase is split (``#BoycottNorthwind`` is "boycott
  northwind");
- the brand's names ("Northwind Coffee", "Northwind", "northwindcoffee") become ``Northwind``.

Platform HTML is turned into text before this, by the caller, with the same code ingest uses
(``connectors.html_text``): the domain does not import connectors. :func:`looks_like_html`
tells which texts need it.
"""

from __future__ import annotations

import re

VERSION = "n1"  # part of the model version: a change retrains
BRAND = "Northwind"
# Handles of the brand: @northwind, @northwindhelp, @NorthwindCoffee, @northwind_uk, and the
# Mastodon/Bluesky forms @northwind@mastodon.social, @northwind.bsky.social.
_BRAND_HANDLE = re.compile(
    r"(?<![\w@])@northwind[\w]*(?:@[\w.-]+|\.bsky\.social)?(?![\w@])", re.IGNORECASE
)
_HANDLE = re.compile(r"(?<![\w@/])@[A-Za-z0-9_][\w.]*(?:@[\w.-]+)?(?<![.])")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"')\]]+", re.IGNORECASE)
_HASHTAG = re.compile(r"(?<![\w&#])#(\w+)")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_BRAND_NAME = re.compile(r"\bnorthwind(?:\s*coffee|coffee|help)?\b", re.IGNORECASE)
_SPACES = re.compile(r"[ \t]+")
_BLANKS = re.compile(r"\s*\n\s*")
_HTML = re.compile(r"<(?:p|br|span|a|div|blockquote|ul|li)\b[^>]*>|</(?:p|span|a|div)>", re.I)


def looks_like_html(text: str) -> bool:
    """Platform markup (Mastodon's ``<p>``, ``<br>``, mention spans), not a stray ``<3``."""
    return "<" in text and _HTML.search(text) is not None


def _hashtag(match: re.Match[str]) -> str:
    return _CAMEL.sub(" ", match.group(1)).replace("_", " ")


def strip_brand_handles(text: str) -> str:
    """The text without the brand's handles (what "no handle" means in the invariance check)."""
    return _BRAND_HANDLE.sub(" ", text).strip()


def normalise(text: str) -> str:
    """The text the model reads (idempotent; never raises)."""
    # Each substitution only where it can match (the same result in about half the time: most
    # mentions have no link, hashtag or line break). The guards look for letters that have no
    # other case-insensitive form ("northw", not the "i" that a dotted İ also matches).
    lowered = text.lower()
    if "http" in lowered or "www." in lowered:
        text = _URL.sub(" URL ", text)
    if "@" in text:
        if "@northw" in lowered:
            text = _BRAND_HANDLE.sub(" ", text)
        text = _HANDLE.sub(" @user ", text)
    if "#" in text:
        text = _HASHTAG.sub(_hashtag, text)
    if "northw" in lowered:
        text = _BRAND_NAME.sub(BRAND, text)
    text = _SPACES.sub(" ", text)
    if "\n" in text:
        text = _BLANKS.sub("\n", text)
    return text.strip()
