"""How an urgent decision by the model reads: the score against its threshold, in words."""

from __future__ import annotations

import pytest

from socialops.classification.classifier import urgent_score_words


@pytest.mark.parametrize(
    ("score", "threshold", "words"),
    [
        (-0.24, -0.47, "model score 0.23 above the urgent threshold"),
        (0.40, 0.10, "model score 0.30 above the urgent threshold"),
        (-0.52, -0.47, "model score 0.05 below the urgent threshold (not urgent)"),
        (-0.47, -0.47, "model score 0.00 above the urgent threshold"),  # on it: urgent
    ],
)
def test_the_urgent_score_reads_against_its_threshold(
    score: float, threshold: float, words: str
) -> None:
    assert urgent_score_words(score, threshold) == words


def test_a_model_urgent_decision_explains_itself_in_words() -> None:
    """Through the real classifier with the urgent rules taken away, so the model decides: the
    summary of an urgent decision names the margin above the threshold, never a bare signed
    score; a decision that is not urgent says how far below it fell."""
    from socialops.classification.rules import ClassificationConfig, RuleSet
    from socialops.classification.service import default_classifier
    from socialops.config import load_config
    from tests.conftest import REPO

    org = load_config(REPO / "config" / "northwind.yaml")
    config = ClassificationConfig(**{**dict(org.classification), "urgent": RuleSet()})
    classifier = default_classifier(config)
    urgent, calm = classifier.classify(
        [
            "my kid got really sick after your muffin, allergic reaction, we are at the ER now",
            "lovely latte this morning, thanks!",
        ]
    )
    assert urgent.urgent and not calm.urgent
    scored = urgent.explanation["urgent"]
    gap = scored["score"] - scored["threshold"]
    assert scored["why"] == scored["words"] == f"model score {gap:.2f} above the urgent threshold"
    assert urgent.summary.endswith(f"; urgent: model score {gap:.2f} above the urgent threshold")
    below = calm.explanation["urgent"]
    assert below["why"] is None and "urgent" not in calm.summary
    gap = below["threshold"] - below["score"]
    assert below["words"] == f"model score {gap:.2f} below the urgent threshold (not urgent)"
