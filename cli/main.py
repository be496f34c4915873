"""The ``socialops`` command: its entry point, and the modules that bring its commands.

Each command module registers its commands on ``cli.app.app`` when imported; they are imported
here in the order ``socialops --help`` lists them. Shared plumbing is in ``cli.app`` (errors,
settings) and ``cli.pipeline`` (running the flows); no module imports this one.
"""

from __future__ import annotations

import os

from cli.app import app

# isort: off
from cli import (
    ingest,
    run,
    inbox,
    conversations,
    check_config,
    sandbox,
    classify,
    serve,
    demo,
    rota,
    rules,
    report,
    drafts,
    approvals,
    posts,
    publish,
    backfill,
    ops,
)
# isort: on

__all__ = ["COMMAND_MODULES", "app", "main"]

COMMAND_MODULES = (
    ingest,
    run,
    inbox,
    conversations,
    check_config,
    sandbox,
    classify,
    serve,
    demo,
    rota,
    rules,
    report,
    drafts,
    approvals,
    posts,
    publish,
    backfill,
    ops,
)

# Quiet by default: Prefect's console shows warnings and errors, while every INFO log still
# reaches the Prefect API (and so the UI). Telemetry is off. Any of these can be overridden.
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
    "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
    # Our own loggers (retries, rate-limit waits) reach the run's logs in the UI too.
    "PREFECT_LOGGING_EXTRA_LOGGERS": "connectors,socialops",
    # Prefect's local server gets 20 s to start; its first start (database migrations) on a busy
    # 2-core machine was measured at more, and the demo then died with a timeout.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}


def main() -> None:
    """The ``socialops`` entry point (``[project.scripts]``)."""
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    app()


if __name__ == "__main__":
    main()
