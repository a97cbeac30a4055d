"""`canonflow worker`: a procrastinate worker process (PostgreSQL)."""

from __future__ import annotations

from typing import Annotated

import typer

from canonflow.cli.common import CliError, console, load_settings


def worker(
    queues: Annotated[
        str | None,
        typer.Option(
            "--queues", "-q", help="Comma-separated queues to take jobs from (default: all)."
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency", "-c", min=1, help="Jobs run at once (CANONFLOW_JOB_WORKERS)."
        ),
    ] = None,
) -> None:
    """Run jobs from PostgreSQL until stopped (SIGINT/SIGTERM stop it gracefully).

    Run as many as needed on as many machines; each beats its running jobs, and takes over
    those of a worker that stopped beating (killed, or its machine lost)."""
    from canonflow.jobs.distributed import (
        ProcrastinateEngine,
        build_app,
        libpq_dsn,
        worker_options,
    )
    from canonflow.jobs.executor import Heartbeat
    from canonflow.runtime import build_runtime

    settings = load_settings()
    if not settings.uses_procrastinate:
        raise CliError(
            "`canonflow worker` needs PostgreSQL (CANONFLOW_DATABASE_URL); on SQLite, "
            "`canonflow serve` runs the jobs itself"
        )
    runtime = build_runtime(settings, worker=False)
    try:
        runtime.runner.recover()
        executor = runtime.runner.executor
        n = concurrency or settings.job_workers
        app = build_app(
            executor, ProcrastinateEngine(), libpq_dsn(settings.resolved_database_url), n + 2
        )
        chosen = [q.strip() for q in queues.split(",") if q.strip()] if queues else None
        console.print(
            f"canonflow worker {executor.worker_id}: queues {chosen or 'all'}, {n} at once"
        )
        heartbeat = Heartbeat(executor).start()
        try:
            app.run_worker(**worker_options(executor, n, chosen))
        finally:
            heartbeat.stop()
    finally:
        runtime.close()
