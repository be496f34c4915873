"""The ``socialops`` command."""

from __future__ import annotations

import json
import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer

from cli.app import CommandFailed, app, console, err, guarded, load_org, prepare
from cli.pipeline import (
    check_channels,
    run_classify,
    run_ingest,
    run_route,
    show_classify,
    show_ingest,
    show_route,
)

# Quiet by default: Prefect's console shows warnings and errors, while every INFO log still
# reaches the Prefect API (and so the UI). Telemetry is off. Any of these can be overridden.
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
    "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
    # Our own loggers (retries, rate-limit waits) reach the run's logs in the UI too.
    "PREFECT_LOGGING_EXTRA_LOGGERS": "connectors,socialops",
}


@app.command()
@guarded
def ingest(
    channel: Annotated[
        list[str] | None, typer.Option("--channel", "-c", help="Only this channel (repeatable).")
    ] = None,
    backfill_hours: Annotated[
        float | None,
        typer.Option(help="Walk back this many hours again (an ad-hoc backfill)."),
    ] = None,
) -> None:
    """Fetch new mentions from the channels, validate them and store them once."""
    _settings, org = prepare()
    check_channels(org, channel)
    run, _state = run_ingest(channel or None, backfill_hours)
    show_ingest(run)
    if run.failures:
        raise CommandFailed(f"{len(run.failures)} channel(s) failed: {', '.join(run.failures)}")


@app.command()
@guarded
def run() -> None:
    """One full cycle of every stage: the same flows the deployments schedule."""
    _settings, org = prepare()
    check_channels(org, None)
    ingest_run, _state = run_ingest(None, None)
    show_ingest(ingest_run)
    # Classify and route even when a channel failed: what was stored still needs an owner.
    show_classify(run_classify())
    show_route(run_route())
    if ingest_run.failures:
        raise CommandFailed(
            f"{len(ingest_run.failures)} channel(s) failed: {', '.join(ingest_run.failures)}"
        )


@app.command()
@guarded
def inbox(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    department: Annotated[str | None, typer.Option(help="Only this department.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 20,
    channel: Annotated[str | None, typer.Option(help="Only this channel.")] = None,
) -> None:
    """The newest mentions first, with who owns them."""
    from cli.inbox import inbox_rows, inbox_table

    settings, org = prepare()
    if department is not None and department not in (*org.departments, "none"):
        known = ", ".join(org.departments)
        raise CommandFailed(f"unknown department {department!r} (configured: {known})")
    rows = inbox_rows(
        settings.resolved_database_url(), limit=limit, department=department, channel=channel
    )
    if as_json:
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    console.print(inbox_table(rows))


@app.command()
@guarded
def quarantine(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 20,
) -> None:
    """Items set aside by parsing or the quality suite, newest first, with the reason."""
    from cli.inbox import quarantine_rows, quarantine_table

    settings, _org = prepare()
    rows = quarantine_rows(settings.resolved_database_url(), limit=limit)
    if as_json:
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    console.print(quarantine_table(rows))


@app.command("check-config")
@guarded
def check_config() -> None:
    """Validate the organisation file (and channels file) and list the channels."""
    from socialops.config import load_config
    from socialops.settings import get_settings

    settings = get_settings()
    org = load_config(settings.config, channels_path=settings.channels)
    console.print(f"[green]ok[/] {settings.config} ({org.organisation.name})")
    for ch in org.channels:
        token = "set" if os.environ.get(ch.token_env) else "[yellow]NOT SET[/]"
        console.print(
            f"  {ch.name}: {ch.platform} {ch.base_url} token {ch.token_env} {token}",
            highlight=False,
        )


@app.command()
@guarded
def sandbox(
    port: Annotated[int, typer.Option(help="Loopback port to listen on.")] = 8787,
    host: Annotated[str, typer.Option(help="Interface (keep it on loopback).")] = "127.0.0.1",
    instances: Annotated[str, typer.Option(help="Comma-separated instance names.")] = "main,help",
    rate_per_hour: Annotated[float, typer.Option(help="New mentions per instance per hour.")] = 60,
    fault_rate: Annotated[
        float, typer.Option(min=0, max=1, help="Share of API requests that fail.")
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Same seed, same mentions.")] = 7,
) -> None:
    """Run the built-in platform sandbox (a Mastodon API) until interrupted."""
    from connectors.sandbox.server import serve
    from connectors.sandbox.world import SandboxConfig

    names = [name.strip() for name in instances.split(",") if name.strip()]
    config = SandboxConfig(
        instances=names, rate_per_hour=rate_per_hour, fault_rate=fault_rate, seed=seed
    )
    console.print(
        f"sandbox: Mastodon API for {', '.join(names)} at http://{host}:{port}/i/<instance> "
        "(any bearer token; Ctrl-C stops)"
    )
    serve(config, host=host, port=port)


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


@app.command()
@guarded
def serve(
    ingest_every: Annotated[int, typer.Option(min=1, help="Minutes between ingests.")] = 5,
) -> None:
    """Serve the scheduled deployments (ingest every few minutes) until stopped."""
    from datetime import timedelta

    from deployments.serve import main as serve_deployments

    prepare()
    serve_deployments(timedelta(minutes=ingest_every))


@app.command()
@guarded
def demo(
    fault_rate: Annotated[
        float, typer.Option(min=0, max=0.5, help="Share of sandbox requests that fail.")
    ] = 0.05,
) -> None:
    """Start the sandbox and run the whole pipeline once on embedded defaults."""
    from cli.demo import run_demo

    run_demo(console, fault_rate=fault_rate)


from cli.rota import assign, rota_app  # noqa: E402

app.add_typer(rota_app, name="rota")
app.command()(assign)


def main() -> None:
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    app()


if __name__ == "__main__":
    main()
