"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from canonflow import __version__
from canonflow.api import health
from canonflow.api.problems import install_error_handlers
from canonflow.api.request_id import RequestIdMiddleware
from canonflow.api.warm_up import build_routes
from canonflow.catalogue import api as catalogue_api
from canonflow.config import ConfigError, Settings, get_settings
from canonflow.environments import api as environments_api
from canonflow.governance import api as governance_api
from canonflow.jobs import api as jobs_api
from canonflow.linking import api as linking_api
from canonflow.logs import configure_logging
from canonflow.matrix import api as matrix_api
from canonflow.metrics import api as metrics_api
from canonflow.notifications import api as notifications_api
from canonflow.onboarding import api as onboarding_api
from canonflow.policy import api as policy_api
from canonflow.promotion import api as promotion_api
from canonflow.reconcile import api as reconcile_api
from canonflow.repo import api as repo_api
from canonflow.runtime import Runtime, build_runtime
from canonflow.schedule.loop import scheduler_running
from canonflow.sync import api as sync_api
from canonflow.templates import api as templates_api
from canonflow.web import install_ui


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    scheduler: bool | None = None,
) -> FastAPI:
    """Build the app. The lifespan wires the runtime unless one is passed in (tests, CLI),
    and keeps schedules (`scheduler`: by default only with its own runtime, as in `serve`;
    never when `CANONFLOW_SCHEDULER_ENABLED` is off): on SQLite it runs the scheduler loop;
    on PostgreSQL it starts the embedded worker now, whose periodic job ticks (the runtime
    must be built with `scheduler=True`; with CANONFLOW_EMBEDDED_WORKER off this process
    neither ticks nor runs jobs: `canonflow worker` processes do both)."""
    settings = settings or (runtime.settings if runtime else get_settings())
    configure_logging(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = runtime is None
        schedules = (owned if scheduler is None else scheduler) and settings.scheduler_enabled
        app.state.runtime = current = runtime or build_runtime(settings, scheduler=schedules)
        app.state.scheduler_loop = False
        current.principals.start()  # PostgreSQL: the token revocation listener
        if owned:
            current.runner.recover()
            current.runner.start_worker()
        await build_routes(app)  # not on the first request (`canonflow.api.warm_up`)
        try:
            if schedules and not settings.uses_procrastinate:
                app.state.scheduler_loop = True
                async with scheduler_running(current.sessions, settings, current.jobs):
                    yield
            else:
                if schedules:
                    _start_periodic_worker(current)
                yield
        finally:
            if owned:
                current.close()

    app = FastAPI(
        title="canonflow",
        version=__version__,
        description="A Git-backed control plane for n8n workflows across environments.",
        lifespan=lifespan,
    )
    app.add_middleware(RequestIdMiddleware)
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(metrics_api.router)
    app.include_router(jobs_api.router)
    app.include_router(environments_api.router)
    app.include_router(sync_api.router)
    app.include_router(sync_api.canonical_router)
    app.include_router(repo_api.router)
    app.include_router(linking_api.router)
    app.include_router(onboarding_api.router)
    app.include_router(matrix_api.router)
    app.include_router(catalogue_api.router)  # before reconcile's /workflows/{id}/...
    app.include_router(catalogue_api.trend_router)
    app.include_router(reconcile_api.router)
    app.include_router(templates_api.router)
    app.include_router(notifications_api.router)
    app.include_router(promotion_api.router)
    app.include_router(policy_api.router)
    app.include_router(governance_api.router)
    install_ui(app, settings)
    return app


def _start_periodic_worker(runtime: Runtime) -> None:
    """PostgreSQL: the embedded worker ticks; it starts now, not with the first job."""
    if not runtime.periodic:
        raise ConfigError(
            "this runtime has no periodic tick: build it with build_runtime(..., scheduler=True)"
        )
    runtime.runner.start_worker()
