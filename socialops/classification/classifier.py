"""Rules, then the model, then the triage threshold: one explained decision per mention."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from socialops.classification.model import NEVER_URGENT, TrainedModel
from socialops.classification.normalise import looks_like_html
from socialops.classification.rules import TRIAGE, ClassificationConfig, RuleBook


@dataclass(frozen=True)
class Classification:
    """Who must act first, how sure we are, and why."""

    department: str  # one of the departments, or "triage"
    confidence: float
    urgent: bool
    sentiment: str
    explanation: dict[str, Any]
    model_version: str

    @property
    def summary(self) -> str:
        return str(self.explanation.get("summary", ""))


def urgent_score_words(score: float, threshold: float) -> str:
    """The urgent model's score against its threshold, as a person reads it.

    The raw score is a signed distance from the model's own boundary (often negative even when
    urgent), so it means nothing alone: what matters is how far above or below the urgent
    threshold it falls. ``0.23 above the urgent threshold`` / ``0.05 below the urgent threshold
    (not urgent)``; exactly on the threshold counts as urgent, as the decision does. The gap
    is the difference of the two figures the explanation shows (rounded to 3 places), so a
    reader who subtracts them gets the same number.
    """
    gap = round(score, 3) - round(threshold, 3)
    if score >= threshold:
        return f"model score {abs(gap):.2f} above the urgent threshold"
    return f"model score {abs(gap):.2f} below the urgent threshold (not urgent)"


class Classifier:
    """The default classifier: the organisation's rules over a trained model.

    ``prepare`` turns platform markup (Mastodon's HTML) into text before the rules and the
    model read it: the CLI passes ingest's own ``connectors.html_text.html_to_text`` (the
    domain does not import connectors). Stored mentions were made text by ingest already.
    """

    def __init__(
        self,
        model: TrainedModel,
        config: ClassificationConfig,
        *,
        prepare: Callable[[str], str] = str,
    ) -> None:
        self.model = model
        self.config = config
        self.rules = RuleBook(config)
        self.prepare = prepare

    @property
    def version(self) -> str:
        return f"{self.model.version}+t{self.config.triage_threshold:g}"

    def classify(self, texts: Sequence[str]) -> list[Classification]:
        texts = [self.prepare(t) if looks_like_html(t) else t for t in texts]
        predictions = self.model.predict(texts)
        out = []
        for text, prediction in zip(texts, predictions, strict=True):
            probabilities = prediction.department_probabilities
            hits, urgent_hit = self.rules.match(text)
            ranked = sorted(probabilities, key=lambda d: -probabilities[d])
            explanation: dict[str, Any] = {
                "probabilities": {d: round(probabilities[d], 3) for d in ranked[:3]},
                "features": [word for word, _weight in prediction.top_words],
            }
            if hits:
                # Several departments' rules may fire: the model arbitrates between them.
                chosen = max(hits, key=lambda h: probabilities.get(h.target, 0.0))
                department = chosen.target
                share = probabilities.get(department, 0.0) / sum(
                    probabilities.get(h.target, 0.0) for h in hits
                )
                confidence = self.config.rule_confidence * (1.0 if len(hits) == 1 else share)
                confidence = max(confidence, probabilities.get(department, 0.0))
                explanation["source"] = "rule"
                explanation["rule"] = chosen.describe()
                if len(hits) > 1:
                    explanation["other_rules"] = [h.describe() for h in hits if h is not chosen]
                why = chosen.describe()
            else:
                department = ranked[0]
                confidence = probabilities[department]
                explanation["source"] = "model"
                words = ", ".join(explanation["features"]) or "no strong words"
                why = f"model {confidence:.2f} ({words})"
            if confidence < self.config.triage_threshold:
                explanation["suggested"] = department
                why = f"unsure ({why}); sent to triage"
                department = TRIAGE
            if urgent_hit is not None:
                urgent, urgent_why = True, urgent_hit.describe()
            elif self.model.model_urgent(prediction):
                urgent = True
                urgent_why = urgent_score_words(
                    prediction.urgent_score, self.model.urgent_threshold
                )
            else:
                urgent, urgent_why = False, None
            explanation["urgent"] = {
                "why": urgent_why,
                "words": urgent_score_words(prediction.urgent_score, self.model.urgent_threshold),
                "score": round(prediction.urgent_score, 3),
                "threshold": round(self.model.urgent_threshold, 3),
            }
            if (
                urgent_hit is None
                and prediction.urgent_score >= self.model.urgent_threshold
                and not urgent
            ):  # the score alone would have flagged it: say why it did not
                explanation["urgent"]["not_urgent"] = (
                    f"reads as {' or '.join(NEVER_URGENT)} "
                    f"({prediction.never_urgent_share:.2f}), which are never urgent"
                )
            explanation["summary"] = why + (f"; urgent: {urgent_why}" if urgent else "")
            out.append(
                Classification(
                    department=department,
                    confidence=round(float(confidence), 4),
                    urgent=urgent,
                    sentiment=prediction.sentiment,
                    explanation=explanation,
                    model_version=self.version,
                )
            )
        return out
