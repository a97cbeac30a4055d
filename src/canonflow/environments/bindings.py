"""Credential bindings: the explicit answer, per environment, to "which n8n credential is
`<type>` named `<name>` here?" where the name does not exist, or not once, in that
environment's own workflows (n8n 1.x cannot list credentials). Deploys prefer a binding to
what they learn from the environment's workflows. Writes are audited; the caller commits."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from canonflow import audit
from canonflow.db.models import CredentialBinding
from canonflow.environments import service as environments
from canonflow.errors import NotFound
from canonflow.tenancy.service import Principal


class BindingPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credential_type: str = Field(min_length=1, max_length=200, examples=["slackApi"])
    name: str = Field(min_length=1, max_length=500, description="the name Git files use")
    n8n_credential_id: str = Field(min_length=1, max_length=100)
    note: str | None = Field(default=None, max_length=2000)


class BindingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    environment_id: uuid.UUID
    credential_type: str
    name: str = Field(validation_alias="logical_name")
    n8n_credential_id: str
    note: str | None


def list_bindings(
    session: Session, principal: Principal, environment_id: uuid.UUID
) -> list[CredentialBinding]:
    environments.get_or_raise(session, principal.tenant_id, environment_id)
    return list(
        session.scalars(
            select(CredentialBinding)
            .where(
                CredentialBinding.tenant_id == principal.tenant_id,
                CredentialBinding.environment_id == environment_id,
            )
            .order_by(CredentialBinding.credential_type, CredentialBinding.logical_name)
        )
    )


def put_binding(
    session: Session, principal: Principal, environment_id: uuid.UUID, data: BindingPut
) -> CredentialBinding:
    """Create the binding of (type, name), or point it at another credential."""
    environments.get_or_raise(session, principal.tenant_id, environment_id)
    binding = session.scalars(
        select(CredentialBinding).where(
            CredentialBinding.tenant_id == principal.tenant_id,
            CredentialBinding.environment_id == environment_id,
            CredentialBinding.credential_type == data.credential_type,
            CredentialBinding.logical_name == data.name,
        )
    ).one_or_none()
    if binding is None:
        binding = CredentialBinding(
            tenant_id=principal.tenant_id,
            environment_id=environment_id,
            credential_type=data.credential_type,
            logical_name=data.name,
            n8n_credential_id=data.n8n_credential_id,
        )
        session.add(binding)
    binding.n8n_credential_id, binding.note = data.n8n_credential_id, data.note
    session.flush()
    _audit(session, principal, "credential_binding.put", binding)
    return binding


def delete_binding(
    session: Session, principal: Principal, environment_id: uuid.UUID, binding_id: uuid.UUID
) -> None:
    binding = session.scalars(
        select(CredentialBinding).where(
            CredentialBinding.tenant_id == principal.tenant_id,
            CredentialBinding.environment_id == environment_id,
            CredentialBinding.id == binding_id,
        )
    ).one_or_none()
    if binding is None:
        raise NotFound(f"no credential binding {binding_id} in environment {environment_id}")
    _audit(session, principal, "credential_binding.delete", binding)
    session.delete(binding)
    session.flush()


def _audit(session: Session, principal: Principal, action: str, binding: CredentialBinding) -> None:
    audit.record_by(
        session,
        principal,
        action=action,
        target_type="credential_binding",
        target_id=str(binding.id),
        details={
            "environment_id": str(binding.environment_id),
            "credential_type": binding.credential_type,
            "name": binding.logical_name,
            "n8n_credential_id": binding.n8n_credential_id,
        },
    )
