"""``socialops classify``, ``classify-eval``, ``classify-train``: the classifier outside the flows.

The model and its data load when a command runs (``cli.classify_io``, ``cli.parts``), not when
the CLI starts.
"""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer

from cli.app import CommandFailed, app, console, err, guarded, load_org


@app.command("classify")
@guarded
def classify_file(
    input_path: Annotated[
        Path, typer.Argument(metavar="INPUT.jsonl", help="JSON lines, `-` for stdin.")
    ],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Default: stdout.")] = None,
) -> None:
    """Classify JSON lines ({id, text, ...}); bad lines are reported by number, others still run."""
    from cli.classify_io import classify_stream
    from socialops.classification.service import default_classifier

    _settings, org = load_org()
    classifier = default_classifier(org.classification)
    with ExitStack() as files:
        source = (
            sys.stdin
            if str(input_path) == "-"
            else files.enter_context(input_path.open(encoding="utf-8"))
        )
        sink = files.enter_context(output.open("w", encoding="utf-8")) if output else sys.stdout
        good, bad = classify_stream(classifier, source, sink, err)
    if bad:
        raise CommandFailed(f"{bad} of {good + bad} lines were not classified (see above)")


@app.command("classify-eval")
@guarded
def classify_eval(
    data: Annotated[Path, typer.Argument(metavar="DATA.jsonl", help="Labelled lines.")],
    split: Annotated[
        str | None, typer.Option(help="Only lines of this split (e.g. heldout).")
    ] = None,
    parts: Annotated[
        bool, typer.Option("--parts", help="Also judge the rules alone and the model alone.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Per-label precision, recall and F1, macro-F1, confusion, urgent figures, triage share."""
    from cli.classify_io import evaluation_json, evaluation_tables, tradeoff_table
    from socialops.classification.data import load_labelled
    from socialops.classification.evaluate import evaluate
    from socialops.classification.service import default_classifier

    _settings, org = load_org()
    examples = [e for e in load_labelled(data) if split is None or e.split == split]
    if not examples:
        raise CommandFailed(
            f"{data}: no labelled lines" + (f" in split {split!r}" if split else "")
        )
    classifier = default_classifier(org.classification)
    evaluation = evaluate(examples, classifier.classify([e.text for e in examples]))
    if as_json:
        sys.stdout.write(json.dumps(evaluation_json(evaluation)) + "\n")
        return
    title = f"{data.name}: {len(examples)} mentions, classifier {classifier.version}"
    for table in evaluation_tables(evaluation, title=title):
        console.print(table)
    console.print(tradeoff_table(classifier, examples, (0.0, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6)))
    if parts:
        from cli.parts import model_only, rules_only

        console.print(rules_only(classifier, examples))
        console.print(model_only(classifier, examples))


@app.command("classify-train")
@guarded
def classify_train(
    data: Annotated[
        Path | None,
        typer.Option(help="A labelled file or folder (default: the shipped data/labelled)."),
    ] = None,
) -> None:
    """Train the default classifier on the `train` split (the held-out split is never used)."""
    from socialops.classification import model
    from socialops.classification.data import LABELLED_DIR, fingerprint, load_labelled
    from socialops.classification.rules import RuleBook

    _settings, org = load_org()
    path = data or LABELLED_DIR
    train = [e for e in load_labelled(path) if e.split == "train"]
    if not train:
        raise CommandFailed(f"{path}: no labelled lines in the train split")
    rules = RuleBook(org.classification)
    trained = model.train(
        train,
        data_fingerprint=fingerprint(path),
        urgent_rule=lambda text: rules.urgent(text) is not None,
    )
    model.save(trained)
    model.load.cache_clear()
    console.print(
        f"trained {trained.version} on {len(train)} examples in "
        f"{trained.meta['train_seconds']} s; saved to {model.DEFAULT_MODEL}"
    )
    console.print(f"next: socialops classify-eval {path} --split heldout --parts")
