"""The cross-writer check: train without one writer's lines, judge the classifier on them.

A held-out split of the same writers measures how well the model learned their habits; a
writer the model never read is closer to a real brand's mentions. Writers are told apart by
the id prefix (``p1-``, ``xa-``, ``ta-``...), and only `train`-split lines are used (the
held-out split stays untouched, and the independent evaluation set is never trained on).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from socialops.classification import training
from socialops.classification.classifier import Classifier
from socialops.classification.data import Example
from socialops.classification.evaluate import Evaluation, evaluate
from socialops.classification.rules import ClassificationConfig, RuleBook


def writer_of(example: Example) -> str:
    """The writer's id: the id's prefix before the first ``-``."""
    return example.id.split("-", 1)[0]


@dataclass(frozen=True)
class WriterResult:
    writer: str
    trained_on: int
    evaluation: Evaluation

    @property
    def accuracy(self) -> float:
        """Share of the writer's lines given their department (triage counts as a miss)."""
        e = self.evaluation
        right = sum(row[label] for label, row in e.confusion.items())
        return right / e.examples if e.examples else 0.0


def cross_writer(
    examples: Sequence[Example],
    config: ClassificationConfig,
    *,
    prepare: Callable[[str], str] = str,
    writers: Sequence[str] | None = None,
) -> list[WriterResult]:
    """One model per writer, trained on everyone else's train lines, judged on that writer's."""
    train = [e for e in examples if e.split == "train"]
    rules = RuleBook(config)
    results = []
    for writer in writers or sorted({writer_of(e) for e in train}):
        rest = [e for e in train if writer_of(e) != writer]
        theirs = [e for e in train if writer_of(e) == writer]
        if not theirs or not rest:
            continue
        trained = training.train(
            rest,
            data_fingerprint=f"without:{writer}",
            prepare=prepare,
            urgent_rule=lambda text: rules.urgent(text) is not None,
        )
        classifier = Classifier(trained, config, prepare=prepare)
        evaluation = evaluate(theirs, classifier.classify([e.text for e in theirs]))
        results.append(WriterResult(writer, len(rest), evaluation))
    return results
