"""A connection test says which n8n major answers and what its key may do there (real n8n:
the suite's version, and 1.123 too through `compat`)."""

from __future__ import annotations

import uuid

import pytest

from canonflow.environments.connection import check_connection
from canonflow.environments.service import EnvironmentAccess
from tests.support.n8n import N8nInstance, is_v1, n8n_version
from tests.support.published import limited_key

pytestmark = pytest.mark.compat


def _access(instance: N8nInstance, api_key: str) -> EnvironmentAccess:
    return EnvironmentAccess(
        environment_id=uuid.uuid4(),
        tenant_id=uuid.uuid4(),
        name="dev",
        base_url=instance.base_url,
        api_key=api_key,
        batch_size=250,
    )


def test_the_connection_test_reports_the_major_and_the_keys_abilities(
    n8n_dev: N8nInstance,
) -> None:
    result = check_connection(_access(n8n_dev, n8n_dev.api_key))
    assert result.ok
    if is_v1(n8n_version()):
        assert (result.n8n_major, result.can_publish, result.can_list_credentials) == (
            1,
            True,
            False,
        )
        assert result.detail == (
            f"connected to {n8n_dev.base_url} (n8n 1.x; credentials are learnt from workflows)"
        )
    else:
        assert (result.n8n_major, result.can_publish, result.can_list_credentials) == (
            2,
            True,
            True,
        )
        assert result.detail == (
            f"connected to {n8n_dev.base_url} (n8n 2.x; the key may publish; may list credentials)"
        )


def test_a_2x_key_without_publish_or_credential_scopes_is_warned_about(
    n8n_dev: N8nInstance,
) -> None:
    if is_v1(n8n_version()):
        pytest.skip("1.x keys carry no scopes")
    key = limited_key(n8n_dev, ["workflow:read", "workflow:list", "workflow:update"])
    result = check_connection(_access(n8n_dev, key))
    assert result.ok and result.n8n_major == 2
    assert result.can_publish is False and result.can_list_credentials is False
    assert "the key cannot publish (workflow:activate)" in result.detail
    assert "a deploy to an active workflow is saved as a draft only" in result.detail
    assert "cannot list credentials (credential:list)" in result.detail
