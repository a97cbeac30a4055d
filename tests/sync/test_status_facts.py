"""Facts a sync keeps whatever the status: presence while ignored, and the rule version of
each stored hash (a real n8n)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import update

from canonflow.core.enums import Role
from canonflow.core.hashing import HASH_VERSION
from canonflow.core.status import MappingStatus
from canonflow.db.engine import transaction
from canonflow.db.models import WorkflowEnvMap
from canonflow.linking import service as linking
from canonflow.tenancy.service import Principal
from tests.sync.conftest import EnvUnderTest

CreateInN8n = Callable[..., dict[str, Any]]


def _principal(env: EnvUnderTest) -> Principal:
    return Principal(
        tenant_id=env.tenant_id, tenant_slug="t", token_id=None, name="test", role=Role.OPERATOR
    )


def _set_ignored(env: EnvUnderTest, n8n_id: str, *, ignored: bool) -> MappingStatus:
    mapping = env.mappings()[n8n_id]
    with transaction(env.runtime.sessions) as session:
        changed = linking.set_ignored(session, _principal(env), mapping.id, ignored=ignored)
        return changed.status


def test_un_ignoring_a_workflow_gone_from_n8n_gives_missing(
    dev_env: EnvUnderTest, create_in_n8n: CreateInN8n
) -> None:
    kept = create_in_n8n(dev_env, "Kept")
    gone = create_in_n8n(dev_env, "Gone")
    dev_env.sync()
    for workflow in (kept, gone):
        assert _set_ignored(dev_env, workflow["id"], ignored=True) is MappingStatus.IGNORED
    with dev_env.n8n_http() as http:
        http.delete(f"/workflows/{gone['id']}").raise_for_status()
    result = dev_env.sync()
    assert result.complete and result.missing == 0  # ignored stays ignored
    rows = dev_env.mappings()
    assert (rows[gone["id"]].status, rows[gone["id"]].present) == (MappingStatus.IGNORED, False)
    assert rows[kept["id"]].present
    assert _set_ignored(dev_env, gone["id"], ignored=False) is MappingStatus.MISSING
    assert _set_ignored(dev_env, kept["id"], ignored=False) is MappingStatus.UNTRACKED


def test_an_ignored_workflow_that_comes_back_is_present_again(
    dev_env: EnvUnderTest, create_in_n8n: CreateInN8n
) -> None:
    workflow = create_in_n8n(dev_env, "Comes and goes")
    dev_env.sync()
    _set_ignored(dev_env, workflow["id"], ignored=True)
    with transaction(dev_env.runtime.sessions) as session:  # as if a sync had not seen it
        session.execute(update(WorkflowEnvMap).values(present=False))
    dev_env.sync()
    assert dev_env.mappings()[workflow["id"]].present
    assert _set_ignored(dev_env, workflow["id"], ignored=False) is MappingStatus.UNTRACKED


def test_a_hash_made_by_older_rules_is_made_again_though_updated_at_did_not_move(
    dev_env: EnvUnderTest, create_in_n8n: CreateInN8n
) -> None:
    workflow = create_in_n8n(dev_env, "Old rules")
    dev_env.sync()
    fresh = dev_env.mappings()[workflow["id"]]
    assert (fresh.env_hash_version, fresh.env_content_hash[:3]) == (HASH_VERSION, "v1:")
    with transaction(dev_env.runtime.sessions) as session:
        session.execute(
            update(WorkflowEnvMap).values(env_content_hash="v0:older-rules", env_hash_version=0)
        )
    result = dev_env.sync()
    again = dev_env.mappings()[workflow["id"]]
    assert result.updated == 1
    assert (again.env_content_hash, again.env_hash_version) == (
        fresh.env_content_hash,
        HASH_VERSION,
    )
    assert dev_env.sync().unchanged == 1  # and then it is trusted again
