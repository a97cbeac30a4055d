"""matrix keyset index on canonical workflows

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 20:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("canonical_workflows", schema=None) as batch_op:
        batch_op.create_index(
            "ix_canonical_workflows_tenant_name_id", ["tenant_id", "name", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("canonical_workflows", schema=None) as batch_op:
        batch_op.drop_index("ix_canonical_workflows_tenant_name_id")
