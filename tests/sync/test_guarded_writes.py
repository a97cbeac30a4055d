"""A sync never overwrites a status a user changed after the sync read it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from canonflow.core.status import MappingStatus
from canonflow.db.engine import transaction
from canonflow.db.models import Environment, WorkflowEnvMap
from canonflow.runtime import Runtime
from canonflow.sync import mappings
from canonflow.sync.batch import UPDATED_COLUMNS
from tests.factories import make_tenant

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def _mapping(runtime: Runtime, status: MappingStatus) -> uuid.UUID:
    with transaction(runtime.sessions) as session:
        tenant = make_tenant(session)
        env = Environment(
            tenant_id=tenant.id, name="dev", base_url="http://x", api_key=runtime.secrets.seal("k")
        )
        session.add(env)
        session.flush()
        row = WorkflowEnvMap(
            tenant_id=tenant.id,
            environment_id=env.id,
            n8n_workflow_id="abc",
            status=status,
            workflow_name="old",
            env_content_hash="v1:old",
        )
        session.add(row)
        session.flush()
        return row.id


def _change(
    mapping_id: uuid.UUID, expected: MappingStatus, new: MappingStatus
) -> dict[str, object]:
    return {
        "id": mapping_id,
        "expected_status": expected,
        "status": new,
        "status_changed_at": NOW,
        "env_content_hash": "v1:new",
        "env_hash_version": 1,
        "present": True,
        "workflow_name": "new",
        "n8n_updated_at": None,
        "workflow_data": {"name": "new"},
        "updated_at": NOW,
    }


def test_an_update_applies_when_the_status_is_as_read(runtime: Runtime) -> None:
    mapping_id = _mapping(runtime, MappingStatus.MISSING)
    change = _change(mapping_id, MappingStatus.MISSING, MappingStatus.UNTRACKED)
    with transaction(runtime.sessions) as session:
        skipped = mappings.update_if_status_unchanged(session, [change], UPDATED_COLUMNS)
        row = session.scalars(select(WorkflowEnvMap)).one()
    assert skipped == set()
    assert (row.status, row.workflow_name) == (MappingStatus.UNTRACKED, "new")


def test_an_update_is_skipped_when_a_user_changed_the_status_meanwhile(runtime: Runtime) -> None:
    mapping_id = _mapping(runtime, MappingStatus.IGNORED)  # the user ignored it after the read
    change = _change(mapping_id, MappingStatus.MISSING, MappingStatus.UNTRACKED)
    with transaction(runtime.sessions) as session:
        skipped = mappings.update_if_status_unchanged(session, [change], UPDATED_COLUMNS)
        row = session.scalars(select(WorkflowEnvMap)).one()
    assert skipped == {mapping_id}
    assert (row.status, row.workflow_name) == (MappingStatus.IGNORED, "old")
