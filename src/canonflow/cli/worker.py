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
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port",
            min=1,
            max=65535,
            help="Serve /metrics on this port of CANONFLOW_HOST (CANONFLOW_WORKER_METRICS_PORT).",
        ),
    ] = None,
) -> None:
    """Run jobs from PostgreSQL until stopped (SIGINT/SIGTERM stop it gracefully).

    Run as many as needed on as many machines; each beats its running jobs, and takes over
    those of a worker that stopped beating (killed, or its machine lost). Every worker also
    defers the scheduler's tick (one per CANONFLOW_SCHEDULER_TICK_S across all of them) and
    runs it from the `periodic` queue, so workers alone keep environments on schedule."""
    from canonflow.jobs.distributed import (
        PERIODIC_QUEUE,
        ProcrastinateEngine,
        build_app,
        libpq_dsn,
        worker_options,
    )
    from canonflow.jobs.executor import Heartbeat
    from canonflow.metrics.server import MetricsServer
    from canonflow.runtime import build_runtime

    settings = load_settings()
    if not settings.uses_procrastinate:
        raise CliError(
            "`canonflow worker` needs PostgreSQL (CANONFLOW_DATABASE_URL); on SQLite, "
            "`canonflow serve` runs the jobs itself"
        )
    runtime = build_runtime(settings, worker=False, scheduler=True)
    metrics: MetricsServer | None = None
    try:
        port = metrics_port or settings.worker_metrics_port
        if port is not None:
            try:
                metrics = MetricsServer(settings, runtime.sessions, settings.host, port).start()
            except OSError as exc:
                raise CliError(
                    f"cannot serve metrics on {settings.host}:{port}: {exc.strerror}"
                ) from exc
        runtime.runner.recover()
        executor = runtime.runner.executor
        n = concurrency or settings.job_workers
        app = build_app(
            executor,
            ProcrastinateEngine(),
            libpq_dsn(settings.resolved_database_url),
            n + 2,
            runtime.periodic,
        )
        chosen = [q.strip() for q in queues.split(",") if q.strip()] if queues else None
        console.print(
            f"canonflow worker {executor.worker_id}: queues {chosen or 'all'}, {n} at once"
            + (f", metrics on {settings.host}:{metrics.port}/metrics" if metrics else "")
        )
        if chosen is not None and runtime.periodic and PERIODIC_QUEUE not in chosen:
            console.print(
                f"this worker does not run the scheduler's tick (queue '{PERIODIC_QUEUE}' "
                "not listed): keep at least one worker on it"
            )
        heartbeat = Heartbeat(executor).start()
        try:
            app.run_worker(**worker_options(executor, n, chosen))
        finally:
            heartbeat.stop()
    finally:
        if metrics is not None:
            metrics.stop()
        runtime.close()
