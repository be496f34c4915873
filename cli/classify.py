"""``socialops classify`` (a file, or ``classify correct``), ``classify-eval``,
``classify-train``: the classifier outside the flows.

The model and its data load when a command runs (``cli.classify_io``, ``cli.parts``), not when
the CLI starts.
"""

from __future__ import annotations

import getpass
import json
import sys
from contextlib import ExitStack
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from cli.app import CommandFailed, app, console, err, guarded, load_org, prepare

if TYPE_CHECKING:
    from socialops.classification.classifier import Classifier
    from socialops.classification.rules import ClassificationConfig


class _FileByDefault(TyperGroup):
    """``socialops classify INPUT.jsonl`` still classifies a file: anything that is not a
    subcommand's name is the ``file`` subcommand's argument."""

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["file", *args]
        return super().resolve_command(ctx, args)


classify_app = typer.Typer(
    cls=_FileByDefault,
    no_args_is_help=True,
    help="Classify a file of mentions (`classify INPUT.jsonl`), or correct a decision.",
)
app.add_typer(classify_app, name="classify")


def html_to_text(text: str) -> str:
    """Platform markup to text: the very code ingest uses (``connectors.html_text``)."""
    from connectors.html_text import html_to_text as convert

    return convert(text)


@classify_app.command("file")
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

    if str(input_path) != "-" and not input_path.is_file():
        raise CommandFailed(
            f"no file {str(input_path)!r}: `classify` reads JSON lines ({{id, text, ...}}) from a "
            'file or `-` (stdin); to try one text, run `socialops rules test "..."`'
        )
    if output is not None:
        if str(input_path) != "-" and output.resolve() == input_path.resolve():
            raise CommandFailed(
                f"--output {output} is the input file: writing it would erase the mentions "
                "before they are read; choose another file"
            )
        if not output.parent.is_dir():
            raise CommandFailed(f"--output {output}: no folder {str(output.parent)!r}")
    _settings, org = load_org()
    classifier = default_classifier(org.classification, prepare=html_to_text)
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


@classify_app.command("correct")
@guarded
def classify_correct(
    mention_id: Annotated[int, typer.Argument(help="The mention's id (see `socialops inbox`).")],
    department: Annotated[str, typer.Option("--department", "-d", help="The right department.")],
    urgent: Annotated[
        bool | None,
        typer.Option("--urgent/--not-urgent", help="Correct the urgency too (default: keep)."),
    ] = None,
    by: Annotated[
        str | None, typer.Option(help="Who corrects (audited; default: your login).")
    ] = None,
) -> None:
    """Correct a mention's department (and urgency): stored, audited, re-routed, learnt from."""
    from socialops import routing
    from socialops.classification import corrections
    from socialops.db import session_scope
    from socialops.rota.schedule import engine_for

    settings, org = prepare()
    now = datetime.now(UTC)
    actor = f"cli:{by or getpass.getuser()}"
    try:
        with session_scope(settings.resolved_database_url()) as session:
            done = corrections.record_correction(
                session=session,
                mention_id=mention_id,
                department=department,
                urgent=urgent,
                by=actor,
                source="correct",
                now=now,
            )
            # Routing follows the new current classification like any reclassification:
            # an item routed automatically moves; one assigned by hand keeps its owner.
            routing.route_classified(session=session, org=org, engine=engine_for(org), now=now)
            owner = routing.assignments_for(session=session, mention_ids=[mention_id])
    except (corrections.CorrectionError, routing.RoutingError) as exc:
        raise CommandFailed(str(exc)) from None
    view = owner.get(mention_id)
    where = ""
    if view is not None:
        where = (
            f"; now {view.assignee}'s ({view.department})"
            if view.assignee
            else f"; now in {view.department}'s queue"
        )
        if view.status == "withdrawn":
            where = f"; its item is withdrawn ({done.department} needs no answer)"
    console.print(
        f"mention {mention_id}: {done.from_department or 'unclassified'} -> {done.department}"
        f"{' (urgent)' if done.urgent else ''}, correction {done.correction_id}{where}",
        highlight=False,
    )


