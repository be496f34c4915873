"""The same issue: character n-gram cosine of two texts."""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter

_URL = re.compile(r"https?://\S+|www\.\S+")
_AT_HANDLE = re.compile(r"(?<![\w])@[\w.\-]+(?:@[\w.\-]+)?")
_NON_WORD = re.compile(r"[^\w\s]|_")


def normalise_text(text: str) -> str:
    """What the comparison sees: NFKC, case-folded, without URLs, @handles and punctuation
    (each platform names the brand and links differently)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _AT_HANDLE.sub(" ", _URL.sub(" ", text))
    return " ".join(_NON_WORD.sub(" ", text).split())


def ngrams(text: str) -> Counter[str]:
    """Character 3- to 5-grams within words padded by a space (robust to typos, plurals and
    the odd added word)."""
    padded = [f" {word} " for word in normalise_text(text).split()]
    # One comprehension, counted in C: a routing pass computes many of these.
    return Counter(
        [
            word[i : i + n]
            for word in padded
            for n in (3, 4, 5)
            for i in range(max(1, len(word) - n + 1))
        ]
    )


def squares(grams: Counter[str]) -> int:
    """The sum of the squared counts (a :func:`cosine` norm, squared; kept by callers that
    compare one text with many)."""
    return sum(v * v for v in grams.values())


def cosine(
    a: Counter[str], b: Counter[str], *, a_squares: int | None = None, b_squares: int | None = None
) -> float:
    """Cosine of two n-gram counts; ``*_squares`` (:func:`squares`) if the caller has them."""
    if not a or not b:
        return 0.0
    sa = squares(a) if a_squares is None else a_squares
    sb = squares(b) if b_squares is None else b_squares
    if len(a) > len(b):
        a, b = b, a
    dot = sum(count * b[gram] for gram, count in a.items() if gram in b)
    norm = math.sqrt(sa * sb)
    return dot / norm if norm else 0.0


def similarity(a: str, b: str) -> float:
    """Character n-gram cosine of two texts, 0..1 (rounded to 3 places)."""
    return round(cosine(ngrams(a), ngrams(b)), 3)
