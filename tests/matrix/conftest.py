"""Hand-built matrix fixtures: rows loaded directly (the matrix needs only the tables),
each cell recorded as a write flow records it (its state, the summary's counts)."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from canonflow.catalogue.states import StateCause, record_state_changes
from canonflow.core.enums import Role
from canonflow.core.status import MappingStatus
from canonflow.db.engine import transaction
from canonflow.db.models import CanonicalWorkflow, Environment, WorkflowEnvMap
from canonflow.runtime import Runtime
from tests.factories import bearer, make_tenant, make_token

H1, H2, H3 = ("v1:" + c * 64 for c in "123")
_counter = itertools.count()


@dataclass
class Tenancy:
    runtime: Runtime
    tenant_id: uuid.UUID
    headers: dict[str, str]
    envs: dict[str, uuid.UUID] = field(default_factory=dict)
    canonicals: dict[str, uuid.UUID] = field(default_factory=dict)

    def add_canonical(self, name: str, *, deleted: bool = False, digest: str = H1) -> uuid.UUID:
        with transaction(self.runtime.sessions) as session:
            row = CanonicalWorkflow(
                tenant_id=self.tenant_id,
                canonical_slug=f"{name.lower().replace(' ', '-')}-{next(_counter)}",
                name=name,
                content_hash=digest,
                workflow_definition={},
                is_deleted=deleted,
            )
            session.add(row)
            session.flush()
            self.canonicals[name] = row.id
            return row.id

    def add_mapping(
        self,
        canonical: str | None,
        env: str,
        status: MappingStatus = MappingStatus.LINKED,
        *,
        env_hash: str | None = H1,
        git_hash: str | None = H1,
        base_hash: str | None = H1,
        updated_at: datetime | None = None,
        draft_hash: str | None = None,
    ) -> uuid.UUID:
        with transaction(self.runtime.sessions) as session:
            row = WorkflowEnvMap(
                tenant_id=self.tenant_id,
                canonical_id=self.canonicals[canonical] if canonical else None,
                environment_id=self.envs[env],
                n8n_workflow_id=f"n8n-{next(_counter)}",
                status=status,
                env_content_hash=env_hash,
                git_content_hash=git_hash,
                base_content_hash=base_hash,
                workflow_name=canonical,
                n8n_updated_at=updated_at,
                n8n_draft_hash=draft_hash,
            )
            session.add(row)
            session.flush()
            # as every write flow does: the cell's state recorded, the summary's counts kept
            record_state_changes(session, self.tenant_id, StateCause.ENV_SYNC, mapping_ids=[row.id])
            return row.id


def make_tenancy(runtime: Runtime, envs: tuple[str, ...]) -> Tenancy:
    with transaction(runtime.sessions) as session:
        tenant = make_tenant(session)
        headers = bearer(make_token(session, tenant, role=Role.VIEWER))
        tenancy = Tenancy(runtime, tenant.id, headers)
        for name in envs:
            env = Environment(
                tenant_id=tenant.id,
                name=name,
                base_url=f"http://127.0.0.1:9/{name}",
                api_key=runtime.secrets.seal("unused"),
            )
            session.add(env)
            session.flush()
            tenancy.envs[name] = env.id
    return tenancy


@pytest.fixture
def estate(runtime: Runtime) -> Tenancy:
    """dev, prod, staging; Alpha (prod in_sync, dev drift, staging absent), Bravo (prod
    out_of_date, dev conflict, staging unknown), Charlie (in_sync everywhere), Delta (prod
    missing, dev ignored, staging deleted), Echo (deleted canonical), one untracked workflow;
    and another tenant with an Alpha of its own."""
    t = make_tenancy(runtime, ("dev", "prod", "staging"))
    for name in ("Charlie", "Alpha", "Bravo", "Delta"):
        t.add_canonical(name)
    t.add_canonical("Echo", deleted=True)
    t.add_mapping("Alpha", "prod")
    t.add_mapping("Alpha", "dev", env_hash=H2)
    t.add_mapping("Bravo", "prod", git_hash=H3)
    t.add_mapping("Bravo", "dev", env_hash=H2, git_hash=H3)
    t.add_mapping("Bravo", "staging", env_hash=H2, base_hash=None)
    for env in ("dev", "prod", "staging"):
        t.add_mapping("Charlie", env)
    t.add_mapping("Delta", "prod", MappingStatus.MISSING)
    t.add_mapping("Delta", "dev", MappingStatus.IGNORED)
    t.add_mapping("Delta", "staging", MappingStatus.DELETED)
    t.add_mapping("Echo", "staging")  # a deleted canonical's mapping: no row, not absent
    t.add_mapping(None, "dev", MappingStatus.UNTRACKED, git_hash=None, base_hash=None)
    other = make_tenancy(runtime, ("prod",))
    other.add_canonical("Alpha")
    other.add_mapping("Alpha", "prod")
    t.other = other  # type: ignore[attr-defined]
    return t


def names(page: dict[str, Any]) -> list[str]:
    return [row["name"] for row in page["workflows"]]
