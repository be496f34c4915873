"""What `socialops classify` reads and writes (JSON lines), and `classify-eval`'s tables."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, replace
from datetime import date
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, ValidationError
from rich import box
from rich.console import Console
from rich.table import Table

from socialops.classification.classifier import Classifier
from socialops.classification.corrections import LiveAccuracy
from socialops.classification.crosscheck import WriterResult
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
    scores.add_row("sentiment macro-F1", "", "", f"{evaluation.sentiment_macro_f1:.3f}", "")
    scores.add_row(
        "accuracy by language",
        "",
        "",
        "",
        ", ".join(
            f"{lang} {acc:.2f} ({evaluation.language_counts.get(lang, 0)})"
            for lang, acc in evaluation.by_language.items()
        ),
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


def comparison_table(judged: dict[str, Evaluation], *, title: str) -> Table:
    """Several labelled sets side by side (the held-out split and the independent set)."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("measure")
    for name, e in judged.items():
        table.add_column(f"{name} ({e.examples})", justify="right")
    evaluations = list(judged.values())

    def row(label: str, value: Any) -> None:
        table.add_row(label, *(value(e) for e in evaluations))

    row("macro-F1", lambda e: f"[bold]{e.macro_f1:.3f}[/]")
    for label in DEPARTMENTS:
        row(f"  {label} F1", lambda e, label=label: f"{e.labels[label].f1:.3f}")
    row("urgent recall", lambda e: f"{e.urgent_recall:.3f}")
    row("urgent precision", lambda e: f"{e.urgent_precision:.3f}")
    row("sent to triage", lambda e: f"{e.triage_share:.1%}")
    row("routed precision", lambda e: f"{e.routed_precision:.3f}")
    row("sentiment macro-F1", lambda e: f"{e.sentiment_macro_f1:.3f}")
    languages = sorted({lang for e in evaluations for lang in e.by_language})
    for lang in languages:
        row(
            f"  accuracy {lang}",
            lambda e, lang=lang: (
                f"{e.by_language[lang]:.3f} ({e.language_counts.get(lang, 0)})"
                if lang in e.by_language
                else "-"
            ),
        )
    platforms = sorted({p for e in evaluations for p in e.by_platform})
    for platform in platforms:
        row(
            f"  accuracy {platform}",
            lambda e, platform=platform: (
                f"{e.by_platform[platform]:.3f}" if platform in e.by_platform else "-"
            ),
        )
    return table


def cross_writer_table(results: Sequence[WriterResult]) -> Table:
    table = Table(
        title="cross-writer check: trained without the writer, judged on their lines",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for column in ("writer", "lines", "trained on", "accuracy", "urgent R / P", "sentiment F1"):
        table.add_column(column, justify="left" if column == "writer" else "right")
    for r in results:
        e = r.evaluation
        table.add_row(
            r.writer,
            str(e.examples),
            str(r.trained_on),
            f"{r.accuracy:.3f}",
            f"{e.urgent_recall:.3f} / {e.urgent_precision:.3f}",
            f"{e.sentiment_macro_f1:.3f}",
        )
    if results:
        table.add_section()
        n = len(results)
        table.add_row(
            "mean",
            "",
            "",
            f"{sum(r.accuracy for r in results) / n:.3f}",
            f"{sum(r.evaluation.urgent_recall for r in results) / n:.3f} / "
            f"{sum(r.evaluation.urgent_precision for r in results) / n:.3f}",
            f"{sum(r.evaluation.sentiment_macro_f1 for r in results) / n:.3f}",
        )
    return table


def live_table(live: LiveAccuracy, *, since: date | None) -> list[Table]:
    """Live accuracy: the share of the model's decisions nobody had to correct."""
    span = f" since {since.isoformat()}" if since else ""
    title = (
        f"live accuracy{span}: {live.accuracy:.1%} of {live.classified} decisions stood "
        f"({live.corrected} corrected)"
    )
    tables: list[Table] = []
    for heading, rows in (("department", live.by_department), ("week", live.by_week)):
        table = Table(
            title=title if not tables else None, title_justify="left", box=box.SIMPLE_HEAD
        )
        for column in (heading, "classified", "corrected", "accuracy"):
            table.add_column(column, justify="left" if column == heading else "right")
        for key, (classified, corrected) in rows.items():
            accuracy = 1 - corrected / classified if classified else 0.0
            table.add_row(key, str(classified), str(corrected), f"{accuracy:.1%}")
        tables.append(table)
    if live.moved:
        moved = Table(title="corrections (model -> person)", title_justify="left", box=box.SIMPLE)
        moved.add_column("move")
        moved.add_column("count", justify="right")
        for move, count in live.moved.items():
            moved.add_row(move, str(count))
        tables.append(moved)
    return tables
