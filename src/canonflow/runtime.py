"""One bootstrap: wires settings, engine, sessions, secrets and the job runner.

Used by the app's lifespan, the CLI and the tests, so every entrypoint runs the same wiring.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from canonflow import egress
from canonflow.config import Settings
from canonflow.crypto import SecretBox, build_secret_box
from canonflow.db.engine import build_engine, build_sessionmaker
from canonflow.egress import EgressPolicy
from canonflow.jobs.registry import JobRegistry
from canonflow.jobs.runner import InProcessJobRunner
from canonflow.jobs.service import install_dispatch_on_commit


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    secrets: SecretBox
    jobs: JobRegistry
    runner: InProcessJobRunner
    egress: EgressPolicy
    replaced_egress: EgressPolicy  # the process's policy before this runtime installed its own

    def close(self) -> None:
        self.runner.shutdown(wait=True)
        self.engine.dispose()
        if egress.current() is self.egress:
            egress.install(self.replaced_egress)


def register_job_types(registry: JobRegistry, secrets: SecretBox, settings: Settings) -> None:
    """Every feature package's job types."""
    from canonflow.onboarding import tasks as onboarding_tasks
    from canonflow.reconcile import tasks as reconcile_tasks
    from canonflow.repo import tasks as repo_tasks
    from canonflow.sync import tasks as sync_tasks

    sync_tasks.register(registry, secrets)
    repo_tasks.register(registry, secrets, settings)
    onboarding_tasks.register(registry, secrets)
    reconcile_tasks.register(registry, secrets, settings)


def build_runtime(settings: Settings) -> Runtime:
    from canonflow.git import set_network_timeouts

    set_network_timeouts(connect_s=settings.git_connect_timeout_s, io_s=settings.git_io_timeout_s)
    policy = EgressPolicy.from_settings(settings)
    replaced = egress.install(policy)  # every n8n, Git and forge connection is checked by it
    engine = build_engine(settings.resolved_database_url)
    sessions = build_sessionmaker(engine)
    secrets = build_secret_box(settings)
    registry = JobRegistry()
    register_job_types(registry, secrets, settings)
    runner = InProcessJobRunner(sessions, registry, workers=settings.job_workers)
    install_dispatch_on_commit(sessions, runner)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        secrets=secrets,
        jobs=registry,
        runner=runner,
        egress=policy,
        replaced_egress=replaced,
    )
