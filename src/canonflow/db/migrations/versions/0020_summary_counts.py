"""summary counts: the matrix summary kept per environment, state and flags

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 05:00:00

- `summary_counts` (tenant, environment, state, holds_canonical, draft_pending → n): how
  many cells of an environment are counted under each key, kept by
  `canonflow.catalogue.states.record_state_changes` in the transactions that change the
  cells (`canonflow.matrix.counts`); its rows go with their environment or tenant.
- `workflow_env_map.counted_holds` / `counted_draft`: the flags a cell is counted under,
  beside the state it is counted under (`derived_state`, as last recorded).
- `ix_canonical_workflows_tenant_live` (tenant_id) where not deleted: the summary counts a
  tenant's live canonical workflows (for `absent`) from the index alone.
- Backfill: the flags of every recorded cell from its rows (the expressions of
  `canonflow.matrix.counts.holds_canonical` / `draft_pending`), then the counts grouped
  from the recorded states and the flags.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FLAGS = """
UPDATE workflow_env_map SET
    counted_holds = CASE WHEN canonical_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM canonical_workflows
        WHERE canonical_workflows.id = workflow_env_map.canonical_id
          AND canonical_workflows.is_deleted = {true}
    ) THEN {true} ELSE {false} END,
    counted_draft = CASE WHEN status = 'linked' AND canonical_id IS NOT NULL
        AND n8n_draft_hash IS NOT NULL AND n8n_draft_hash <> env_content_hash
    THEN {true} ELSE {false} END
WHERE derived_state IS NOT NULL
"""

_COUNTS = """
INSERT INTO summary_counts
    (tenant_id, environment_id, state, holds_canonical, draft_pending, n)
SELECT tenant_id, environment_id, derived_state, counted_holds, counted_draft, count(*)
FROM workflow_env_map WHERE derived_state IS NOT NULL
GROUP BY tenant_id, environment_id, derived_state, counted_holds, counted_draft
"""


def upgrade() -> None:
    op.create_table(
        "summary_counts",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("environment_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("holds_canonical", sa.Boolean(), nullable=False),
        sa.Column("draft_pending", sa.Boolean(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["environments.id"],
            name=op.f("fk_summary_counts_environment_id_environments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_summary_counts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id",
            "environment_id",
            "state",
            "holds_canonical",
            "draft_pending",
            name=op.f("pk_summary_counts"),
        ),
    )
    with op.batch_alter_table("workflow_env_map", schema=None) as batch:
        batch.add_column(sa.Column("counted_holds", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("counted_draft", sa.Boolean(), nullable=True))
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_index(
        "ix_canonical_workflows_tenant_live",
        "canonical_workflows",
        ["tenant_id"],
        sqlite_where=sa.text("is_deleted IS 0"),
        postgresql_where=sa.text("is_deleted IS FALSE"),
    )
    true, false = ("true", "false") if postgresql else ("1", "0")
    op.execute(_FLAGS.format(true=true, false=false))
    op.execute(_COUNTS)


def downgrade() -> None:
    op.drop_index("ix_canonical_workflows_tenant_live", table_name="canonical_workflows")
    with op.batch_alter_table("workflow_env_map", schema=None) as batch:
        batch.drop_column("counted_draft")
        batch.drop_column("counted_holds")
    op.drop_table("summary_counts")
