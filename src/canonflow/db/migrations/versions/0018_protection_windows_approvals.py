"""governance: protected environments, sync windows, approvals

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 02:00:00

- `environments.protected` (false on existing rows) and `environments.sync_windows`
  (`[{kind, cron, duration_s, timezone}]`, empty on existing rows).
- `approvals`: a write into a protected environment waiting for another admin, indexed for
  the listing (`tenant_id, status, requested_at, id`: keyset pages per status).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("environments", schema=None) as batch:
        batch.add_column(
            sa.Column("protected", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("sync_windows", _JSON, nullable=False, server_default=sa.text("'[]'"))
        )
    op.create_table(
        "approvals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "approved",
                "rejected",
                "cancelled",
                name="approval_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("payload", _JSON, nullable=False),
        sa.Column("environment_ids", _JSON, nullable=False),
        sa.Column("requested_by_token_id", sa.Uuid(), nullable=True),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_token_id", sa.Uuid(), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_approvals_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
    )
    with op.batch_alter_table("approvals", schema=None) as batch:
        batch.create_index(
            "ix_approvals_tenant_status_requested", ["tenant_id", "status", "requested_at", "id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("approvals", schema=None) as batch:
        batch.drop_index("ix_approvals_tenant_status_requested")
    op.drop_table("approvals")
    with op.batch_alter_table("environments", schema=None) as batch:
        batch.drop_column("sync_windows")
        batch.drop_column("protected")
