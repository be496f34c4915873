"""What every command shares: the Typer app, the consoles, one-line errors, settings and config.

A command module registers on ``app`` (``@app.command()`` then ``@guarded``); ``cli.main``
imports the command modules. This module imports no command module.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

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
        except BrokenPipeError:
            # `socialops inbox --json | head`: the reader has gone, as for any Unix tool. Point
            # stdout at /dev/null so the interpreter's last flush cannot complain, and end as a
            # process killed by SIGPIPE would (128 + 13), silently.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(141) from None
        except Exception as exc:
            if os.environ.get("SOCIALOPS_DEBUG"):
                raise
            raise _fail(
                f"{type(exc).__name__}: {exc} (set SOCIALOPS_DEBUG=1 for the traceback)", 1
            ) from None

    return wrapper  # type: ignore[return-value]


class _RunFailuresElsewhere:
    """A console filter: a flow or task run's errors (tracebacks, "Finished in state Failed")
    stay in the run's logs; the command prints one line per failure itself."""

    def filter(self, record: Any) -> bool:
        name: str = record.name
        return not (
            record.levelno >= 40 and name.startswith(("prefect.flow_runs", "prefect.task_runs"))
        )


def quiet_prefect_console() -> None:
    """Keep Prefect's console to one line per failure, unless ``SOCIALOPS_DEBUG`` is set.

    Call after importing Prefect (which sets up its logging). Every record still reaches the
    Prefect API, so the run's logs in the UI keep the tracebacks.
    """
    if os.environ.get("SOCIALOPS_DEBUG"):
        return
    import logging

    from prefect.logging.handlers import PrefectConsoleHandler

    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrefectConsoleHandler) and not any(
            isinstance(f, _RunFailuresElsewhere) for f in handler.filters
        ):
            handler.addFilter(_RunFailuresElsewhere())


def load_org() -> tuple[Any, Any]:
    """Settings and the validated organisation config (no database)."""
    from socialops.config import load_config
    from socialops.settings import get_settings

    settings = get_settings()
    return settings, load_config(settings.config, channels_path=settings.channels)


def prepare() -> tuple[Any, Any]:
    """Settings, validated organisation config, and a migrated database."""
    from socialops.db import migrate

    settings, org = load_org()
    migrate(settings.resolved_database_url())
    return settings, org
