"""`classify-eval --parts`: the hybrid measured part by part (rules alone, model alone)."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.table import Table

from socialops.classification.classifier import Classifier
from socialops.classification.data import Example
from socialops.classification.evaluate import evaluate
from socialops.classification.rules import ClassificationConfig


def rules_only(classifier: Classifier, examples: Sequence[Example]) -> Table:
    """How often each department's rules fire, and how often they are right when they do."""
    table = Table(title="rules alone", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("rule set", "fired", "right", "precision", "coverage of label"):
        table.add_column(column, justify="left" if column == "rule set" else "right")
    fired: dict[str, list[bool]] = {}
    for example in examples:
        for hit in classifier.rules.departments(example.text):
            fired.setdefault(hit.target, []).append(hit.target == example.department)
        urgent = classifier.rules.urgent(example.text)
        if urgent is not None:
            fired.setdefault("urgent", []).append(example.urgent)
    for target, outcomes in sorted(fired.items()):
        support = sum(
            (e.urgent if target == "urgent" else e.department == target) for e in examples
        )
        right = sum(outcomes)
        table.add_row(
            target,
            str(len(outcomes)),
            str(right),
            f"{right / len(outcomes):.3f}",
            f"{right / support:.1%}" if support else "-",
        )
    return table


def model_only(classifier: Classifier, examples: Sequence[Example]) -> Table:
    """The statistical model with no rules and no triage."""
    bare = Classifier(classifier.model, ClassificationConfig(triage_threshold=0.0))
    evaluation = evaluate(examples, bare.classify([e.text for e in examples]))
    table = Table(
        title="model alone (no rules, no triage)", title_justify="left", box=box.SIMPLE_HEAD
    )
    table.add_column("label")
    table.add_column("F1", justify="right")
    for label, score in evaluation.labels.items():
        table.add_row(label, f"{score.f1:.3f}")
    table.add_section()
    table.add_row("macro-F1", f"{evaluation.macro_f1:.3f}")
    table.add_row(
        "urgent recall / precision",
        f"{evaluation.urgent_recall:.3f} / {evaluation.urgent_precision:.3f}",
    )
    return table
