"""ignore rules: the tenant's rules, and per mapping the hashes with the ignored paths left out

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 01:30:00

- `ignore_rules` (tenant_id, position, path, workflows, environments, note): docs/ignore-rules.md.
- `workflow_env_map.ignore_fingerprint`, `env_ignored_hash`, `git_ignored_hash`,
  `base_ignored_hash`, `ignored_inputs`: null on existing rows (no rule exists yet: the
  raw hashes decide, as before).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_COLUMNS = (
    ("ignore_fingerprint", 50),
    ("env_ignored_hash", 80),
    ("git_ignored_hash", 80),
    ("base_ignored_hash", 80),
    ("ignored_inputs", 400),
)


def upgrade() -> None:
    op.create_table(
        "ignore_rules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("workflows", _JSON, nullable=False),
        sa.Column("environments", _JSON, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_ignore_rules_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ignore_rules")),
        sa.UniqueConstraint(
            "tenant_id", "position", name=op.f("uq_ignore_rules_tenant_id_position")
        ),
    )
    with op.batch_alter_table("workflow_env_map", schema=None) as batch:
        for name, length in _COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length=length), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workflow_env_map", schema=None) as batch:
        for name, _length in reversed(_COLUMNS):
            batch.drop_column(name)
    op.drop_table("ignore_rules")
