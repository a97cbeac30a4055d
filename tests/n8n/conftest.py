"""Fixtures for the n8n client tests (the n8n fixtures come from the root conftest's
`pytest_plugins = ["tests.support.n8n_fixtures"]`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from canonflow.n8n import N8nClient
from tests.support.n8n import N8nInstance

FAST_RETRIES = {"retries": 2, "backoff_max": 0.05, "timeout": 10.0}


@pytest.fixture
def dev_client(clean_n8n_dev: N8nInstance) -> Iterator[N8nClient]:
    """A client of the emptied dev instance, with quick retries."""
    with N8nClient(clean_n8n_dev.base_url, clean_n8n_dev.api_key, **FAST_RETRIES) as client:
        yield client