@app.command("classify-eval")
@guarded
def classify_eval(
    data: Annotated[
        Path | None,
        typer.Argument(
            metavar="[DATA]",
            help="Labelled lines (a file or folder). Default: the held-out split and the "
            "independent set, side by side.",
        ),
    ] = None,
    split: Annotated[
        str | None, typer.Option(help="Only lines of this split (e.g. heldout).")
    ] = None,
    parts: Annotated[
        bool, typer.Option("--parts", help="Also judge the rules alone and the model alone.")
    ] = False,
    cross_writer: Annotated[
        bool,
        typer.Option(
            "--cross-writer",
            help="Train without each writer's lines and judge on them (a minute or two).",
        ),
    ] = False,
    live: Annotated[
        bool,
        typer.Option(
            "--corrections", help="Live accuracy: how often people corrected the classifier."
        ),
    ] = False,
    since: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="With --corrections: from this date."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Per-label precision, recall and F1, macro-F1, confusion, urgent figures, triage share,
    sentiment, and accuracy by language and platform."""
    from socialops.classification.service import default_classifier

    if since is not None and not live:
        raise CommandFailed("--since goes with --corrections (live accuracy from that date)")
    if live:
        from cli.classify_io import live_table

        _live_accuracy(since.date() if since else None, as_json, live_table)
        return
    _settings, org = load_org()
    if cross_writer:
        _cross_writer(data, org.classification, as_json=as_json)
        return
    _check_set(data, split=split, parts=parts)
    classifier = default_classifier(org.classification, prepare=html_to_text)
    if data is None:
        _side_by_side(classifier, as_json=as_json)
    else:
        _one_set(classifier, data, split=split, parts=parts, as_json=as_json)


def _check_set(data: Path | None, *, split: str | None, parts: bool) -> None:
    """The set to judge exists, and --split/--parts are given one (one-line errors)."""
    if data is not None and not data.exists():
        raise CommandFailed(f"no file or folder {str(data)!r} of labelled lines")
    if data is None and (split or parts):
        raise CommandFailed(
            "--split and --parts judge one set: give it, e.g. `socialops classify-eval "
            "data/labelled --split heldout --parts` (without a set, the held-out split and the "
            "independent set are shown side by side)"
        )


def _cross_writer(data: Path | None, settings: ClassificationConfig, *, as_json: bool) -> None:
    """Train without each writer's lines and judge on them."""
    from cli.classify_io import cross_writer_table, evaluation_json
    from socialops.classification.crosscheck import cross_writer as check
    from socialops.classification.data import LABELLED_DIR, load_labelled

    results = check(load_labelled(data or LABELLED_DIR), settings, prepare=html_to_text)
    if as_json:
        rows = {r.writer: evaluation_json(r.evaluation) for r in results}
        sys.stdout.write(json.dumps(rows) + "\n")
    else:
        console.print(cross_writer_table(results))


def _side_by_side(classifier: Classifier, *, as_json: bool) -> None:
    """The held-out split and the independent set, judged side by side."""
    from cli.classify_io import comparison_table, evaluation_json
    from socialops.classification.data import EVAL_DIR, LABELLED_DIR, load_labelled
    from socialops.classification.evaluate import evaluate

    sets = {
        "held-out split": [e for e in load_labelled(LABELLED_DIR) if e.split == "heldout"],
        "independent set": load_labelled(EVAL_DIR),
    }
    judged = {
        name: evaluate(examples, classifier.classify([e.text for e in examples]))
        for name, examples in sets.items()
    }
    if as_json:
        rows = {name: evaluation_json(e) for name, e in judged.items()}
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    console.print(comparison_table(judged, title=f"classifier {classifier.version}"))


def _one_set(
    classifier: Classifier, data: Path, *, split: str | None, parts: bool, as_json: bool
) -> None:
    """One file or folder of labelled lines (optionally one split): every table, the triage
    trade-off, and with ``parts`` the rules alone and the model alone."""
    from cli.classify_io import evaluation_json, evaluation_tables, tradeoff_table
    from socialops.classification.data import load_labelled
    from socialops.classification.evaluate import evaluate

    examples = [e for e in load_labelled(data) if split is None or e.split == split]
    if not examples:
        raise CommandFailed(
            f"{data}: no labelled lines" + (f" in split {split!r}" if split else "")
        )
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


def _live_accuracy(since: date | None, as_json: bool, live_table: Any) -> None:
    from dataclasses import asdict

    from socialops.classification.corrections import live_accuracy
    from socialops.db import session_scope

    settings, _org = prepare()
    with session_scope(settings.resolved_database_url()) as session:
        live = live_accuracy(session=session, since=since)
    if as_json:
        sys.stdout.write(json.dumps({**asdict(live), "accuracy": live.accuracy}) + "\n")
        return
    if not live.classified:
        span = f" since {since.isoformat()}" if since else ""
        console.print(f"live accuracy{span}: no classifier decisions yet", highlight=False)
        return
    for table in live_table(live, since=since):
        console.print(table)


def _stored_corrections(settings: Any) -> list[Any]:
    """Corrections in the database, if there is one (``make install`` trains without)."""
    from sqlalchemy import inspect

    from socialops.classification.corrections import training_examples
    from socialops.db import get_engine, session_scope

    url = settings.resolved_database_url()
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return []
    if not inspect(get_engine(url)).has_table("classification_corrections"):
        return []
    with session_scope(url) as session:
        return training_examples(session=session)


@app.command("classify-train")
@guarded
def classify_train(
    data: Annotated[
        Path | None,
        typer.Option(help="A labelled file or folder (default: the shipped data/labelled)."),
    ] = None,
    with_corrections: Annotated[
        bool,
        typer.Option(
            "--corrections/--no-corrections",
            help="Learn from the corrections people made (stored in the database).",
        ),
    ] = True,
) -> None:
    """Train the default classifier on the `train` split and people's corrections (the
    held-out split and the independent evaluation set are never used)."""
    from socialops.classification import model, training
    from socialops.classification.corrections import with_corrections as merged
    from socialops.classification.data import EVAL_DIR, LABELLED_DIR, fingerprint, load_labelled
    from socialops.classification.rules import RuleBook

    settings, org = load_org()
    path = data or LABELLED_DIR
    if path.resolve().is_relative_to(EVAL_DIR.resolve()):
        raise CommandFailed(f"{path}: the independent evaluation set is never trained on")
    train = [e for e in load_labelled(path) if e.split == "train"]
    if not train:
        raise CommandFailed(f"{path}: no labelled lines in the train split")
    corrections = _stored_corrections(settings) if with_corrections else []
    examples, weights = merged(train, corrections)
    data_fingerprint = fingerprint(path)
    if corrections:
        newest = max(at for _e, at in corrections)
        data_fingerprint += f"+{len(corrections)} corrections to {newest.isoformat()}"
    rules = RuleBook(org.classification)
    trained = training.train(
        examples,
        data_fingerprint=data_fingerprint,
        urgent_rule=lambda text: rules.urgent(text) is not None,
        prepare=html_to_text,
        weights=weights if corrections else None,
    )
    model.save(trained)
    model.load.cache_clear()
    console.print(
        f"trained {trained.version} on {len(train)} examples and {len(corrections)} "
        f"corrections in {trained.meta['train_seconds']} s; saved to {model.DEFAULT_MODEL}"
    )
    console.print("next: socialops classify-eval")
