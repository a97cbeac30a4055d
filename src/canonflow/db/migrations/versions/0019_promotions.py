"""promotion between environments: `environments.promotion_order` and `promotions`

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 01:45:00

- `environments.promotion_order`: where the environment stands in promotion (dev 1 ->
  staging 2 -> prod 3); a promotion goes from a lower order to a higher one. None: the
  environment is neither promoted from nor to.
- `promotions`: one row per applied promotion (its items with the planned source hashes,
  its state, branch/commit/pull request, jobs and per-workflow results).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("environments", schema=None) as batch:
        batch.add_column(sa.Column("promotion_order", sa.Integer(), nullable=True))
    op.create_table(
        "promotions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("from_environment_id", sa.Uuid(), nullable=True),
        sa.Column("to_environment_id", sa.Uuid(), nullable=True),
        sa.Column("from_environment", sa.String(length=100), nullable=False),
        sa.Column("to_environment", sa.String(length=100), nullable=False),
        sa.Column("items", _JSON, nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=True),
        sa.Column("commit", sa.String(length=64), nullable=True),
        sa.Column("pr_url", sa.String(length=2000), nullable=True),
        sa.Column("pr_number", sa.Integer(), nullable=True),
        sa.Column("job_ids", _JSON, nullable=False),
        sa.Column("results", _JSON, nullable=False),
        sa.Column("detail", sa.String(length=2000), nullable=True),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("requested_by_token_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_promotions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["from_environment_id"],
            ["environments.id"],
            name=op.f("fk_promotions_from_environment_id_environments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["to_environment_id"],
            ["environments.id"],
            name=op.f("fk_promotions_to_environment_id_environments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_token_id"],
            ["api_tokens.id"],
            name=op.f("fk_promotions_requested_by_token_id_api_tokens"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotions")),
    )
    op.create_index(
        op.f("ix_promotions_tenant_id_created_at"), "promotions", ["tenant_id", "created_at"]
    )
    op.create_index(op.f("ix_promotions_tenant_id_state"), "promotions", ["tenant_id", "state"])


def downgrade() -> None:
    op.drop_index(op.f("ix_promotions_tenant_id_state"), table_name="promotions")
    op.drop_index(op.f("ix_promotions_tenant_id_created_at"), table_name="promotions")
    op.drop_table("promotions")
    with op.batch_alter_table("environments", schema=None) as batch:
        batch.drop_column("promotion_order")
