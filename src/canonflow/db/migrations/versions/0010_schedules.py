"""schedules: intervals, pause and the next due time of environments and repositories

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 05:00:00

- `environments.sync_interval_s`: required, 3600 by default (0: manual only). Existing rows
  without one get 3600.
- `environments.paused`, `environments.next_sync_at`: the scheduler's state (`next_sync_at`
  stays empty until the first tick sets it from the environment's phase).
- `git_repositories.sync_interval_s` (3600), `paused`, `next_sync_at`: the same for the
  tenant's repository.
- `sync_runs (environment_id, started_at)`: an index for "the last sync of each
  environment".
- `leases.tenant_id` may be empty: the scheduler tick's lease belongs to no tenant.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _schedule_columns(table: str, *, with_interval: bool) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        if with_interval:
            batch_op.add_column(
                sa.Column("sync_interval_s", sa.Integer(), nullable=False, server_default="3600")
            )
        batch_op.add_column(
            sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("next_sync_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f(f"ix_{table}_next_sync_at"), ["next_sync_at"])
    with op.batch_alter_table(table, schema=None) as batch_op:
        if with_interval:
            batch_op.alter_column("sync_interval_s", server_default=None)
        batch_op.alter_column("paused", server_default=None)


def upgrade() -> None:
    op.execute("UPDATE environments SET sync_interval_s = 3600 WHERE sync_interval_s IS NULL")
    with op.batch_alter_table("environments", schema=None) as batch_op:
        batch_op.alter_column("sync_interval_s", existing_type=sa.Integer(), nullable=False)
    _schedule_columns("environments", with_interval=False)
    _schedule_columns("git_repositories", with_interval=True)
    op.create_index(
        op.f("ix_sync_runs_environment_id_started_at"),
        "sync_runs",
        ["environment_id", "started_at"],
    )
    with op.batch_alter_table("leases", schema=None) as batch_op:
        batch_op.alter_column("tenant_id", existing_type=sa.Uuid(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM leases WHERE tenant_id IS NULL")
    with op.batch_alter_table("leases", schema=None) as batch_op:
        batch_op.alter_column("tenant_id", existing_type=sa.Uuid(), nullable=False)
    op.drop_index(op.f("ix_sync_runs_environment_id_started_at"), table_name="sync_runs")
    for table, columns in (
        ("git_repositories", ("next_sync_at", "paused", "sync_interval_s")),
        ("environments", ("next_sync_at", "paused")),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_next_sync_at"))
            for column in columns:
                batch_op.drop_column(column)
    with op.batch_alter_table("environments", schema=None) as batch_op:
        batch_op.alter_column("sync_interval_s", existing_type=sa.Integer(), nullable=True)
