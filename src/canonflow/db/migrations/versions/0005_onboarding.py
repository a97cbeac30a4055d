"""onboarding record, forge settings, untracked index

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 20:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("git_repositories", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "forge_provider",
                sa.Enum(
                    "none",
                    "github",
                    "gitea",
                    name="forge_provider",
                    native_enum=False,
                    create_constraint=True,
                    length=32,
                ),
                nullable=False,
                server_default="none",
            )
        )
        batch_op.add_column(sa.Column("forge_api_url", sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column("forge_repository", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("forge_token", sa.Text(), nullable=True))
    with op.batch_alter_table("git_repositories", schema=None) as batch_op:
        batch_op.alter_column("forge_provider", server_default=None)

    op.create_table(
        "onboardings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("anchor_environment_id", sa.Uuid(), nullable=True),
        sa.Column("anchor_name", sa.String(length=100), nullable=False),
        sa.Column("onboarded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("inventory_job_id", sa.Uuid(), nullable=True),
        sa.Column(
            "summary",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("pr_branch", sa.String(length=255), nullable=True),
        sa.Column("pr_commit", sa.String(length=64), nullable=True),
        sa.Column("pr_url", sa.String(length=2000), nullable=True),
        sa.Column("pr_number", sa.Integer(), nullable=True),
        sa.Column("pr_state", sa.String(length=16), nullable=True),
        sa.Column("pr_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["anchor_environment_id"],
            ["environments.id"],
            name=op.f("fk_onboardings_anchor_environment_id_environments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_onboardings_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onboardings")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_onboardings_tenant_id")),
    )
    with op.batch_alter_table("workflow_env_map", schema=None) as batch_op:
        batch_op.create_index(
            "ix_workflow_env_map_unlinked_by_name",
            ["tenant_id", "workflow_name", "id"],
            unique=False,
            sqlite_where=sa.text("canonical_id IS NULL"),
            postgresql_where=sa.text("canonical_id IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("workflow_env_map", schema=None) as batch_op:
        batch_op.drop_index("ix_workflow_env_map_unlinked_by_name")
    op.drop_table("onboardings")
    with op.batch_alter_table("git_repositories", schema=None) as batch_op:
        batch_op.drop_column("forge_token")
        batch_op.drop_column("forge_repository")
        batch_op.drop_column("forge_api_url")
        # SQLite's table copy would keep the CHECK naming the dropped column: drop it first
        batch_op.drop_constraint(op.f("ck_git_repositories_forge_provider"), type_="check")
        batch_op.drop_column("forge_provider")
