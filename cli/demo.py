"""``socialops demo``: the sandbox plus one run of the whole pipeline, on embedded defaults.

The sandbox, the database and Prefect are imported when the demo runs, not when the CLI starts.
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.panel import Panel

from cli.app import CommandFailed, app, console, guarded, prepare
from cli.pipeline import (
    run_classify,
    run_ingest,
    run_morning,
    run_route,
    show_classify,
    show_ingest,
    show_morning,
    show_route,
)

if TYPE_CHECKING:
    from sandbox.server import SandboxServer

DEMO_CHANNELS = (
    ("mastodon-main", "main", "SOCIALOPS_MASTODON_TOKEN"),
    ("mastodon-help", "help", "SOCIALOPS_MASTODON_HELP_TOKEN"),
)
# The other platforms' sandboxes, on the same port: (channel entry, secret variables).
DEMO_PLATFORM_CHANNELS: tuple[tuple[dict[str, object], tuple[str, ...]], ...] = (
    (
        {
            "name": "bluesky-main",
            "platform": "bluesky",
            "identifier": "northwind.bsky.social",
            "token_env": "SOCIALOPS_BLUESKY_APP_PASSWORD",
            "search": ["northwind"],
        },
        ("SOCIALOPS_BLUESKY_APP_PASSWORD",),
    ),
    (
        {
            "name": "reddit-main",
            "platform": "reddit",
            "client_id": "sandbox-app",
            "client_secret_env": "SOCIALOPS_REDDIT_CLIENT_SECRET",
            "token_env": "SOCIALOPS_REDDIT_REFRESH_TOKEN",
            "search": ["northwind"],
        },
        ("SOCIALOPS_REDDIT_REFRESH_TOKEN", "SOCIALOPS_REDDIT_CLIENT_SECRET"),
    ),
    (
        {
            "name": "x-main",
            "platform": "x",
            "user_id": "1500000000000000001",
            "token_env": "SOCIALOPS_X_BEARER_TOKEN",
            "monthly_read_budget": 15000,
        },
        ("SOCIALOPS_X_BEARER_TOKEN",),
    ),
)


@app.command()
@guarded
def demo(
    fault_rate: Annotated[
        float, typer.Option(min=0, max=0.5, help="Share of sandbox requests that fail.")
    ] = 0.05,
    until_morning: Annotated[
        bool,
        typer.Option(
            "--until-morning",
            help="Then simulate the next opening of each closed department: the scheduled "
            "flows give its queue out to the people on shift, up to the cap each.",
        ),
    ] = False,
    rate_per_hour: Annotated[
        int,
        typer.Option(
            min=1,
            max=2000,
            help="Mentions per hour each sandbox channel invents (the first run reads back "
            "24 hours): fewer for a quicker demo.",
        ),
    ] = 120,
) -> None:
    """Start the sandbox and run the whole pipeline once on embedded defaults."""
    run_demo(
        console, fault_rate=fault_rate, until_morning=until_morning, rate_per_hour=rate_per_hour
    )


def _write_channels(path: Path, sandbox: SandboxServer) -> None:
    import yaml

    channels = [
        {
            "name": name,
            "platform": "mastodon",
            "base_url": sandbox.instance_url(instance),
            "token_env": token_env,
            "backfill_hours": 24,
        }
        for name, instance, token_env in DEMO_CHANNELS
    ]
    for entry, _secrets in DEMO_PLATFORM_CHANNELS:
        url = sandbox.platform_url(str(entry["platform"]))
        extra = {"auth_url": url} if entry["platform"] == "reddit" else {}
        channels.append({**entry, "base_url": url, **extra, "backfill_hours": 24})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# Written by `socialops demo`: the sandbox's channels for this run.\n"
        + yaml.safe_dump({"channels": channels}, sort_keys=False),
        encoding="utf-8",
    )


def _write_report() -> Path:
    """The current week's report, through the weekly-report flow (files and artifacts; the
    summary is not sent from the demo)."""
    from datetime import UTC, datetime

    from flows.weekly_report import weekly_report
    from socialops.config import load_config
    from socialops.report.week import IsoWeek
    from socialops.settings import get_settings

    settings = get_settings()
    zone = load_config(settings.config, channels_path=settings.channels).organisation.timezone
    week = IsoWeek.containing(datetime.now(UTC), zone).label
    return Path(weekly_report(week=week, send=False).files["html"])


def command_name() -> str:
    """How to call ``socialops`` again, as this process was called: ``.venv/bin/socialops``
    after ``make demo`` (the README's spelling), the path as typed otherwise."""
    script = Path(sys.argv[0])
    if script.name != "socialops":
        return ".venv/bin/socialops"  # python -m cli.main, a test runner...
    try:
        return str(script.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(script) if script.parent != Path() else "socialops"


def run_demo(
    console: Console, *, fault_rate: float, until_morning: bool = False, rate_per_hour: int = 120
) -> None:
    from sandbox.server import SandboxServer
    from sandbox.world import SandboxConfig
    from socialops.settings import reset_settings_cache

    started = time.perf_counter()
    home = _demo_environment()

    config = SandboxConfig(
        instances=[instance for _n, instance, _t in DEMO_CHANNELS],
        rate_per_hour=rate_per_hour,
        fault_rate=fault_rate,
        bad_item_rate=0.02,
        seed=7,
    )
    console.print("[bold]socialops demo[/]: starting the platform sandbox...")
    with SandboxServer(config) as sandbox:
        channels_file = home / "demo-channels.yaml"
        _write_channels(channels_file, sandbox)
        os.environ["SOCIALOPS_CHANNELS"] = str(channels_file)
        # Notifications go to the sandbox's webhook sink unless a real target is configured.
        os.environ.setdefault(
            "SOCIALOPS_NOTIFY_URL", f"json://127.0.0.1:{sandbox.port}/_sandbox/inbox/{{handle}}"
        )
        reset_settings_cache()
        console.print(
            f"sandbox at {sandbox.url} ({fault_rate:.0%} of requests fail on purpose); "
            "starting Prefect and running the pipeline..."
        )
        prepare()
        run, state = run_ingest(None, None)
        show_ingest(run)
        show_classify(run_classify())
        show_route(run_route())
        if until_morning:
            show_morning(run_morning())
        # --- sign-off: drafts, the demo approvers, publishing to the sandbox (cli/publish.py)
        from cli.publish import demo_signoff

        demo_signoff(console)
        # --- end sign-off
        received = sandbox.sandbox.inbox_total
    report_path = _write_report()

    console.print(
        _where_to_look(
            channels_file=channels_file,
            flow_run=f"{state.state_details.flow_run_id} ({state.type.value})",
            report_path=report_path,
            received=received,
            seconds=time.perf_counter() - started,
        )
    )
    if run.failures:
        raise CommandFailed(f"{len(run.failures)} channel(s) failed: {', '.join(run.failures)}")


def _demo_environment() -> Path:
    """``SOCIALOPS_HOME`` (made absolute), where Prefect keeps the runs, and a made-up token
    for every demo channel that has none; returns the home."""
    home = Path(os.environ.get("SOCIALOPS_HOME", ".socialops")).resolve()
    os.environ["SOCIALOPS_HOME"] = str(home)
    if not os.environ.get("PREFECT_API_URL"):
        # Set but empty is unset: Prefect would otherwise try to send its events to "".
        os.environ.pop("PREFECT_API_URL", None)
        # Prefect's local (temporary) server keeps its runs here; `make ui` shows them.
        os.environ.setdefault("PREFECT_HOME", str(home / "prefect"))
    for _name, _instance, token_env in DEMO_CHANNELS:
        os.environ.setdefault(token_env, "sandbox-" + secrets.token_urlsafe(12))
    for _entry, names in DEMO_PLATFORM_CHANNELS:
        for name in names:
            os.environ.setdefault(name, "sandbox-" + secrets.token_urlsafe(12))
    return home


def _where_to_look(
    *, channels_file: Path, flow_run: str, report_path: Path, received: int, seconds: float
) -> Panel:
    from sqlalchemy.engine import make_url

    from socialops.settings import get_settings

    db = make_url(get_settings().resolved_database_url()).render_as_string(hide_password=True)
    api = os.environ.get("PREFECT_API_URL")
    cmd = command_name()
    prefect_where = (
        f"{api.removesuffix('/api')}/runs"
        if api
        else f"PREFECT_HOME={os.environ['PREFECT_HOME']}: run `make ui`, then open "
        "http://127.0.0.1:4200/runs"
    )
    return Panel.fit(
        f"[bold]data[/]      {db}\n"
        f"[bold]channels[/]  {channels_file}\n"
        f"[bold]runs[/]      {prefect_where}\n"
        f"[bold]flow run[/]  {flow_run}\n"
        f"[bold]report[/]    {report_path} (this week so far; socialops report --week W)\n"
        f"[bold]notified[/]  {received} messages reached the sandbox's webhook sink "
        "(set SOCIALOPS_NOTIFY_URL to an Apprise URL for Slack, email, ntfy...)\n"
        f"[bold]next[/]      {cmd} inbox \\[--department legal] | {cmd} quarantine"
        f" | {cmd} run\n"
        f"[bold]took[/]      {seconds:.1f} s",
        title="where to look",
    )
