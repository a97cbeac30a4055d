"""Fresh, migrated databases per test, on SQLite and on PostgreSQL.

A template is migrated once per backend and run; each test gets its own copy (a file copy on
SQLite, `CREATE DATABASE ... TEMPLATE` on PostgreSQL), so tests never share state and can
commit for real (jobs, threads, the app).
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from canonflow.db.engine import build_engine
from canonflow.db.migrate import upgrade
from tests.support.postgres import PostgresCluster

TEMPLATE_DB = "canonflow_template"


def migrate_url(url: str) -> None:
    engine = build_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


class SqliteDatabases:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.template = directory / "template.db"
        migrate_url(self._url(self.template))

    def create(self) -> str:
        target = self.directory / f"{uuid.uuid4().hex}.db"
        shutil.copyfile(self.template, target)
        return self._url(target)

    def drop(self, url: str) -> None:
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    @staticmethod
    def _url(path: Path) -> str:
        return f"sqlite:///{path}"


class PostgresDatabases:
    def __init__(self, cluster: PostgresCluster) -> None:
        self.cluster = cluster
        self.admin: Engine = create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
        with self.admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {TEMPLATE_DB}"))
            connection.execute(text(f"CREATE DATABASE {TEMPLATE_DB}"))
        migrate_url(cluster.url(TEMPLATE_DB))

    def create(self) -> str:
        name = f"t_{uuid.uuid4().hex}"
        with self.admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}"))
        return self.cluster.url(name)

    def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with self.admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))

    def close(self) -> None:
        self.admin.dispose()
