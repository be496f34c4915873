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
    out: Counter[str] = Counter()
    for word in normalise_text(text).split():
        padded = f" {word} "
        for n in (3, 4, 5):
            for i in range(max(1, len(padded) - n + 1)):
                out[padded[i : i + n]] += 1
    return out


def cosine(a: Counter[str], b: Counter[str]) -> float:
    if not a or not b:
        return 0.0
    if len(a) > len(b):
        a, b = b, a
    dot = sum(count * b[gram] for gram, count in a.items() if gram in b)
    norm = math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


def similarity(a: str, b: str) -> float:
    """Character n-gram cosine of two texts, 0..1 (rounded to 3 places)."""
    return round(cosine(ngrams(a), ngrams(b)), 3)
