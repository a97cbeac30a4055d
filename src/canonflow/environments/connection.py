"""Test an environment's connection: can canonflow list its workflows with its key?"""

from __future__ import annotations

from canonflow.environments.schemas import ConnectionResult
from canonflow.environments.service import EnvironmentAccess
from canonflow.n8n import N8nClient, N8nError


def check_connection(access: EnvironmentAccess, *, retries: int = 1) -> ConnectionResult:
    try:
        with N8nClient(access.base_url, access.api_key, timeout=10.0, retries=retries) as client:
            client.check()
    except N8nError as exc:
        return ConnectionResult(ok=False, detail=exc.message)
    return ConnectionResult(ok=True, detail=f"connected to {access.base_url}")
