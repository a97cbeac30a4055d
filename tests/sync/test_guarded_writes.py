"""A sync never overwrites a status a user changed after the sync read it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from canonflow.core.status import MappingStatus
from canonflow.db.engine import transaction
from canonflow.db.models import CanonicalWorkflow, Environment, WorkflowEnvMap
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
        "n8n_draft_hash": None,
        "n8n_active": False,
        "n8n_active_version_id": None,
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


def _holders(runtime: Runtime) -> tuple[uuid.UUID, uuid.UUID, dict[MappingStatus, uuid.UUID]]:
    """An environment where a missing, a deleted and a linked mapping each hold a canonical."""
    with transaction(runtime.sessions) as session:
        tenant = make_tenant(session)
        env = Environment(
            tenant_id=tenant.id, name="dev", base_url="http://x", api_key=runtime.secrets.seal("k")
        )
        session.add(env)
        session.flush()
        held: dict[MappingStatus, uuid.UUID] = {}
        for status in (MappingStatus.MISSING, MappingStatus.DELETED, MappingStatus.LINKED):
            canonical = CanonicalWorkflow(
                tenant_id=tenant.id, canonical_slug=status.value, name=status.value,
                workflow_definition={},
            )  # fmt: skip
            session.add(canonical)
            session.flush()
            session.add(
                WorkflowEnvMap(
                    tenant_id=tenant.id, environment_id=env.id, n8n_workflow_id=status.value,
                    canonical_id=canonical.id, status=status,
                )
            )  # fmt: skip
            held[status] = canonical.id
        return tenant.id, env.id, held


def _held_by(runtime: Runtime) -> dict[str, tuple[uuid.UUID | None, uuid.UUID | None]]:
    with transaction(runtime.sessions) as session:
        return {
            row.n8n_workflow_id: (row.canonical_id, row.released_canonical_id)
            for row in session.scalars(select(WorkflowEnvMap))
        }


def test_only_missing_or_deleted_holders_let_go_and_an_untaken_canonical_goes_back(
    runtime: Runtime,
) -> None:
    tenant_id, env_id, held = _holders(runtime)
    with transaction(runtime.sessions) as session:
        released = mappings.release_replaced(session, tenant_id, env_id, held.values())
    assert set(released) == {held[MappingStatus.MISSING], held[MappingStatus.DELETED]}
    assert _held_by(runtime) == {
        "missing": (None, held[MappingStatus.MISSING]),
        "deleted": (None, held[MappingStatus.DELETED]),
        "linked": (held[MappingStatus.LINKED], None),  # a live mapping keeps its canonical
    }
    with transaction(runtime.sessions) as session:  # the link to the missing one's was skipped
        mappings.reclaim_released(session, released, [held[MappingStatus.DELETED]])
    assert _held_by(runtime)["missing"] == (held[MappingStatus.MISSING], None)
    assert _held_by(runtime)["deleted"] == (None, held[MappingStatus.DELETED])
