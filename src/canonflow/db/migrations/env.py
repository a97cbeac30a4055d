"""Alembic environment: the engine comes from the caller (see canonflow.db.migrate)."""

from __future__ import annotations

from alembic import context

import canonflow.db.models  # noqa: F401  (registers every table)
from canonflow.db.base import Base

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=engine.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
