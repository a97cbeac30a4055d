"""The database-derived metrics on rows other flows write: a repository sync run (no
environment: `environment_kind="none"`), a queue with an hour-old job, linked mappings
counted by their derived state, deleted ones left out, and every status of a job type
present (zero included)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from prometheus_client import CollectorRegistry
from sqlalchemy.orm import Session

from canonflow.core.enums import JobStatus, SyncKind
from canonflow.core.status import MappingStatus
from canonflow.db.engine import transaction
from canonflow.db.models import (
    BackgroundJob,
    CanonicalWorkflow,
    Environment,
    SyncRun,
    WorkflowEnvMap,
)
from canonflow.db.types import utcnow
from canonflow.metrics.collector import DatabaseCollector
from canonflow.runtime import Runtime
from tests.factories import make_tenant
from tests.metrics.helpers import parse, scraper, value

#: state → (env, git, base) content hashes of a linked mapping
LINKED = {"in_sync": ("a", "a", "a"), "drift": ("b", "a", "a"), "conflict": ("b", "c", "a")}


def test_repository_runs_the_queue_and_derived_states(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        tenant = make_tenant(session, slug="acme")
        key = runtime.secrets.seal("x")
        env = Environment(tenant_id=tenant.id, name="dev", base_url="http://n8n.test", api_key=key)
        session.add(env)
        session.flush()
        now = utcnow()
        session.add_all(
            [
                SyncRun(
                    tenant_id=tenant.id, kind=SyncKind.REPOSITORY, complete=True, finished_at=now
                ),
                SyncRun(tenant_id=tenant.id, kind=SyncKind.ENVIRONMENT, environment_id=env.id),
                BackgroundJob(
                    tenant_id=tenant.id, type="repo.sync", created_at=now - timedelta(hours=1)
                ),
                BackgroundJob(tenant_id=tenant.id, type="repo.sync", created_at=now),
            ]
        )
        for state, hashes in LINKED.items():
            _linked(session, tenant.id, env.id, state, *hashes)
        for status in (MappingStatus.DELETED, MappingStatus.MISSING):
            session.add(_mapping(tenant.id, env.id, status.value, status))

    with scraper(runtime) as client:
        samples = parse(client.get("/metrics").text)

    runs = {"sync_kind": "repository", "environment_kind": "none", "outcome": "succeeded"}
    assert value(samples, "canonflow_sync_runs", **runs) == 1
    runs = {"sync_kind": "environment", "environment_kind": "other", "outcome": "running"}
    assert value(samples, "canonflow_sync_runs", **runs) == 1
    assert value(samples, "canonflow_job_queue_depth") == 2
    assert value(samples, "canonflow_job_oldest_queued_age_seconds") >= 3600
    for status in JobStatus:
        expected = 2 if status is JobStatus.QUEUED else 0
        assert value(samples, "canonflow_jobs", type="repo.sync", status=status.value) == expected
    states = {
        dict(labels)["state"]: count
        for (name, labels), count in samples.items()
        if name == "canonflow_mappings" and ("tenant", "acme") in labels
    }
    assert states == {"in_sync": 1, "drift": 1, "conflict": 1, "missing": 1}


def _linked(
    session: Session, tenant_id: uuid.UUID, env_id: uuid.UUID, key: str, *hashes: str
) -> None:
    canonical = CanonicalWorkflow(
        tenant_id=tenant_id, canonical_slug=key, name=key, workflow_definition={}
    )
    session.add(canonical)
    session.flush()
    mapping = _mapping(tenant_id, env_id, key, MappingStatus.LINKED)
    mapping.canonical_id = canonical.id
    mapping.env_content_hash, mapping.git_content_hash, mapping.base_content_hash = (
        "v1:" + h * 64 for h in hashes
    )
    session.add(mapping)


def _mapping(
    tenant_id: uuid.UUID, env_id: uuid.UUID, key: str, status: MappingStatus
) -> WorkflowEnvMap:
    return WorkflowEnvMap(
        tenant_id=tenant_id, environment_id=env_id, n8n_workflow_id=key, status=status
    )


def test_the_mapping_counts_are_kept_for_their_ttl(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        tenant = make_tenant(session, slug="kept")
        key = runtime.secrets.seal("x")
        env = Environment(tenant_id=tenant.id, name="dev", base_url="http://n8n.test", api_key=key)
        session.add(env)
        session.flush()
        session.add(_mapping(tenant.id, env.id, "one", MappingStatus.UNTRACKED))
    kept, fresh = (
        DatabaseCollector(runtime.sessions, kept_s=3600),
        DatabaseCollector(runtime.sessions, kept_s=0),
    )
    assert _untracked(kept) == _untracked(fresh) == 1
    with transaction(runtime.sessions) as session:
        session.add(_mapping(tenant.id, env.id, "two", MappingStatus.UNTRACKED))
        session.add(BackgroundJob(tenant_id=tenant.id, type="repo.sync"))
    assert (_untracked(kept), _untracked(fresh)) == (1, 2)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(kept)
    assert registry.get_sample_value("canonflow_job_queue_depth") == 1  # the rest is read each time


def _untracked(collector: DatabaseCollector) -> float | None:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry.get_sample_value("canonflow_mappings", {"tenant": "kept", "state": "untracked"})
