"""The base hash where a sync finds both sides equal, on both backends."""

from __future__ import annotations

from sqlalchemy import select

from canonflow.core.status import MappingStatus
from canonflow.db.engine import transaction
from canonflow.db.models import WorkflowEnvMap
from canonflow.runtime import Runtime
from canonflow.sync.agreement import record_agreement
from tests.matrix.conftest import H1, H2, H3, make_tenancy


def _bases(runtime: Runtime) -> dict[str, str | None]:
    with transaction(runtime.sessions) as session:
        rows = session.execute(
            select(WorkflowEnvMap.workflow_name, WorkflowEnvMap.base_content_hash)
        )
        return {row.workflow_name: row.base_content_hash for row in rows}


def test_equal_sides_become_the_base_and_nothing_else_moves(runtime: Runtime) -> None:
    t = make_tenancy(runtime, ("prod", "dev"))
    for name in ("agreed", "agreed-no-base", "drift", "missing", "dev-only", "settled"):
        t.add_canonical(name)
    t.add_mapping("agreed", "prod", env_hash=H2, git_hash=H2, base_hash=H1)
    t.add_mapping("agreed-no-base", "prod", env_hash=H2, git_hash=H2, base_hash=None)
    t.add_mapping("drift", "prod", env_hash=H2, git_hash=H1, base_hash=H1)
    t.add_mapping("missing", "prod", MappingStatus.MISSING, env_hash=H3, git_hash=H3)
    t.add_mapping("dev-only", "dev", env_hash=H3, git_hash=H3, base_hash=None)
    t.add_mapping("settled", "prod", env_hash=H1, git_hash=H1, base_hash=H1)
    other = make_tenancy(runtime, ("prod",))
    other.add_canonical("theirs")
    other.add_mapping("theirs", "prod", env_hash=H2, git_hash=H2, base_hash=None)

    with transaction(runtime.sessions) as session:
        changed = record_agreement(session, t.tenant_id, environment_id=t.envs["prod"])
    assert changed == 2
    bases = _bases(runtime)
    assert bases["agreed"] == H2 and bases["agreed-no-base"] == H2
    assert bases["drift"] == H1  # the sides differ: the base stays what they last agreed on
    assert bases["missing"] == H1  # not linked: left alone
    assert bases["dev-only"] is None  # another environment
    assert bases["theirs"] is None  # another tenant

    with transaction(runtime.sessions) as session:
        assert record_agreement(session, t.tenant_id) == 1  # the whole tenant: dev-only
        assert record_agreement(session, t.tenant_id) == 0  # nothing left to write
    assert _bases(runtime)["dev-only"] == H3
