"""The client's 1.x/2.x branches, answered by an in-process fake (httpx.MockTransport) that
replays the status codes and messages real n8n 1.123.81 and 2.40.7 send (see
docs/n8n-versions.md); test_versions.py runs the same calls against real servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import orjson
import pytest

from canonflow.n8n import (
    N8nArchived,
    N8nClient,
    N8nFlavour,
    N8nInvalidResponse,
    N8nInvalidStructure,
    N8nPublished,
    N8nRejected,
    N8nSavedNotPublished,
    N8nStillUnpublishing,
    N8nUnauthorized,
    N8nUnsupported,
)
from canonflow.n8n import transport as transport_module

BASE = "http://n8n.test"
ALL_SCOPES = ["workflow:update", "workflow:activate", "workflow:delete", "credential:list"]
Answer = Callable[[httpx.Request], httpx.Response]


def discover(scopes: list[str] | None) -> httpx.Response:
    """/discover as 2.x answers it (scopes given), or 1.x's 404 (None)."""
    if scopes is None:
        return httpx.Response(404, json={"message": "Not Found"})
    return httpx.Response(200, json={"data": {"scopes": scopes, "resources": {}, "filters": {}}})


def message(status: int, text: str) -> httpx.Response:
    return httpx.Response(status, json={"message": text})


@contextmanager
def fake(
    scopes: list[str] | None,
    routes: dict[str, Answer | list[httpx.Response]],
    **options: Any,
) -> Iterator[tuple[N8nClient, list[str]]]:
    """A client whose server answers `routes` ("METHOD /path" → an answer, or responses
    given in turn); `seen` records "METHOD /path?query" of every request."""
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v1")
        query = f"?{request.url.query.decode()}" if request.url.query else ""
        seen.append(f"{request.method} {path}{query}")
        if path == "/discover":
            return discover(scopes)
        route = routes.get(f"{request.method} {path}")
        if route is None:
            return message(404, "Not Found")
        if isinstance(route, list):
            return route.pop(0)
        return route(request)

    transport = httpx.MockTransport(answer)
    options = {"retries": 3, "backoff_max": 0.01, **options}
    with N8nClient(BASE, "k3y", transport=transport, **options) as client:
        yield client, seen


def workflow(**fields: Any) -> httpx.Response:
    return httpx.Response(200, json={"id": "w1", **fields})


def test_flavour_is_asked_once_and_cached() -> None:
    with fake(ALL_SCOPES, {}) as (client, seen):
        first = client.flavour()
        assert client.flavour() is first
    assert first == N8nFlavour(major=2, scopes=frozenset(ALL_SCOPES))
    assert first.can_publish and first.can_list_credentials
    assert seen == ["GET /discover"]


def test_a_404_on_discover_is_1x_which_publishes_but_lists_no_credentials() -> None:
    with fake(None, {}) as (client, _):
        flavour = client.flavour()
    assert flavour == N8nFlavour(major=1, scopes=None)
    assert flavour.can_publish and not flavour.can_list_credentials


def test_a_rejected_key_on_discover_raises_as_any_call() -> None:
    transport = httpx.MockTransport(lambda _: message(401, "Unauthorized"))
    with N8nClient(BASE, "k3y", transport=transport) as client, pytest.raises(N8nUnauthorized):
        client.flavour()


def test_a_discover_answer_without_scopes_is_invalid() -> None:
    transport = httpx.MockTransport(lambda _: httpx.Response(200, json={"data": {}}))
    with (
        N8nClient(BASE, "k3y", transport=transport) as client,
        pytest.raises(N8nInvalidResponse, match="unexpected response to discover"),
    ):
        client.flavour()


def test_publish_and_unpublish_use_2x_routes_and_1x_activation() -> None:
    routes: dict[str, Any] = {
        "POST /workflows/w1/publish": lambda r: workflow(active=True, body=orjson.loads(r.content)),
        "POST /workflows/w1/unpublish": lambda _: workflow(active=False),
        "POST /workflows/w1/activate": lambda _: workflow(active=True),
        "POST /workflows/w1/deactivate": lambda _: workflow(active=False),
    }
    with fake(ALL_SCOPES, routes) as (client, seen):
        assert client.publish_workflow("w1", "v9")["body"] == {"versionId": "v9"}
        assert client.unpublish_workflow("w1")["active"] is False
    assert seen[1:] == ["POST /workflows/w1/publish", "POST /workflows/w1/unpublish"]
    with fake(None, routes) as (client, seen):
        assert client.publish_workflow("w1", "v9")["active"] is True
        assert client.unpublish_workflow("w1")["active"] is False
    assert seen[1:] == ["POST /workflows/w1/activate", "POST /workflows/w1/deactivate"]


