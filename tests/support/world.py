"""One tenant's real rows of every kind (environment, binding, canonical, mapping, job,
snapshot), written straight to the database: the seed of the tenant sweeps and of the
migration round trip."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from canonflow.core.enums import JobStatus, SnapshotSide
from canonflow.core.status import MappingStatus
from canonflow.crypto import SecretBox
from canonflow.db.models import (
    Approval,
    ApprovalStatus,
    BackgroundJob,
    CanonicalWorkflow,
    CredentialBinding,
    Environment,
    NotificationDelivery,
    NotificationDestination,
    Snapshot,
    WorkflowEnvMap,
    WorkflowTemplate,
)


@dataclass(frozen=True)
class World:
    """One tenant's real rows."""

    environment: str
    binding: str
    canonical: str
    mapping: str
    job: str
    snapshot: str
    template: str  # a template's slug, unique to this world
    approval: str  # a pending approval of an (empty) apply into the environment
    destination: str = ""  # a notification destination

    def ids(self) -> set[str]:
        named = {
            self.destination,
            self.environment,
            self.binding,
            self.canonical,
            self.mapping,
            self.job,
            self.snapshot,
            self.template,
            self.approval,
        }
        return named - {""}


def seed_world(session: Session, tenant_id: uuid.UUID, secrets: SecretBox) -> World:
    """One tenant's rows of every kind a route can name, as the services would write them."""
    environment = Environment(
        tenant_id=tenant_id,
        name="prod",
        base_url="http://127.0.0.1:9",
        api_key=secrets.seal("n8n-key-" + uuid.uuid4().hex),
    )
    session.add(environment)
    session.flush()
    definition = {"name": "Billing", "nodes": [], "connections": {}, "settings": {}}
    canonical = CanonicalWorkflow(
        tenant_id=tenant_id,
        canonical_slug="billing",
        name="Billing",
        content_hash="v1:" + "0" * 64,
        workflow_definition=definition,
        git_file_path="workflows/billing.json",
    )
    session.add(canonical)
    session.flush()
    mapping = WorkflowEnvMap(
        tenant_id=tenant_id,
        canonical_id=canonical.id,
        environment_id=environment.id,
        n8n_workflow_id="wf-" + uuid.uuid4().hex[:8],
        status=MappingStatus.LINKED,
        env_content_hash="v1:" + "0" * 64,
        git_content_hash="v1:" + "0" * 64,
        base_content_hash="v1:" + "0" * 64,
        workflow_name="Billing",
        workflow_data=definition,
    )
    binding = CredentialBinding(
        tenant_id=tenant_id,
        environment_id=environment.id,
        credential_type="slackApi",
        logical_name="Slack",
        n8n_credential_id="3",
    )
    job = BackgroundJob(
        tenant_id=tenant_id, type="environment.sync", params={}, status=JobStatus.SUCCEEDED
    )
    session.add_all([mapping, binding, job])
    session.flush()
    snapshot = Snapshot(
        tenant_id=tenant_id,
        side=SnapshotSide.ENV,
        mapping_id=mapping.id,
        canonical_id=canonical.id,
        environment_id=environment.id,
        workflow=definition,
        content_hash=canonical.content_hash,
        reason="test",
        created_by="test",
    )
    template = WorkflowTemplate(
        tenant_id=tenant_id,
        slug="tpl-" + uuid.uuid4().hex[:12],
        name="Alert {{ team }}",
        description="",
        parameters=[{"name": "team", "description": "", "default": None, "required": True}],
        definition=definition | {"name": "Alert {{ team }}"},
        git_file_path="workflows/_templates/alert.json",
        git_blob_id="0" * 40,
        git_commit="0" * 40,
    )
    approval = Approval(
        tenant_id=tenant_id,
        kind="apply",
        status=ApprovalStatus.PENDING,
        summary="deploy billing",
        payload={"items": [], "reason": "deploy billing"},
        environment_ids=[str(environment.id)],
        requested_by="someone",
    )
    session.add_all([snapshot, template, approval])
    destination = NotificationDestination(
        tenant_id=tenant_id,
        url="http://127.0.0.1:9/hook",
        kind="generic",
        secret=secrets.seal("whsec-" + uuid.uuid4().hex),
        events=["drift.detected"],
    )
    session.add_all([snapshot, template, destination])
    session.flush()
    session.add(
        NotificationDelivery(
            tenant_id=tenant_id,
            destination_id=destination.id,
            url=destination.url,
            event="drift.detected",
            event_id=uuid.uuid4(),
            job_id=job.id,
            attempt=1,
            status="failed",
            http_status=500,
            error="the receiver answered HTTP 500",
            body_sha256="0" * 64,
        )
    )
    session.flush()
    return World(
        destination=str(destination.id),
        environment=str(environment.id),
        binding=str(binding.id),
        canonical=str(canonical.id),
        mapping=str(mapping.id),
        job=str(job.id),
        snapshot=str(snapshot.id),
        template=template.slug,
        approval=str(approval.id),
    )
