"""Alembic environment: the engine comes from the caller (see canonflow.db.migrate).

On SQLite, a batch migration rebuilds a table (create a copy, move the rows, drop the old
one). With foreign keys enforced, dropping a table that other rows reference fails, or,
worse, cascades: the rows that point at it would be deleted or set to null. So foreign keys
are off while migrations run (SQLite's documented procedure for schema changes), and
`PRAGMA foreign_key_check` must come back empty before the migration commits.
"""

from __future__ import annotations

from typing import Any

from alembic import context

from canonflow.db.base import Base
from canonflow.db.migrate import include_name
from canonflow.db.models import load_all

load_all()  # every table into Base.metadata (the models load lazily)

engine = context.config.attributes["engine"]
sqlite = engine.dialect.name == "sqlite"


def _pragma_foreign_keys(connection: Any, on: bool) -> None:
    # outside any transaction: SQLite ignores this pragma inside one
    connection.connection.driver_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


with engine.connect() as connection:
    if sqlite:
        _pragma_foreign_keys(connection, on=False)
    try:
        with connection.begin():
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=sqlite,
                compare_type=True,
                include_name=include_name,
            )
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration left rows without their parent: {broken}")
    finally:
        if sqlite:
            _pragma_foreign_keys(connection, on=True)
