"""One bootstrap: wires settings, engine, sessions, secrets and the job runner.

Used by the app's lifespan, the CLI and the tests, so every entrypoint runs the same wiring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from canonflow import egress
from canonflow.config import Settings
from canonflow.crypto import SecretBox, build_secret_box
from canonflow.db.engine import build_engine, build_sessionmaker
from canonflow.egress import EgressPolicy
from canonflow.jobs.executor import JobExecutor
from canonflow.jobs.registry import JobRegistry
from canonflow.jobs.runner import InProcessJobRunner, JobRunner
from canonflow.jobs.service import AfterCommitEngine
from canonflow.tenancy.principal_cache import PrincipalCache

if TYPE_CHECKING:
    from canonflow.jobs.distributed import PeriodicJob


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    secrets: SecretBox
    jobs: JobRegistry
    runner: JobRunner
    egress: EgressPolicy
    replaced_egress: EgressPolicy  # the process's policy before this runtime installed its own
    #: what this process's procrastinate workers run periodically: the scheduler's tick
    #: when built with `scheduler` on PostgreSQL (empty otherwise)
    periodic: Sequence[PeriodicJob] = field(default_factory=tuple)
    #: principals by token hash; serves once the app's lifespan starts its listener
    principals: PrincipalCache = field(default_factory=lambda: PrincipalCache(None))

    def close(self) -> None:
        self.principals.close()
        self.runner.shutdown(wait=True)
        self.engine.dispose()
        if egress.current() is self.egress:
            egress.install(self.replaced_egress)


def register_job_types(registry: JobRegistry, secrets: SecretBox, settings: Settings) -> None:
    """Every feature package's job types."""
    from canonflow.notifications import tasks as notification_tasks
    from canonflow.onboarding import tasks as onboarding_tasks
    from canonflow.policy import tasks as policy_tasks
    from canonflow.promotion import tasks as promotion_tasks
    from canonflow.reconcile import tasks as reconcile_tasks
    from canonflow.repo import tasks as repo_tasks
    from canonflow.sync import tasks as sync_tasks
    from canonflow.templates import tasks as template_tasks

    sync_tasks.register(registry, secrets)
    repo_tasks.register(registry, secrets, settings)
    onboarding_tasks.register(registry, secrets)
    reconcile_tasks.register(registry, secrets, settings)
    template_tasks.register(registry, secrets, settings)
    notification_tasks.register(registry, secrets, settings)
    policy_tasks.register(registry)
    promotion_tasks.register(registry, secrets, settings)


def periodic_jobs(
    settings: Settings, sessions: sessionmaker[Session], registry: JobRegistry
) -> tuple[PeriodicJob, ...]:
    """The scheduler's tick as a periodic job, on PostgreSQL with the scheduler on."""
    if not (settings.uses_procrastinate and settings.scheduler_enabled):
        return ()
    from canonflow.schedule.loop import periodic_tick

    return (periodic_tick(sessions, settings, registry),)


def build_runner(
    settings: Settings,
    sessions: sessionmaker[Session],
    registry: JobRegistry,
    *,
    worker: bool,
    periodic: Sequence[PeriodicJob] = (),
) -> JobRunner:
    """The job engine: procrastinate on PostgreSQL (an embedded worker when `worker` and
    CANONFLOW_EMBEDDED_WORKER), the in-process runner otherwise."""
    executor = JobExecutor(
        sessions,
        registry,
        heartbeat_s=settings.job_heartbeat_s,
        max_concurrent_syncs=settings.max_concurrent_syncs,
    )
    if not settings.uses_procrastinate:
        runner = InProcessJobRunner(executor, workers=settings.job_workers)
        registry.engine = AfterCommitEngine(sessions, runner)
        return runner
    from canonflow.jobs.distributed import ProcrastinateEngine, ProcrastinateRunner, libpq_dsn

    engine = ProcrastinateEngine()
    registry.engine = engine
    executor.on_taken_over = engine.taken_over
    return ProcrastinateRunner(
        executor,
        engine,
        libpq_dsn(settings.resolved_database_url),
        concurrency=settings.job_workers,
        embedded=worker and settings.embedded_worker,
        periodic=periodic,
    )


def build_runtime(settings: Settings, *, worker: bool = True, scheduler: bool = False) -> Runtime:
    """`worker=False`: never an embedded worker (`canonflow worker` runs its own). With
    `worker`, on PostgreSQL the embedded worker (CANONFLOW_EMBEDDED_WORKER) starts with
    `runtime.runner.start_worker()` or the first job this process defers.

    `scheduler`: this process keeps schedules (`serve`, `canonflow worker`). On PostgreSQL
    its workers then run the tick as a procrastinate periodic job (`runtime.periodic`); on
    SQLite the app's lifespan runs the loop. Other processes (CLI commands, tests) leave
    the tick alone even when they run jobs."""
    from canonflow.git import set_network_timeouts

    set_network_timeouts(connect_s=settings.git_connect_timeout_s, io_s=settings.git_io_timeout_s)
    policy = EgressPolicy.from_settings(settings)
    replaced = egress.install(policy)  # every n8n, Git and forge connection is checked by it
    engine = build_engine(settings.resolved_database_url)
    sessions = build_sessionmaker(engine)
    secrets = build_secret_box(settings)
    registry = JobRegistry()
    register_job_types(registry, secrets, settings)
    periodic = periodic_jobs(settings, sessions, registry) if scheduler else ()
    runner = build_runner(settings, sessions, registry, worker=worker, periodic=periodic)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        secrets=secrets,
        jobs=registry,
        runner=runner,
        egress=policy,
        replaced_egress=replaced,
        periodic=periodic,
        principals=PrincipalCache(_listener_dsn(engine)),
    )


def _listener_dsn(engine: Engine) -> str | None:
    """The revocation listener's libpq URL on PostgreSQL; None (no cache) on SQLite."""
    if engine.dialect.name != "postgresql":
        return None
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
