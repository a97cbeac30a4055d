"""Every SQLite connection is set up the same way: WAL, foreign keys, a busy timeout, and a
page cache large enough for bulk writes of workflow JSON."""

from __future__ import annotations

from pathlib import Path

from canonflow.db.engine import SQLITE_CACHE_KIB, build_engine


def test_each_connection_gets_the_settings(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path}/settings.db")
    try:
        for _ in range(2):  # a second connection of the pool too
            with engine.connect() as connection:
                pragma = connection.exec_driver_sql
                assert pragma("PRAGMA journal_mode").scalar() == "wal"
                assert pragma("PRAGMA foreign_keys").scalar() == 1
                assert pragma("PRAGMA busy_timeout").scalar() == 30000
                assert pragma("PRAGMA synchronous").scalar() == 1  # NORMAL
                assert pragma("PRAGMA cache_size").scalar() == -SQLITE_CACHE_KIB
                connection.invalidate()  # the next checkout opens a new connection
    finally:
        engine.dispose()
