"""Who ticks in the app: on PostgreSQL the embedded worker's procrastinate periodic job,
started with the app (no lifespan loop); with the embedded worker off, nobody in this
process; on SQLite the lifespan loop."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text, update

from canonflow.app import create_app
from canonflow.config import ConfigError, Settings
from canonflow.db.engine import transaction
from canonflow.db.models import Environment
from canonflow.runtime import Runtime, build_runtime
from tests.factories import make_tenant

TICK_TASK = "canonflow.periodic.scheduler.tick"


def _runtime(settings: Settings, **update: object) -> Runtime:
    return build_runtime(
        settings.model_copy(update={"scheduler_tick_s": 1} | update), scheduler=True
    )


@pytest.fixture
def ticking(settings: Settings) -> Iterator[Runtime]:
    runtime = _runtime(settings)
    yield runtime
    runtime.close()


def _unscheduled_environment(runtime: Runtime) -> Environment:
    """An active environment without a due time: the first tick gives it one."""
    with transaction(runtime.sessions) as session:
        tenant = make_tenant(session)
        environment = Environment(
            tenant_id=tenant.id,
            name="dev",
            base_url="http://127.0.0.1:9/",
            api_key=runtime.secrets.seal("unused"),
        )
        session.add(environment)
        session.flush()
        session.execute(
            update(Environment).where(Environment.id == environment.id).values(next_sync_at=None)
        )
        return environment


def _next_sync_at(runtime: Runtime, environment: Environment) -> object:
    with transaction(runtime.sessions) as session:
        return session.get(Environment, environment.id, populate_existing=True).next_sync_at  # type: ignore[union-attr]


def _periodic_defers(runtime: Runtime) -> int:
    with transaction(runtime.sessions) as session:
        return int(
            session.execute(
                text("SELECT count(*) FROM procrastinate_periodic_defers WHERE task_name = :t"),
                {"t": TICK_TASK},
            ).scalar_one()
        )


def test_on_postgresql_the_embedded_worker_ticks_and_no_loop_runs(
    backend: str, ticking: Runtime
) -> None:
    if backend != "postgresql":
        pytest.skip("procrastinate runs on PostgreSQL")
    environment = _unscheduled_environment(ticking)
    app = create_app(runtime=ticking, scheduler=True)
    with TestClient(app):
        assert app.state.scheduler_loop is False
        assert ticking.runner.worker_running  # type: ignore[attr-defined]  # at startup
        deadline = time.monotonic() + 30
        while _next_sync_at(ticking, environment) is None:
            assert time.monotonic() < deadline, "no tick gave the environment a due time"
            time.sleep(0.2)
        assert _periodic_defers(ticking) >= 1  # the tick came from procrastinate's deferrer


def test_on_postgresql_without_the_embedded_worker_the_app_neither_ticks_nor_runs_jobs(
    backend: str, settings: Settings
) -> None:
    if backend != "postgresql":
        pytest.skip("procrastinate runs on PostgreSQL")
    runtime = _runtime(settings, embedded_worker=False)
    try:
        environment = _unscheduled_environment(runtime)
        app = create_app(runtime=runtime, scheduler=True)
        with TestClient(app):
            assert app.state.scheduler_loop is False
            time.sleep(2.5)  # two periods and a half
            assert not runtime.runner.worker_running  # type: ignore[attr-defined]
            assert _next_sync_at(runtime, environment) is None
            assert _periodic_defers(runtime) == 0
    finally:
        runtime.close()


def test_on_sqlite_the_lifespan_loop_ticks(backend: str, ticking: Runtime) -> None:
    if backend != "sqlite":
        pytest.skip("the loop is SQLite's scheduler")
    environment = _unscheduled_environment(ticking)
    app = create_app(runtime=ticking, scheduler=True)
    with TestClient(app):
        assert app.state.scheduler_loop is True
        deadline = time.monotonic() + 30
        while _next_sync_at(ticking, environment) is None:
            assert time.monotonic() < deadline, "no tick gave the environment a due time"
            time.sleep(0.2)


def test_a_runtime_built_without_the_tick_cannot_keep_schedules_on_postgresql(
    backend: str, runtime: Runtime
) -> None:
    if backend != "postgresql":
        pytest.skip("procrastinate runs on PostgreSQL")
    app = create_app(runtime=runtime, scheduler=True)
    with pytest.raises(ConfigError, match="scheduler=True"), TestClient(app):
        pass
