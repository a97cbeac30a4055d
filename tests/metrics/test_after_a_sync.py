"""Scrape after real environment syncs against real n8n: the database's counts (jobs,
queue, sync runs, mappings per tenant and state), this process's histograms (job
durations, n8n requests by path template), and no label that names a row."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from canonflow.core.enums import EnvironmentKind, JobStatus
from canonflow.db.engine import transaction
from canonflow.db.models import Environment, Tenant, WorkflowEnvMap
from canonflow.n8n.client import N8nClient
from canonflow.n8n.errors import N8nNotFound
from canonflow.runtime import Runtime
from canonflow.sync.tasks import ENVIRONMENT_SYNC
from tests.factories import bearer, make_token
from tests.metrics.helpers import Samples, parse, scraper, value
from tests.support.n8n import N8nInstance
from tests.support.n8n_fixtures import create_workflows
from tests.sync.conftest import EnvUnderTest, add_environment

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
LABELS = {"type", "status", "sync_kind", "environment_kind", "outcome", "tenant", "state",
          "method", "path", "error", "le"}  # fmt: skip


def test_a_scrape_after_syncs_counts_what_happened(
    client: TestClient, runtime: Runtime, clean_n8n_dev: N8nInstance
) -> None:
    created = create_workflows(clean_n8n_dev, 3, prefix="metrics")
    good = _environment(runtime, clean_n8n_dev, kind=EnvironmentKind.STAGING)
    bad = _environment(runtime, clean_n8n_dev, kind=EnvironmentKind.PRODUCTION, api_key="wrong")
    before = _scrape(runtime)

    assert _sync(client, runtime, good) == JobStatus.SUCCEEDED.value
    assert _sync(client, runtime, bad) == JobStatus.FAILED.value
    _ignore_one(client, runtime, good)
    with N8nClient(clean_n8n_dev.base_url, clean_n8n_dev.api_key, retries=0) as n8n:
        n8n.get_workflow(created[0]["id"])
        with pytest.raises(N8nNotFound):
            n8n.get_workflow("no-such-workflow")
    text, after = _exposition(runtime)

    # from the database: every process sees the same
    for status in JobStatus:
        expected = {"succeeded": 1, "failed": 1}.get(status.value, 0)
        assert (
            value(after, "canonflow_jobs", type=ENVIRONMENT_SYNC, status=status.value) == expected
        )
    assert value(after, "canonflow_job_queue_depth") == 0
    assert value(after, "canonflow_job_oldest_queued_age_seconds") == 0
    runs = {"sync_kind": "environment", "environment_kind": "staging", "outcome": "succeeded"}
    assert value(after, "canonflow_sync_runs", **runs) == 1
    runs |= {"environment_kind": "production", "outcome": "failed"}
    assert value(after, "canonflow_sync_runs", **runs) == 1
    slug = _slug(runtime, good)
    assert value(after, "canonflow_mappings", tenant=slug, state="untracked") == 2
    assert value(after, "canonflow_mappings", tenant=slug, state="ignored") == 1
    assert value(after, "canonflow_mappings", tenant=_slug(runtime, bad), state="untracked") == 0

    # observed in this process: deltas, since the histograms live as long as the process
    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    job = {"type": ENVIRONMENT_SYNC}
    assert delta("canonflow_job_duration_seconds_count", **job, status="succeeded") == 1
    assert delta("canonflow_job_duration_seconds_count", **job, status="failed") == 1
    assert delta("canonflow_job_duration_seconds_bucket", **job, status="succeeded", le="+Inf") == 1
    listing = {"method": "GET", "path": "/workflows"}
    assert delta("canonflow_n8n_request_duration_seconds_count", **listing, outcome="success") >= 1
    assert delta("canonflow_n8n_request_duration_seconds_count", **listing, outcome="error") >= 1
    assert delta("canonflow_n8n_request_errors_total", **listing, error="n8n_unauthorized") >= 1
    one = {"method": "GET", "path": "/workflows/{id}"}
    assert delta("canonflow_n8n_request_duration_seconds_count", **one, outcome="success") == 1
    assert delta("canonflow_n8n_request_errors_total", **one, error="n8n_not_found") == 1
    buckets = [
        (dict(labels)["le"], count)
        for (name, labels), count in after.items()
        if name == "canonflow_n8n_request_duration_seconds_bucket"
        and {("method", "GET"), ("path", "/workflows/{id}"), ("outcome", "success")} <= labels
    ]
    assert len(buckets) == 13 and dict(buckets)["+Inf"] >= 1  # 12 bounds and +Inf

    # bounded labels: no row's id anywhere, only the known label names
    assert not UUID.search(text), UUID.search(text)
    for workflow in created:
        assert f'"{workflow["id"]}"' not in text and f"/{workflow['id']}" not in text
    assert "no-such-workflow" not in text
    assert {name for _, labels in after for name, _ in labels} <= LABELS


def _environment(
    runtime: Runtime, n8n: N8nInstance, *, kind: EnvironmentKind, api_key: str | None = None
) -> EnvUnderTest:
    env = add_environment(runtime, n8n, api_key=api_key)
    with transaction(runtime.sessions) as session:
        environment = session.get(Environment, env.environment_id)
        assert environment is not None
        environment.kind = kind
    return env


def _token(runtime: Runtime, env: EnvUnderTest) -> str:
    with transaction(runtime.sessions) as session:
        tenant = session.get(Tenant, env.tenant_id)
        assert tenant is not None
        return make_token(session, tenant)


def _slug(runtime: Runtime, env: EnvUnderTest) -> str:
    with transaction(runtime.sessions) as session:
        tenant = session.get(Tenant, env.tenant_id)
        assert tenant is not None
        return tenant.slug


def _sync(client: TestClient, runtime: Runtime, env: EnvUnderTest) -> str:
    token = _token(runtime, env)
    accepted = client.post(f"/api/v1/environments/{env.environment_id}/sync", headers=bearer(token))
    assert accepted.status_code == 202, accepted.text
    job_id = uuid.UUID(accepted.json()["job_id"])
    runtime.runner.wait(job_id, timeout=120)
    status: str = client.get(f"/api/v1/jobs/{job_id}", headers=bearer(token)).json()["status"]
    return status


def _ignore_one(client: TestClient, runtime: Runtime, env: EnvUnderTest) -> None:
    with transaction(runtime.sessions) as session:
        mapping = session.scalars(
            select(WorkflowEnvMap.id).where(WorkflowEnvMap.environment_id == env.environment_id)
        ).first()
    url = f"/api/v1/canonical/mappings/{mapping}/ignore"
    assert client.post(url, headers=bearer(_token(runtime, env))).status_code == 200


def _exposition(runtime: Runtime) -> tuple[str, Samples]:
    with scraper(runtime) as metrics:
        answer = metrics.get("/metrics")
    assert answer.status_code == 200, answer.text
    return answer.text, parse(answer.text)


def _scrape(runtime: Runtime) -> Samples:
    return _exposition(runtime)[1]
