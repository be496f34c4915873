"""Judging a classifier on labelled data: the figures `socialops classify-eval` prints."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from socialops.classification.classifier import Classification
from socialops.classification.data import Example
from socialops.classification.rules import DEPARTMENTS, TRIAGE


@dataclass
class LabelScore:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class Evaluation:
    labels: dict[str, LabelScore]
    macro_f1: float
    confusion: dict[str, dict[str, int]]  # truth -> predicted (including triage) -> count
    urgent_recall: float
    urgent_precision: float
    triage_share: float
    routed_precision: float  # accuracy among the mentions not sent to triage
    examples: int
    by_language: dict[str, float] = field(default_factory=dict)  # accuracy when routed
    language_counts: dict[str, int] = field(default_factory=dict)  # examples per language
    by_platform: dict[str, float] = field(default_factory=dict)  # accuracy when routed
    sentiment: dict[str, LabelScore] = field(default_factory=dict)
    sentiment_macro_f1: float = 0.0


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def _scores(pairs: Sequence[tuple[str, str]], labels: Sequence[str]) -> dict[str, LabelScore]:
    out = {}
    for label in labels:
        tp = sum(1 for t, p in pairs if t == label == p)
        predicted = sum(1 for _t, p in pairs if p == label)
        actual = sum(1 for t, _p in pairs if t == label)
        precision, recall = _ratio(tp, predicted), _ratio(tp, actual)
        out[label] = LabelScore(
            precision, recall, _ratio(2 * precision * recall, precision + recall), actual
        )
    return out


def evaluate(examples: Sequence[Example], results: Sequence[Classification]) -> Evaluation:
    """Triage counts as a miss for recall (nobody owning it acted) but not for precision."""
    confusion = {t: dict.fromkeys((*DEPARTMENTS, TRIAGE), 0) for t in DEPARTMENTS}
    for example, result in zip(examples, results, strict=True):
        confusion[example.department][result.department] += 1
    labels = {}
    for label in DEPARTMENTS:
        tp = confusion[label][label]
        predicted = sum(confusion[t][label] for t in DEPARTMENTS)
        actual = sum(confusion[label].values())
        precision, recall = _ratio(tp, predicted), _ratio(tp, actual)
        f1 = _ratio(2 * precision * recall, precision + recall)
        labels[label] = LabelScore(precision, recall, f1, actual)
    routed = [(e, r) for e, r in zip(examples, results, strict=True) if r.department != TRIAGE]
    urgent_tp = sum(1 for e, r in zip(examples, results, strict=True) if e.urgent and r.urgent)
    by_language: dict[str, list[bool]] = {}
    by_platform: dict[str, list[bool]] = {}
    for e, r in routed:
        by_language.setdefault(e.lang or "?", []).append(e.department == r.department)
        by_platform.setdefault(e.platform or "?", []).append(e.department == r.department)
    counts: dict[str, int] = {}
    for e in examples:
        counts[e.lang or "?"] = counts.get(e.lang or "?", 0) + 1
    sentiment = _scores(
        [(e.sentiment, r.sentiment) for e, r in zip(examples, results, strict=True)],
        ("negative", "neutral", "positive"),
    )
    return Evaluation(
        labels=labels,
        macro_f1=sum(s.f1 for s in labels.values()) / len(labels),
        confusion=confusion,
        urgent_recall=_ratio(urgent_tp, sum(e.urgent for e in examples)),
        urgent_precision=_ratio(urgent_tp, sum(r.urgent for r in results)),
        triage_share=_ratio(len(examples) - len(routed), len(examples)),
        routed_precision=_ratio(sum(e.department == r.department for e, r in routed), len(routed)),
        examples=len(examples),
        by_language={k: _ratio(sum(v), len(v)) for k, v in sorted(by_language.items())},
        language_counts=dict(sorted(counts.items())),
        by_platform={k: _ratio(sum(v), len(v)) for k, v in sorted(by_platform.items())},
        sentiment=sentiment,
        sentiment_macro_f1=sum(s.f1 for s in sentiment.values()) / len(sentiment),
    )
