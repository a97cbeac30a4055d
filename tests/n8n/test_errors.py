"""Readable, typed errors: a rejected key, a closed port, a base URL that is not n8n."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from canonflow.n8n import N8nClient, N8nNotFound, N8nUnauthorized, N8nUnreachable
from tests.n8n.conftest import FAST_RETRIES
from tests.support.n8n import N8nInstance, free_port

WRONG_KEY = "wrong-key-0123456789abcdef"


def test_a_wrong_key_is_unauthorized_and_never_shown(n8n_dev: N8nInstance) -> None:
    with N8nClient(n8n_dev.base_url, WRONG_KEY, **FAST_RETRIES) as client:
        assert WRONG_KEY not in repr(client)
        with pytest.raises(N8nUnauthorized) as caught:
            client.check()
    error = caught.value
    # n8n's own detail is "unauthorized" on 1.x and "Unauthorized" on 2.x
    prefix = f"n8n at {n8n_dev.base_url} rejected the API key (HTTP 401: "
    suffix = "); check the environment's API key"
    assert error.message.startswith(prefix) and error.message.endswith(suffix), error.message
    assert error.message[len(prefix) : -len(suffix)].lower() == "unauthorized"
    assert error.status == 401
    assert error.attempts == 1  # not retried
    assert WRONG_KEY not in str(error) and "\n" not in str(error)


def test_a_closed_port_is_unreachable_after_retries(n8n_dev: N8nInstance) -> None:
    base_url = f"http://127.0.0.1:{free_port()}"
    with (
        N8nClient(base_url, n8n_dev.api_key, **FAST_RETRIES) as client,
        capture_logs() as logs,
        pytest.raises(N8nUnreachable) as caught,
    ):
        client.check()
    error = caught.value
    assert error.attempts == 3
    assert error.message.startswith(f"n8n at {base_url} is unreachable while trying to list")
    assert "gave up after 3 attempts" in error.message
    assert [log["attempt"] for log in logs] == [1, 2]
    assert n8n_dev.api_key not in repr(logs) + str(error)


def test_a_wrong_base_path_is_not_found_in_one_readable_line(n8n_dev: N8nInstance) -> None:
    base_url = f"{n8n_dev.base_url}/n8n"
    with (
        N8nClient(base_url, n8n_dev.api_key, retries=0) as client,
        pytest.raises(N8nNotFound) as caught,
    ):
        client.check()
    assert caught.value.message == (
        f"n8n at {base_url} could not list workflows: not found "
        "(HTTP 404: an HTML error page: Cannot GET /n8n/api/v1/workflows)"
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://127.0.0.1:5678/", "http://127.0.0.1:5678"),
        ("http://127.0.0.1:5678/api/v1/", "http://127.0.0.1:5678"),
        ("https://n8n.example.com/team/", "https://n8n.example.com/team"),
    ],
)
def test_base_urls_are_normalized(given: str, expected: str) -> None:
    with N8nClient(given, "key") as client:
        assert client.base_url == expected


@pytest.mark.parametrize(
    ("base_url", "api_key"), [("ftp://host", "key"), ("not a url", "key"), ("http://h", " ")]
)
def test_bad_configuration_is_refused(base_url: str, api_key: str) -> None:
    with pytest.raises(ValueError):
        N8nClient(base_url, api_key)
