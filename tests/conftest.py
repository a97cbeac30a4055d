"""Fixtures shared by every test: real databases on both backends, the runtime, the app."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from canonflow.app import create_app
from canonflow.config import Settings
from canonflow.db.engine import transaction
from canonflow.runtime import Runtime, build_runtime
from tests.support.databases import PostgresDatabases, SqliteDatabases
from tests.support.postgres import running_cluster

pytest_plugins = ["tests.support.n8n_fixtures"]

ALL_BACKENDS = ("sqlite", "postgresql")
ENABLED_BACKENDS = tuple(
    name.strip()
    for name in os.environ.get("CANONFLOW_TEST_BACKENDS", ",".join(ALL_BACKENDS)).split(",")
    if name.strip()
)


@pytest.fixture(scope="session", autouse=True)
def _verify_url() -> None:
    """pytest-base-url's session fixture of this name asks for `base_url`; tests that
    parametrize an argument called `base_url` then fail with a ScopeMismatch. The UI tests
    give their own server's URL, so there is nothing to verify."""


@pytest.fixture(scope="session")
def sqlite_databases(tmp_path_factory: pytest.TempPathFactory) -> SqliteDatabases:
    return SqliteDatabases(tmp_path_factory.mktemp("sqlite"))


@pytest.fixture(scope="session")
def postgresql_databases() -> Iterator[PostgresDatabases]:
    with running_cluster() as cluster:
        databases = PostgresDatabases(cluster)
        yield databases
        databases.close()


@pytest.fixture(params=ALL_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if name not in ENABLED_BACKENDS:
        pytest.skip(f"{name} disabled by CANONFLOW_TEST_BACKENDS")
    return name


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, migrated database of the test's backend."""
    databases: SqliteDatabases | PostgresDatabases = request.getfixturevalue(f"{backend}_databases")
    url = databases.create()
    yield url
    databases.drop(url)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        secret_key=Fernet.generate_key().decode(),
        log_level="WARNING",
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    runtime = build_runtime(settings)
    yield runtime
    runtime.close()


@pytest.fixture
def session(runtime: Runtime) -> Iterator[Session]:
    """A session whose work is committed at the end of the test's setup block."""
    with transaction(runtime.sessions) as session:
        yield session


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime=runtime)) as client:
        yield client
