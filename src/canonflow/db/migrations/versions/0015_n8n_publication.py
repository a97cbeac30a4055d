"""n8n 2.x publication: a mapping's pending draft hash and publication, an environment's major

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 23:00:00

- `workflow_env_map.n8n_draft_hash`: while an active n8n 2.x workflow runs a published
  version other than its draft, the draft's content hash (`env_content_hash` is then the
  published version's: docs/drift-on-n8n-2x.md). None when no draft differs.
- `workflow_env_map.n8n_active` / `n8n_active_version_id`: as last listed. n8n moves no
  `updatedAt` when it activates, deactivates or publishes, so a sync compares them too
  before it skips a workflow as unchanged. None on existing rows: the first sync after
  this migration hashes every workflow once again.
- `environments.n8n_major`: the n8n major version (1 or 2) its last sync found.

No backfill: a null draft hash derives no new state.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workflow_env_map", schema=None) as batch:
        batch.add_column(sa.Column("n8n_draft_hash", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("n8n_active", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("n8n_active_version_id", sa.String(length=100), nullable=True))
    with op.batch_alter_table("environments", schema=None) as batch:
        batch.add_column(sa.Column("n8n_major", sa.Integer(), nullable=True))


def downgrade() -> None:
    # 0014 knows no `draft_pending` state: such a cell runs Git's version, so it is in sync
    # there, and its recorded changes to and from it become none
    op.execute(
        "UPDATE workflow_env_map SET derived_state = 'in_sync' "
        "WHERE derived_state = 'draft_pending'"
    )
    op.execute("UPDATE state_changes SET from_state = 'in_sync' WHERE from_state = 'draft_pending'")
    op.execute("UPDATE state_changes SET to_state = 'in_sync' WHERE to_state = 'draft_pending'")
    op.execute("DELETE FROM state_changes WHERE from_state = to_state")
    with op.batch_alter_table("environments", schema=None) as batch:
        batch.drop_column("n8n_major")
    with op.batch_alter_table("workflow_env_map", schema=None) as batch:
        batch.drop_column("n8n_active_version_id")
        batch.drop_column("n8n_active")
        batch.drop_column("n8n_draft_hash")
