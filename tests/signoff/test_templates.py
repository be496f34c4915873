"""Length limits as each platform counts them: Bluesky's 300 are graphemes (UAX #29 extended
grapheme clusters), not code points or bytes."""

from __future__ import annotations

import pytest

from socialops.signoff.templates import LIMITS, fit, graphemes, text_length

FAMILY = "\U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 👩‍👩‍👧‍👦: 7 code points
RAINBOW_FLAG = "\U0001f3f3\ufe0f\u200d\U0001f308"  # 🏳️‍🌈: white flag, VS16, ZWJ, rainbow
UK, FR = "\U0001f1ec\U0001f1e7", "\U0001f1eb\U0001f1f7"  # regional-indicator pairs
SCOTLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"  # tag flag
THUMB = "\U0001f44d\U0001f3fd"  # 👍🏽: skin tone modifier
E_ACUTE = "e\u0301"  # e + combining acute
STACKED = "a\u0308\u0323\u0301"  # a with three combining marks
HANGUL = "\u1100\u1161\u11a8"  # 각 as conjoining jamo


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", 5),
        (FAMILY, 1),
        (RAINBOW_FLAG, 1),
        (UK + FR, 2),
        (UK + "\U0001f1eb", 2),  # a lone indicator after a pair is its own cluster
        (SCOTLAND, 1),
        (THUMB, 1),
        (E_ACUTE, 1),
        (STACKED, 1),
        (HANGUL, 1),
        ("caf" + E_ACUTE + " " + FAMILY + UK, 7),
        ("a\r\nb", 3),  # CR LF is one cluster
        ("\u0915\u094d\u0937", 1),  # Devanagari conjunct क्ष
    ],
)
def test_graphemes_are_extended_clusters(text: str, expected: int) -> None:
    assert graphemes(text) == expected
    assert text_length("bluesky", text) == expected


def test_300_zwj_families_fit_bluesky_but_not_by_code_points() -> None:
    text = FAMILY * 300
    assert len(text) == 2100 and graphemes(text) == 300
    assert fit("bluesky", text) == text
    longer = FAMILY * 301
    cut = fit("bluesky", longer)
    assert graphemes(cut) == LIMITS["bluesky"] and cut.endswith("…")
    assert cut[:-1] == FAMILY * 299  # never half a family


def test_fitting_cuts_at_a_word_and_never_inside_a_cluster() -> None:
    words = " ".join([UK + E_ACUTE + "x"] * 100)  # 3 graphemes a word, 399 with spaces
    cut = fit("bluesky", words)
    assert graphemes(cut) <= 300 and cut.endswith("…")
    assert all(w == UK + E_ACUTE + "x" for w in cut[:-1].split(" "))
    # The same text by code points is longer than X's and Mastodon's limits allow.
    assert text_length("x", words) == len(words) > 280


def test_other_platforms_count_characters_and_links_as_23() -> None:
    assert text_length("x", "see https://example.com/a/very/long/path/indeed") == 4 + 23
    assert text_length("mastodon", "@ann@social.example hi") == len("@ann hi")
    assert text_length("reddit", E_ACUTE) == 2
