"""What `socialops classify` reads and writes (JSON lines), and `classify-eval`'s tables."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, replace
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, ValidationError
from rich import box
from rich.console import Console
from rich.table import Table

from socialops.classification.classifier import Classifier
from socialops.classification.data import Example
from socialops.classification.evaluate import Evaluation, evaluate
from socialops.classification.rules import DEPARTMENTS, TRIAGE


class InputLine(BaseModel):
    """One line of `socialops classify` input."""

    model_config = ConfigDict(extra="ignore")

    id: str | int
    text: str
    platform: str | None = None
    lang: str | None = None
    author: str | None = None
    created_at: str | None = None


def read_inputs(stream: IO[str]) -> Iterator[tuple[int, InputLine | str]]:
    """(line number, parsed line) or (line number, the reason it is bad)."""
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            yield number, InputLine.model_validate(json.loads(line))
        except json.JSONDecodeError as exc:
            yield number, f"not JSON ({exc.msg} at column {exc.colno})"
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'line'}: {e['msg']}" for e in exc.errors()
            )
            yield number, problems


def classify_stream(
    classifier: Classifier, source: IO[str], sink: IO[str], errors: Console, batch: int = 1000
) -> tuple[int, int]:
    """Classify every good line, report every bad one by number; returns (good, bad)."""
    good = bad = 0
    pending: list[InputLine] = []

    def flush() -> None:
        for item, result in zip(
            pending, classifier.classify([p.text for p in pending]), strict=True
        ):
            sink.write(
                json.dumps(
                    {
                        "id": item.id,
                        "department": result.department,
                        "confidence": result.confidence,
                        "urgent": result.urgent,
                        "sentiment": result.sentiment,
                        "explanation": result.explanation,
                        "model_version": result.model_version,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
        pending.clear()

    for number, parsed in read_inputs(source):
        if isinstance(parsed, str):
            bad += 1
            errors.print(f"[yellow]line {number}:[/] {parsed}", highlight=False)
            continue
        good += 1
        pending.append(parsed)
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    return good, bad


def evaluation_tables(evaluation: Evaluation, *, title: str) -> list[Table]:
    scores = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("label", "precision", "recall", "F1", "support"):
        scores.add_column(column, justify="left" if column == "label" else "right")
    for label, s in evaluation.labels.items():
        scores.add_row(
            label, f"{s.precision:.3f}", f"{s.recall:.3f}", f"{s.f1:.3f}", str(s.support)
        )
    scores.add_section()
    scores.add_row("[bold]macro-F1[/]", "", "", f"[bold]{evaluation.macro_f1:.3f}[/]", "")
    scores.add_row(
        "urgent", f"{evaluation.urgent_precision:.3f}", f"{evaluation.urgent_recall:.3f}", "", ""
    )
    scores.add_row(
        "routed (not triage)",
        f"{evaluation.routed_precision:.3f}",
        "",
        "",
        f"triage {evaluation.triage_share:.1%}",
    )
    confusion = Table(
        title="confusion (rows: truth, columns: decision)", title_justify="left", box=box.SIMPLE
    )
    short = {d: d[:6] for d in (*DEPARTMENTS, TRIAGE)}
    confusion.add_column("truth")
    for label in (*DEPARTMENTS, TRIAGE):
        confusion.add_column(short[label], justify="right")
    for truth, row in evaluation.confusion.items():
        confusion.add_row(short[truth], *(str(row[label]) for label in (*DEPARTMENTS, TRIAGE)))
    return [scores, confusion]


def tradeoff_table(
    classifier: Classifier, examples: Sequence[Example], thresholds: Sequence[float]
) -> Table:
    """Routed precision against the share sent to triage, for several thresholds."""
    table = Table(title="triage threshold trade-off", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("threshold", "triage share", "routed precision", "macro-F1 (triage = miss)"):
        table.add_column(column, justify="right")
    results = classifier.classify([e.text for e in examples])
    # The decision before triage, then the threshold applied afresh.
    decided = [replace(r, department=r.explanation.get("suggested", r.department)) for r in results]
    for threshold in thresholds:
        adjusted = [
            replace(r, department=TRIAGE) if r.confidence < threshold else r for r in decided
        ]
        e = evaluate(examples, adjusted)
        table.add_row(
            f"{threshold:.2f}",
            f"{e.triage_share:.1%}",
            f"{e.routed_precision:.3f}",
            f"{e.macro_f1:.3f}",
        )
    return table


def evaluation_json(evaluation: Evaluation) -> dict[str, Any]:
    return asdict(evaluation)