def test_archiving_is_2x_only() -> None:
    routes: dict[str, Any] = {
        "POST /workflows/w1/archive": lambda _: workflow(isArchived=True),
        "POST /workflows/w1/unarchive": lambda _: workflow(isArchived=False),
    }
    with fake(ALL_SCOPES, routes) as (client, _):
        assert client.archive_workflow("w1")["isArchived"] is True
        assert client.unarchive_workflow("w1")["isArchived"] is False
    with fake(None, routes) as (client, seen):
        with pytest.raises(N8nUnsupported, match=r"cannot archive workflow w1: n8n 1\.x's public"):
            client.archive_workflow("w1")
        with pytest.raises(N8nUnsupported):
            client.unarchive_workflow("w1")
    assert seen == ["GET /discover"]  # nothing else was sent


def test_publish_if_active_false_is_sent_to_2x_only() -> None:
    routes: dict[str, Any] = {"PUT /workflows/w1": lambda _: workflow()}
    with fake(ALL_SCOPES, routes) as (client, seen):
        client.update_workflow("w1", {"name": "a"})
        client.update_workflow("w1", {"name": "a"}, publish_if_active=False)
    assert seen == ["PUT /workflows/w1", "GET /discover", "PUT /workflows/w1?publishIfActive=false"]
    unsupported = pytest.raises(N8nUnsupported, match="save a draft without publishing")
    with fake(None, routes) as (client, seen), unsupported:
        client.update_workflow("w1", {"name": "a"}, publish_if_active=False)
    assert seen == ["GET /discover"]


def test_a_403_on_put_is_saved_not_published_when_the_key_lacks_only_the_publish_scope() -> None:
    forbidden = message(403, "Forbidden")
    routes: dict[str, Any] = {"PUT /workflows/w1": lambda _: forbidden}
    may_update = ["workflow:update", "workflow:read"]
    with fake(may_update, routes) as (client, _), pytest.raises(N8nSavedNotPublished) as caught:
        client.update_workflow("w1", {"name": "a"})
    assert caught.value.workflow_id == "w1" and caught.value.status == 403
    assert "saved workflow w1 as a draft but did not publish it" in caught.value.message
    assert "still runs its previous version" in caught.value.message
    # a key that may not update at all: nothing was saved, a plain rejection
    with fake(["workflow:read"], routes) as (client, _), pytest.raises(N8nRejected) as rejected:
        client.update_workflow("w1", {"name": "a"})
    assert not isinstance(rejected.value, N8nSavedNotPublished)
    with fake(None, routes) as (client, _), pytest.raises(N8nRejected) as on_1x:
        client.update_workflow("w1", {"name": "a"})
    assert not isinstance(on_1x.value, N8nSavedNotPublished)


def test_delete_of_a_published_2x_workflow_unpublishes_then_retries_the_transient_409() -> None:
    published = message(409, "Cannot delete a published workflow. Unpublish it before deleting.")
    busy = message(409, "Workflow is still being unpublished. Please try again in a few moments.")
    routes: dict[str, Any] = {
        "DELETE /workflows/w1": [published, busy, busy, httpx.Response(200, json={"id": "w1"})],
        "POST /workflows/w1/unpublish": lambda _: workflow(active=False),
    }
    with fake(ALL_SCOPES, routes) as (client, seen):
        client.delete_workflow("w1")
    assert seen == [
        "DELETE /workflows/w1",
        "GET /discover",
        "POST /workflows/w1/unpublish",
        "DELETE /workflows/w1",
        "DELETE /workflows/w1",
        "DELETE /workflows/w1",
    ]


STILL_UNPUBLISHING = message(
    409, "Workflow is still being unpublished. Please try again in a few moments."
)


