"""mapping facts: presence, the env hash's rule version, the canonical a mapping let go of

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 04:20:00

- `workflow_env_map.present`: whether the last complete sync listed the workflow, kept
  whatever the status (an ignored mapping too). Existing rows: present unless `missing`.
- `workflow_env_map.env_hash_version`: the rule version of `env_content_hash`, read from
  the hash's own prefix (`v1:` → 1); a hash with another prefix gets none, so the next
  sync hashes it again.
- `workflow_env_map.released_canonical_id`: the canonical a missing or deleted mapping held
  until a recreated workflow took its place.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workflow_env_map", schema=None) as batch_op:
        batch_op.add_column(sa.Column("env_hash_version", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("present", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(sa.Column("released_canonical_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_workflow_env_map_released_canonical_id_canonical_workflows"),
            "canonical_workflows",
            ["released_canonical_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.execute("UPDATE workflow_env_map SET present = false WHERE status = 'missing'")
    op.execute(
        "UPDATE workflow_env_map SET env_hash_version = 1 WHERE env_content_hash LIKE 'v1:%'"
    )
    with op.batch_alter_table("workflow_env_map", schema=None) as batch_op:
        batch_op.alter_column("present", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("workflow_env_map", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("fk_workflow_env_map_released_canonical_id_canonical_workflows"),
            type_="foreignkey",
        )
        batch_op.drop_column("released_canonical_id")
        batch_op.drop_column("present")
        batch_op.drop_column("env_hash_version")
