"""Retries and failures, through a fault-injecting proxy in front of a real n8n."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from structlog.testing import capture_logs

from canonflow.n8n import (
    N8nClient,
    N8nInvalidResponse,
    N8nNotFound,
    N8nServerError,
    N8nUnreachable,
)
from tests.n8n.conftest import FAST_RETRIES
from tests.support.n8n import N8nInstance
from tests.support.n8n_fixtures import create_workflows
from tests.support.proxy import FaultProxy, ProxyRequest

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def proxy(clean_n8n_dev: N8nInstance) -> Iterator[FaultProxy]:
    with FaultProxy(clean_n8n_dev.base_url) as proxy:
        yield proxy


@pytest.fixture
def proxied(proxy: FaultProxy, clean_n8n_dev: N8nInstance) -> Iterator[N8nClient]:
    with N8nClient(proxy.base_url, clean_n8n_dev.api_key, **FAST_RETRIES) as client:
        yield client


def outcomes(proxy: FaultProxy) -> list[str]:
    return [r.outcome for r in proxy.requests_seen]


def test_server_errors_are_retried_until_n8n_answers(
    proxy: FaultProxy, proxied: N8nClient, clean_n8n_dev: N8nInstance
) -> None:
    proxy.fail_next(2, 503, body=b"upstream down")
    with capture_logs() as logs:
        proxied.check()
    assert outcomes(proxy) == ["failed 503", "failed 503", "forwarded"]
    assert len(logs) == 2
    assert clean_n8n_dev.api_key not in repr(logs)


def test_too_many_server_errors_give_up(proxy: FaultProxy, proxied: N8nClient) -> None:
    proxy.fail_next(3, 500, JSON, b'{"message": "boom"}')
    with pytest.raises(N8nServerError, match=r"HTTP 500: boom\) \(gave up after 3 attempts"):
        proxied.check()


def test_retry_after_is_honoured(proxy: FaultProxy, clean_n8n_dev: N8nInstance) -> None:
    proxy.fail_next(1, 429, {"Retry-After": "1"})
    with (
        N8nClient(proxy.base_url, clean_n8n_dev.api_key, retries=1, backoff_max=5) as client,
        capture_logs() as logs,
    ):
        client.check()
    first, second = proxy.requests_seen
    assert (first.outcome, second.outcome) == ("failed 429", "forwarded")
    assert [log["wait_s"] for log in logs] == [1.0]
    assert second.at - first.at >= 1.0


def test_a_dropped_connection_is_unreachable(proxy: FaultProxy, proxied: N8nClient) -> None:
    proxy.drop_after(1)
    proxied.check()
    with pytest.raises(N8nUnreachable, match="closed without a complete response"):
        proxied.check()
    assert outcomes(proxy) == ["forwarded", "dropped", "dropped", "dropped"]


def test_a_create_is_not_retried_once_it_may_have_reached_n8n(
    proxy: FaultProxy, proxied: N8nClient, workflow_factory: Callable[..., dict[str, Any]]
) -> None:
    proxy.drop_after(0)
    with pytest.raises(N8nUnreachable) as caught:
        proxied.create_workflow(workflow_factory("maybe created"))
    assert caught.value.may_have_applied and caught.value.attempts == 1
    proxy.reset()
    proxy.fail_next(1, 502)
    with pytest.raises(N8nServerError):
        proxied.create_workflow(workflow_factory("maybe created"))
    assert outcomes(proxy) == ["failed 502"]


def test_a_create_is_retried_when_n8n_surely_did_not_act(
    proxy: FaultProxy, proxied: N8nClient, workflow_factory: Callable[..., dict[str, Any]]
) -> None:
    proxy.fail_next(1, 400, JSON, b'{"message": "SQLITE_BUSY: database is locked"}')
    proxy.fail_next(1, 429)
    created = proxied.create_workflow(workflow_factory("created once"))
    assert outcomes(proxy) == ["failed 400", "failed 429", "forwarded"]
    assert [w["id"] for w in proxied.list_workflows()] == [created["id"]]


def test_a_delete_retried_after_an_ambiguous_failure_accepts_not_found(
    proxy: FaultProxy, proxied: N8nClient
) -> None:
    proxy.fail_next(1, 503)
    proxied.delete_workflow("alreadyGone12345")  # the 503 may have hidden a deletion
    assert outcomes(proxy) == ["failed 503", "forwarded"]
    with pytest.raises(N8nNotFound):
        proxied.delete_workflow("alreadyGone12345")


def test_a_cursor_that_repeats_stops_the_listing(proxy: FaultProxy, proxied: N8nClient) -> None:
    looping = b'{"data": [{"id": "a"}], "nextCursor": "same"}'
    proxy.fail_next(2, 200, JSON, looping)
    pages = proxied.iter_workflow_pages(limit=1)
    assert next(pages).next_cursor == "same"
    with pytest.raises(N8nInvalidResponse, match="page 2 repeats an earlier cursor"):
        next(pages)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"<html>hello</html>", "not JSON"),
        (b'{"items": []}', 'expected an object with a "data" list'),
        (b'{"data": [{"name": "no id"}]}', 'string "id"'),
        (b'{"data": [], "nextCursor": 7}', "neither a string nor null"),
        (b'{"data": [{"id": "a"}, {"id": "b"}]}', "2 items on a page of at most 1"),
    ],
)
def test_a_malformed_page_is_an_invalid_response(
    proxy: FaultProxy, proxied: N8nClient, body: bytes, detail: str
) -> None:
    proxy.fail_next(1, 200, JSON, body)
    with pytest.raises(N8nInvalidResponse, match=detail):
        list(proxied.iter_workflow_pages(limit=1))


def test_n8n_killed_between_two_pages(
    n8n_factory: Callable[[], N8nInstance],
) -> None:
    n8n = n8n_factory()
    created = {w["id"] for w in create_workflows(n8n, 5)}

    def kill_on_second_page(request: ProxyRequest) -> None:
        if "cursor=" in request.path:
            n8n.kill()

    with (
        FaultProxy(n8n.base_url) as proxy,
        N8nClient(proxy.base_url, n8n.api_key, **FAST_RETRIES) as client,
    ):
        proxy.on_request(kill_on_second_page)
        pages = client.iter_workflow_pages(limit=2)
        assert len(next(pages).workflows) == 2
        with pytest.raises(N8nUnreachable, match="gave up after 3 attempts"):
            next(pages)
        assert outcomes(proxy)[1:] == ["upstream unreachable"] * 3

    key, port = n8n.api_key, n8n.port
    n8n.restart()
    assert (n8n.api_key, n8n.port, n8n.is_running()) == (key, port, True)
    with N8nClient(n8n.base_url, n8n.api_key) as client:
        assert {w["id"] for w in client.list_workflows()} == created
