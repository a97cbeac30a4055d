"""Environment flows. Services flush; the caller commits. Every write is audited."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from canonflow import audit
from canonflow.crypto import SecretBox
from canonflow.db.models import Environment
from canonflow.db.types import utcnow
from canonflow.egress import entry as egress_entry
from canonflow.environments import repository, scheduling, windows
from canonflow.environments.schemas import EnvironmentCreate, EnvironmentRead, EnvironmentUpdate
from canonflow.errors import Conflict, NotFound
from canonflow.tenancy.service import Principal


@dataclass(frozen=True)
class EnvironmentAccess:
    """What it takes to talk to one environment's n8n, read outside any transaction."""

    environment_id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    base_url: str
    api_key: str
    batch_size: int

    def __repr__(self) -> str:
        return f"EnvironmentAccess(name={self.name!r}, base_url={self.base_url!r})"


def get_or_raise(session: Session, tenant_id: uuid.UUID, environment_id: uuid.UUID) -> Environment:
    environment = repository.get(session, tenant_id, environment_id)
    if environment is None:
        raise NotFound(f"no environment {environment_id}")
    return environment


def get_by_name_or_raise(session: Session, tenant_id: uuid.UUID, name: str) -> Environment:
    environment = repository.get_by_name(session, tenant_id, name)
    if environment is None:
        raise NotFound(f"no environment named {name!r}")
    return environment


def create(
    session: Session,
    secrets: SecretBox,
    principal: Principal,
    data: EnvironmentCreate,
    *,
    min_interval_s: int,
) -> Environment:
    scheduling.check_interval(data.sync_interval_s, min_interval_s)
    if repository.get_by_name(session, principal.tenant_id, data.name) is not None:
        raise Conflict(f"an environment named {data.name!r} already exists")
    egress_entry.check_http_url("base_url", data.base_url)
    if data.is_anchor:
        repository.clear_anchor(session, principal.tenant_id)
    environment = Environment(
        tenant_id=principal.tenant_id,
        name=data.name,
        kind=data.kind,
        base_url=data.base_url,
        api_key=secrets.seal(data.api_key.get_secret_value()),
        is_anchor=data.is_anchor,
        batch_size=data.batch_size,
        sync_interval_s=data.sync_interval_s,
        paused=data.paused,
        promotion_order=data.promotion_order,
        protected=data.protected,
        sync_windows=[w.model_dump(mode="json") for w in data.sync_windows],
    )
    session.add(environment)
    session.flush()
    environment.next_sync_at = scheduling.next_slot(
        environment.id, environment.sync_interval_s, environment.paused
    )
    session.flush()
    _audit(
        session, principal, "environment.create", environment, data.model_dump(exclude={"api_key"})
    )
    return environment


def update(
    session: Session,
    secrets: SecretBox,
    principal: Principal,
    environment_id: uuid.UUID,
    data: EnvironmentUpdate,
    *,
    min_interval_s: int,
) -> Environment:
    environment = get_or_raise(session, principal.tenant_id, environment_id)
    changes = {k: v for k, v in data.model_dump(exclude_unset=True).items() if v is not None}
    if "promotion_order" in data.model_fields_set:  # null leaves the promotion order
        changes["promotion_order"] = data.promotion_order
    if data.sync_windows is not None:
        changes["sync_windows"] = [w.model_dump(mode="json") for w in data.sync_windows]
    if "sync_interval_s" in changes:
        scheduling.check_interval(changes["sync_interval_s"], min_interval_s)
    _check_base_url(environment, changes.get("base_url"), changes.get("api_key") is not None)
    renamed = changes.get("name") not in (None, environment.name)
    if renamed and repository.get_by_name(session, principal.tenant_id, changes["name"]):
        raise Conflict(f"an environment named {changes['name']!r} already exists")
    if changes.get("is_anchor"):
        repository.clear_anchor(session, principal.tenant_id)
        session.flush()
    api_key = changes.pop("api_key", None)
    if api_key is not None:
        environment.api_key = secrets.seal(api_key.get_secret_value())
    for field, value in changes.items():
        setattr(environment, field, value)
    if {"sync_interval_s", "paused"} & changes.keys():
        environment.next_sync_at = scheduling.next_slot(
            environment.id, environment.sync_interval_s, environment.paused
        )
    session.flush()
    audited = dict(changes.items()) | ({"api_key": "rotated"} if api_key else {})
    _audit(session, principal, "environment.update", environment, audited)
    return environment


def _check_base_url(environment: Environment, base_url: str | None, key_sent: bool) -> None:
    """A new base_url passes the egress policy, and takes the API key to another origin
    only when the key is entered again."""
    if base_url is None:
        return
    egress_entry.check_http_url("base_url", base_url)
    egress_entry.require_secret_for_new_origin(
        field="base_url",
        old=environment.base_url,
        new=base_url,
        resend="api_key",
        has_stored=True,
        sent=key_sent,
    )


def delete(session: Session, principal: Principal, environment_id: uuid.UUID) -> None:
    """Remove an environment and its mappings (canonical workflows stay)."""
    environment = get_or_raise(session, principal.tenant_id, environment_id)
    _audit(session, principal, "environment.delete", environment, {"name": environment.name})
    session.delete(environment)
    session.flush()


def read_all(
    session: Session, tenant_id: uuid.UUID, environments: list[Environment]
) -> list[EnvironmentRead]:
    """Environments as the API shows them, each with its last sync."""
    last = scheduling.last_syncs(session, tenant_id, (e.id for e in environments))
    now = utcnow()
    return [
        EnvironmentRead.model_validate(e).model_copy(
            update={"last_sync": last.get(e.id), "window": windows.window_read(e, now)}
        )
        for e in environments
    ]


def read(session: Session, environment: Environment) -> EnvironmentRead:
    return read_all(session, environment.tenant_id, [environment])[0]


def access(session: Session, secrets: SecretBox, environment: Environment) -> EnvironmentAccess:
    return EnvironmentAccess(
        environment_id=environment.id,
        tenant_id=environment.tenant_id,
        name=environment.name,
        base_url=environment.base_url,
        api_key=secrets.open(environment.api_key),
        batch_size=environment.batch_size,
    )


def _audit(
    session: Session,
    principal: Principal,
    action: str,
    environment: Environment,
    details: dict[str, Any],
) -> None:
    audit.record_by(
        session,
        principal,
        action=action,
        target_type="environment",
        target_id=str(environment.id),
        details={k: (v.value if hasattr(v, "value") else v) for k, v in details.items()},
    )
