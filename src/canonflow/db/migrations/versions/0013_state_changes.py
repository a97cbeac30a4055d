"""state changes: the timeline of each cell's state, and the state as last recorded

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 16:00:00

- `state_changes` (DESIGN section 2): one row per change of a cell's state (mapping, from,
  to, cause, at, and `since`, when the mapping entered `from`), indexed for the drift trend
  (`tenant_id, at`, then every column it reads: an index-only scan) and per-workflow
  history (`tenant_id, canonical_id, at`).
- `workflow_env_map.derived_state` / `derived_state_at`: the cell's state as last
  recorded, backfilled here with the expression `canonflow.catalogue.states.cell_state`
  builds (the derived state of a linked mapping, `orphaned` when its canonical workflow is
  deleted, else the stored status), since `status_changed_at`.
- An index `(tenant_id, environment_id, derived_state)`: the trend's counts of today,
  index only.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKFILL = """
UPDATE workflow_env_map SET derived_state = CASE
    WHEN status <> 'linked' THEN status
    WHEN EXISTS (
        SELECT 1 FROM canonical_workflows
        WHERE canonical_workflows.id = workflow_env_map.canonical_id
          AND canonical_workflows.is_deleted = {true}
    ) THEN 'orphaned'
    WHEN env_content_hash IS NULL OR git_content_hash IS NULL THEN 'unknown'
    WHEN env_content_hash = git_content_hash THEN 'in_sync'
    WHEN base_content_hash IS NULL THEN 'unknown'
    WHEN git_content_hash = base_content_hash THEN 'drift'
    WHEN env_content_hash = base_content_hash THEN 'out_of_date'
    ELSE 'conflict'
END, derived_state_at = status_changed_at
"""


def upgrade() -> None:
    op.create_table(
        "state_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("mapping_id", sa.Uuid(), nullable=True),
        sa.Column("canonical_id", sa.Uuid(), nullable=True),
        sa.Column("environment_id", sa.Uuid(), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=True),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("cause", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["canonical_id"],
            ["canonical_workflows.id"],
            name=op.f("fk_state_changes_canonical_id_canonical_workflows"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["environments.id"],
            name=op.f("fk_state_changes_environment_id_environments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mapping_id"],
            ["workflow_env_map.id"],
            name=op.f("fk_state_changes_mapping_id_workflow_env_map"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_state_changes_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_state_changes")),
    )
    with op.batch_alter_table("state_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_state_changes_trend",
            ["tenant_id", "at", "environment_id", "from_state", "to_state", "since"],
        )
        batch_op.create_index(
            "ix_state_changes_tenant_canonical_at", ["tenant_id", "canonical_id", "at"]
        )
    with op.batch_alter_table("workflow_env_map", schema=None) as batch_op:
        batch_op.add_column(sa.Column("derived_state", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column("derived_state_at", sa.DateTime(timezone=True), nullable=True)
        )
    true = "true" if op.get_bind().dialect.name == "postgresql" else "1"
    op.execute(_BACKFILL.format(true=true))
    with op.batch_alter_table("workflow_env_map", schema=None) as batch_op:
        batch_op.create_index(
            "ix_workflow_env_map_tenant_env_state", ["tenant_id", "environment_id", "derived_state"]
        )


def downgrade() -> None:
    with op.batch_alter_table("workflow_env_map", schema=None) as batch_op:
        batch_op.drop_index("ix_workflow_env_map_tenant_env_state")
        batch_op.drop_column("derived_state_at")
        batch_op.drop_column("derived_state")
    with op.batch_alter_table("state_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_state_changes_tenant_canonical_at")
        batch_op.drop_index("ix_state_changes_trend")
    op.drop_table("state_changes")
