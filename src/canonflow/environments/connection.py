"""Test an environment's connection: can canonflow list its workflows with its key, which
n8n major answers, and may the key publish and list credentials there?"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session, sessionmaker

from canonflow.crypto import SecretBox
from canonflow.db.engine import read_transaction
from canonflow.environments import service
from canonflow.environments.schemas import ConnectionResult
from canonflow.environments.service import EnvironmentAccess
from canonflow.n8n import N8nClient, N8nError, N8nFlavour


def check_environment(
    sessions: sessionmaker[Session],
    secrets: SecretBox,
    tenant_id: uuid.UUID,
    environment_id: uuid.UUID,
) -> ConnectionResult:
    """Read the environment in a snapshot that ends before n8n is asked: no transaction is
    held while a remote answers (or times out)."""
    with read_transaction(sessions) as session:
        environment = service.get_or_raise(session, tenant_id, environment_id)
        access = service.access(session, secrets, environment)
    return check_connection(access)


def check_connection(access: EnvironmentAccess, *, retries: int = 1) -> ConnectionResult:
    try:
        with N8nClient(access.base_url, access.api_key, timeout=10.0, retries=retries) as client:
            client.check()
            flavour = client.flavour()
    except N8nError as exc:
        return ConnectionResult(ok=False, detail=exc.message)
    return ConnectionResult(
        ok=True,
        detail=f"connected to {access.base_url} ({describe(flavour)})",
        n8n_major=flavour.major,
        can_publish=flavour.can_publish,
        can_list_credentials=flavour.can_list_credentials,
    )


def describe(flavour: N8nFlavour) -> str:
    """One line: the major and what the key may do that matters to canonflow."""
    if flavour.major < 2:
        return "n8n 1.x; credentials are learnt from workflows"
    publish = (
        "the key may publish"
        if flavour.can_publish
        else "the key cannot publish (workflow:activate): a deploy to an active workflow "
        "is saved as a draft only"
    )
    credentials = (
        "may list credentials"
        if flavour.can_list_credentials
        else "cannot list credentials (credential:list): they are learnt from workflows"
    )
    return f"n8n {flavour.major}.x; {publish}; {credentials}"
