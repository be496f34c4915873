"""The ``socialops`` command."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="socialops: your brand's social media, around the clock, on Prefect.",
)
console = Console()
err = Console(stderr=True)

# Quiet by default: Prefect's console shows warnings and errors, while every INFO log still
# reaches the Prefect API (and so the UI). Telemetry is off. Any of these can be overridden.
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
    "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
    # Our own loggers (retries, rate-limit waits) reach the run's logs in the UI too.
    "PREFECT_LOGGING_EXTRA_LOGGERS": "connectors,socialops",
}


class CommandFailed(Exception):
    """A command ran but did not succeed; the message is the one line to print."""


def _fail(message: str, code: int) -> typer.Exit:
    from socialops.secrets import redact

    err.print(f"[bold red]error:[/] {redact(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def guarded(fn: F) -> F:
    """Every command: a one-line reason and a non-zero exit on error, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from sqlalchemy.exc import SQLAlchemyError

        from connectors.errors import ConnectorError
        from socialops.config import ConfigError

        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except ConfigError as exc:
            raise _fail(str(exc), 2) from None
        except CommandFailed as exc:
            raise _fail(str(exc), 1) from None
        except ConnectorError as exc:
            raise _fail(f"{type(exc).__name__}: {exc}", 1) from None
        except SQLAlchemyError as exc:
            first = str(exc).splitlines()[0]
            raise _fail(f"database: {first}", 1) from None
        except KeyboardInterrupt:
            raise _fail("interrupted", 130) from None
        except Exception as exc:
            if os.environ.get("SOCIALOPS_DEBUG"):
                raise
            raise _fail(
                f"{type(exc).__name__}: {exc} (set SOCIALOPS_DEBUG=1 for the traceback)", 1
            ) from None

    return wrapper  # type: ignore[return-value]


def _load_org() -> tuple[Any, Any]:
    from socialops.config import load_config
    from socialops.settings import get_settings

    settings = get_settings()
    return settings, load_config(settings.config, channels_path=settings.channels)


def _prepare() -> tuple[Any, Any]:
    """Settings, validated organisation config, and a migrated database."""
    from socialops.db import migrate

    settings, org = _load_org()
    migrate(settings.resolved_database_url())
    return settings, org


def _check_channels(org: Any, names: list[str] | None) -> None:
    """Fail fast, before any flow starts: unknown channel names, tokens not set."""
    channels = [org.channel(n) for n in names] if names else [c for c in org.channels if c.enabled]
    if not channels:
        raise CommandFailed("no enabled channels in the configuration")
    for channel in channels:
        channel.token()


def _run_ingest(channels: list[str] | None, backfill_hours: float | None) -> Any:
    from flows import run_sync
    from flows.ingest_mentions import ingest_mentions
    from socialops.ingest import IngestRun

    state = run_sync(
        ingest_mentions(channels=channels, backfill_hours=backfill_hours, return_state=True)
    )
    outcome = state.result(raise_on_failure=False)
    if isinstance(outcome, IngestRun):
        return outcome, state
    raise CommandFailed(f"the ingest flow ended {state.type.value}: {state.message}")


def _show_ingest(run: Any) -> None:
    from cli.render import failure_lines, ingest_table

    console.print(ingest_table(run.results, run.failures))
    for line in failure_lines(run.failures):
        console.print(line, soft_wrap=True)


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
    _settings, org = _prepare()
    _check_channels(org, channel)
    run, _state = _run_ingest(channel or None, backfill_hours)
    _show_ingest(run)
    if run.failures:
        raise CommandFailed(f"{len(run.failures)} channel(s) failed: {', '.join(run.failures)}")


@app.command()
@guarded
def run() -> None:
    """One full cycle of every stage: the same flows the deployments schedule."""
    _settings, org = _prepare()
    _check_channels(org, None)
    ingest_run, _state = _run_ingest(None, None)
    _show_ingest(ingest_run)
    # Classify and route even when a channel failed: what was stored still needs an owner.
    _show_classify(_run_classify())
    _show_route(_run_route())
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

    settings, org = _prepare()
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

    settings, _org = _prepare()
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


def _run_classify(since: Any = None, until: Any = None) -> list[Any]:
    from flows.classify_mentions import classify_mentions

    state = classify_mentions(since=since, until=until, return_state=True)
    outcome = state.result(raise_on_failure=False)
    if isinstance(outcome, BaseException):
        raise CommandFailed(f"the classify flow ended {state.type.value}: {state.message}")
    return list(outcome)


def _run_route() -> Any:
    """Route everything classified and not yet owned, then one escalation pass."""
    from flows.escalate_overdue import escalate_overdue
    from flows.route_mentions import route_mentions

    routed = route_mentions(limit=1_000_000, return_state=True)
    cycle = routed.result(raise_on_failure=False)
    if isinstance(cycle, BaseException):
        raise CommandFailed(f"the route flow ended {routed.type.value}: {routed.message}")
    escalated = escalate_overdue(return_state=True)
    if isinstance(escalated.result(raise_on_failure=False), BaseException):
        raise CommandFailed(
            f"the escalation flow ended {escalated.type.value}: {escalated.message}"
        )
    return cycle


def _show_route(cycle: Any) -> None:
    from cli.render import route_table

    console.print(route_table(cycle))


def _show_classify(batches: list[Any]) -> None:
    from cli.render import classify_table

    console.print(classify_table(batches))


@app.command("classify")
@guarded
def classify_file(
    input_path: Annotated[
        Path, typer.Argument(metavar="INPUT.jsonl", help="JSON lines, `-` for stdin.")
    ],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Default: stdout.")] = None,
) -> None:
    """Classify JSON lines ({id, text, ...}); bad lines are reported by number, others still run."""
    from cli.classify import classify_stream
    from socialops.classification.service import default_classifier

    _settings, org = _load_org()
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
    from cli.classify import evaluation_json, evaluation_tables, tradeoff_table
    from socialops.classification.data import load_labelled
    from socialops.classification.evaluate import evaluate
    from socialops.classification.service import default_classifier

    _settings, org = _load_org()
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

    _settings, org = _load_org()
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

    _prepare()
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


# Rotas and manual assignment live in cli/rota.py (it uses this module's helpers lazily).
from cli.rota import assign, rota_app  # noqa: E402

app.add_typer(rota_app, name="rota")
app.command()(assign)


def main() -> None:
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    app()


if __name__ == "__main__":
    main()
