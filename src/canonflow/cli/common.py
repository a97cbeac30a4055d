"""What every command shares: settings, the runtime, and one-line errors.

Configuration, logging and the database stack load when a command asks for them, not when
the command line is parsed: `canonflow --help` and `canonflow hash` need none of them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:  # loaded only for the commands that use them
    from sqlalchemy.orm import Session

    from canonflow.config import Settings
    from canonflow.runtime import Runtime

console = Console()
err_console = Console(stderr=True)

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


class CliError(Exception):
    """A failure to report as one line, with an exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def load_settings() -> Settings:
    from pydantic import ValidationError

    from canonflow.config import ConfigError, get_settings
    from canonflow.logs import configure_logging_on_import

    try:
        settings = get_settings()
    except ConfigError as exc:
        raise CliError(str(exc)) from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "CANONFLOW_" + "_".join(str(part) for part in first["loc"]).upper()
        raise CliError(f"invalid configuration: {where}: {first['msg']}") from exc
    configure_logging_on_import(settings)
    return settings


@contextmanager
def open_runtime() -> Iterator[Runtime]:
    from canonflow.runtime import build_runtime

    runtime = build_runtime(load_settings())
    try:
        yield runtime
    finally:
        runtime.close()


@contextmanager
def runtime_and_session() -> Iterator[tuple[Runtime, Session]]:
    """The runtime, and the command's transaction (committed when the command succeeds)."""
    from canonflow.db.engine import transaction

    with open_runtime() as runtime, transaction(runtime.sessions) as session:
        yield runtime, session


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """The command's transaction (committed when the command succeeds), on the database
    alone: no job runtime, Git or HTTP client is loaded, so a command that only reads or
    writes rows starts in a fraction of the time (`bench/cli_startup.py`). A command that
    enqueues a job, or needs the secret box, uses `runtime_and_session`."""
    from canonflow.db.engine import build_engine, build_sessionmaker, transaction

    engine = build_engine(load_settings().resolved_database_url)
    try:
        with transaction(build_sessionmaker(engine)) as session:
            yield session
    finally:
        engine.dispose()


def report_and_exit(exc: BaseException) -> None:
    """Print one readable line for any failure and exit: a known one with its message, an
    unexpected one with its kind (its traceback is logged at DEBUG), never a traceback."""
    message, code = (exc.message, exc.exit_code) if isinstance(exc, CliError) else _describe(exc)
    one_line = " ".join(str(message).split())
    err_console.print(f"[red]error:[/red] {escape(one_line)}", highlight=False, soft_wrap=True)
    sys.exit(code)


def _describe(exc: BaseException) -> tuple[str, int]:
    from sqlalchemy.exc import OperationalError

    from canonflow.config import ConfigError
    from canonflow.crypto import SecretKeyError
    from canonflow.errors import AppError
    from canonflow.failures import known_message

    if isinstance(exc, AppError):
        return exc.message, EXIT_BAD_INPUT if exc.status in (404, 409, 422) else EXIT_FAILURE
    if isinstance(exc, ConfigError | SecretKeyError):
        return str(exc), EXIT_FAILURE
    if isinstance(exc, OperationalError):
        return f"database unavailable: {exc.orig}", EXIT_FAILURE
    known = known_message(exc)  # a Git, n8n or forge error no service mapped
    return (known, EXIT_FAILURE) if known is not None else (_unexpected(exc), EXIT_FAILURE)


def _unexpected(exc: BaseException) -> str:
    import structlog

    structlog.get_logger("canonflow.cli").debug("unexpected error", exc_info=exc)
    details = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return f"unexpected error: {details} (run with CANONFLOW_LOG_LEVEL=DEBUG for details)"


@contextmanager
def progress_task(description: str) -> Iterator[Callable[[int, int | None], None]]:
    """A transient Rich progress bar; yields the callback a long flow reports to."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)
