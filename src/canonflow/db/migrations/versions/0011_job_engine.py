"""job engine: procrastinate's schema (PostgreSQL), the engine's columns on background_jobs

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 05:00:00

- PostgreSQL only: procrastinate's schema (its tables, types and functions), read from the
  installed package (procrastinate 3.10; no schema change shipped between 3.4 and 3.10).
  A later procrastinate upgrade gets its own revision running the shipped migration files.
  Its tables are kept out of autogenerate (`include_name` in env.py).
- `background_jobs`: origin, queue, priority, lock and queueing keys, attempts,
  heartbeat_at and worker_id (stalled-job recovery), abort_requested,
  engine_job_id (procrastinate's job id); a partial unique index keeps one queued job per
  queueing key.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PROCRASTINATE_TABLES = ("events", "periodic_defers", "jobs", "workers")
_PROCRASTINATE_TYPES = ("job_to_defer_v1", "job_event_type", "job_status")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        from procrastinate.schema import SchemaManager

        op.execute(sa.text(SchemaManager.get_schema()))
    with op.batch_alter_table("background_jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("origin", sa.String(20), nullable=False, server_default="interactive")
        )
        batch_op.add_column(
            sa.Column("queue", sa.String(50), nullable=False, server_default="default")
        )
        for name in ("priority", "attempts"):
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("lock_key", sa.String(300), nullable=True))
        batch_op.add_column(sa.Column("queueing_key", sa.String(300), nullable=True))
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("worker_id", sa.String(200), nullable=True))
        batch_op.add_column(
            sa.Column("abort_requested", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("engine_job_id", sa.BigInteger(), nullable=True))
        batch_op.create_index(
            op.f("ix_background_jobs_status_priority_created_at"),
            ["status", "priority", "created_at"],
        )
        batch_op.create_index(
            "uq_background_jobs_queueing_key_queued",
            ["queueing_key"],
            unique=True,
            postgresql_where=sa.text("status = 'queued'"),
            sqlite_where=sa.text("status = 'queued'"),
        )
    with op.batch_alter_table("background_jobs", schema=None) as batch_op:
        for name in ("origin", "queue", "priority", "attempts", "abort_requested"):
            batch_op.alter_column(name, server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("background_jobs", schema=None) as batch_op:
        batch_op.drop_index("uq_background_jobs_queueing_key_queued")
        batch_op.drop_index(op.f("ix_background_jobs_status_priority_created_at"))
        for name in (
            "engine_job_id",
            "abort_requested",
            "worker_id",
            "heartbeat_at",
            "queueing_key",
            "lock_key",
            "attempts",
            "priority",
            "queue",
            "origin",
        ):
            batch_op.drop_column(name)
    if op.get_bind().dialect.name == "postgresql":
        _drop_procrastinate()


def _drop_procrastinate() -> None:
    for table in _PROCRASTINATE_TABLES:
        op.execute(f"DROP TABLE IF EXISTS procrastinate_{table} CASCADE")
    op.execute(
        """
        DO $$
        DECLARE f record;
        BEGIN
          FOR f IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
                   JOIN pg_namespace n ON n.oid = p.pronamespace
                   WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%'
          LOOP
            EXECUTE 'DROP FUNCTION ' || f.sig || ' CASCADE';
          END LOOP;
        END $$;
        """
    )
    for type_ in _PROCRASTINATE_TYPES:
        op.execute(f"DROP TYPE IF EXISTS procrastinate_{type_} CASCADE")
