"""reconcile: how env_wins writes to the repository; snapshot lookups by mapping

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("git_repositories", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "commit_mode",
                sa.Enum(
                    "pull_request",
                    "push",
                    name="commit_mode",
                    native_enum=False,
                    create_constraint=True,
                    length=32,
                ),
                nullable=False,
                server_default="pull_request",
            )
        )
    with op.batch_alter_table("git_repositories", schema=None) as batch_op:
        batch_op.alter_column("commit_mode", server_default=None)
    with op.batch_alter_table("snapshots", schema=None) as batch_op:
        batch_op.create_index("ix_snapshots_tenant_mapping", ["tenant_id", "mapping_id"])
        batch_op.create_index("ix_snapshots_tenant_canonical", ["tenant_id", "canonical_id"])


def downgrade() -> None:
    with op.batch_alter_table("snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_snapshots_tenant_canonical")
        batch_op.drop_index("ix_snapshots_tenant_mapping")
    with op.batch_alter_table("git_repositories", schema=None) as batch_op:
        # SQLite's table copy would keep the CHECK naming the dropped column: drop it first
        batch_op.drop_constraint(op.f("ck_git_repositories_commit_mode"), type_="check")
        batch_op.drop_column("commit_mode")