@pytest.fixture
def quick_settle_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Polls of a settling state every 10 ms instead of 0.1 s doubling to 1 s."""
    monkeypatch.setattr(transport_module, "_SETTLE_FIRST_WAIT", 0.01)
    monkeypatch.setattr(transport_module, "_SETTLE_MAX_WAIT", 0.01)


@pytest.mark.usefixtures("quick_settle_polls")
def test_still_unpublishing_is_polled_on_a_time_budget_not_the_retry_count() -> None:
    """CI saw 2.x take longer to unpublish than three quick retries: the 409 is waited out
    for `settle_timeout`, however few retries the client has for contention."""
    answers = [STILL_UNPUBLISHING] * 8 + [httpx.Response(200, json={"id": "w1"})]
    routes: dict[str, Any] = {"DELETE /workflows/w1": answers}
    with fake(ALL_SCOPES, routes, retries=1, settle_timeout=30.0) as (client, seen):
        client.delete_workflow("w1")
    assert seen.count("DELETE /workflows/w1") == 9


@pytest.mark.usefixtures("quick_settle_polls")
def test_still_unpublishing_gives_up_readably_when_its_time_is_up() -> None:
    routes: dict[str, Any] = {"DELETE /workflows/w1": lambda _: STILL_UNPUBLISHING}
    with (
        fake(ALL_SCOPES, routes, retries=0, settle_timeout=0.2) as (client, seen),
        pytest.raises(N8nStillUnpublishing) as caught,
    ):
        client.delete_workflow("w1")
    attempts = seen.count("DELETE /workflows/w1")
    assert attempts > 1  # retries=0: only the time budget sent it again
    assert caught.value.message == (
        f"n8n at {BASE} could not delete workflow w1: the workflow is still being unpublished "
        f"(HTTP 409) (gave up after {attempts} attempts)"
    )
    assert not caught.value.may_have_applied


def test_a_settle_timeout_of_zero_asks_once() -> None:
    routes: dict[str, Any] = {"DELETE /workflows/w1": lambda _: STILL_UNPUBLISHING}
    with (
        fake(ALL_SCOPES, routes, settle_timeout=0.0) as (client, seen),
        pytest.raises(N8nStillUnpublishing),
    ):
        client.delete_workflow("w1")
    assert seen.count("DELETE /workflows/w1") == 1


def test_2x_refusals_are_typed_and_readable() -> None:
    archived = message(400, "Cannot update an archived workflow.")
    structure = message(
        400,
        "Workflow structure is invalid. nodes[2].name (duplicate_node_name): "
        'Duplicate node name "A"',
    )
    other_409 = message(409, "There is a conflict with one of the webhooks.")
    routes: dict[str, Any] = {
        "PUT /workflows/w1": [archived, structure],
        "POST /workflows/w1/activate": [message(400, "Cannot activate an archived workflow.")],
        "POST /workflows/w1/publish": [other_409],
        "DELETE /workflows/w1": [
            message(409, "Cannot delete a published workflow. Unpublish it before deleting.")
        ],
    }
    with fake(None, routes) as (client, _):
        with pytest.raises(N8nArchived, match="the workflow is archived in n8n; unarchive it"):
            client.update_workflow("w1", {})
        with pytest.raises(N8nInvalidStructure) as structure_error:
            client.update_workflow("w1", {})
        with pytest.raises(N8nArchived, match="could not activate workflow w1"):
            client.activate_workflow("w1")
    assert structure_error.value.message == (
        f"n8n at {BASE} could not update workflow w1: n8n refuses the workflow's structure: "
        'nodes[2].name (duplicate_node_name): Duplicate node name "A" (HTTP 400)'
    )
    with fake(ALL_SCOPES, routes) as (client, _), pytest.raises(N8nRejected) as conflict:
        client.publish_workflow("w1")
    assert type(conflict.value) is N8nRejected  # an unknown 409 stays a plain rejection
    assert "conflict with one of the webhooks. (HTTP 409)" in conflict.value.message


def test_a_published_409_on_1x_would_not_loop() -> None:
    """Only 2.x sends it; if a server sends it twice the second one is raised, typed."""
    published = message(409, "Cannot delete a published workflow. Unpublish it before deleting.")
    routes: dict[str, Any] = {
        "DELETE /workflows/w1": lambda _: published,
        "POST /workflows/w1/unpublish": lambda _: workflow(active=False),
    }
    with fake(ALL_SCOPES, routes) as (client, _), pytest.raises(N8nPublished):
        client.delete_workflow("w1")


def test_credentials_are_listed_on_2x_with_the_scope_page_by_page() -> None:
    pages = [
        httpx.Response(
            200, json={"data": [{"id": "c1", "name": "A", "type": "t"}], "nextCursor": "p2"}
        ),
        httpx.Response(200, json={"data": [{"id": "c2", "name": "B", "type": "t"}]}),
    ]
    with fake(ALL_SCOPES, {"GET /credentials": pages}) as (client, seen):
        listed = client.list_credentials(limit=1)
    assert [c["id"] for c in listed or []] == ["c1", "c2"]
    assert seen == [
        "GET /discover",
        "GET /credentials?limit=1",
        "GET /credentials?limit=1&cursor=p2",
    ]
    with fake(["workflow:read"], {}) as (client, seen):
        assert client.list_credentials() is None
    with fake(None, {}) as (client, seen):
        assert client.list_credentials() is None
    assert seen == ["GET /discover"]
