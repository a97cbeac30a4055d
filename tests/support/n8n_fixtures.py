"""pytest fixtures and helpers for tests against real n8n.

Registered for the whole suite with `pytest_plugins = ["tests.support.n8n_fixtures"]` in
the root conftest.

| fixture | scope | gives |
|---|---|---|
| `n8n_pair` | session | `N8nPair(dev, prod)`: two instances started in parallel, once per run |
| `n8n_dev`, `n8n_prod` | session | one instance of the pair |
| `clean_n8n_dev`, `clean_n8n_prod` | function | that instance, emptied of workflows and tags |
| `mixed_pair` | session | `N8nPair(dev, prod)` of a fleet mid-upgrade: prod on 1.123, dev on 2.x |
| `clean_mixed_pair` | function | `mixed_pair`, both emptied of workflows and tags |
| `n8n_factory` | session | `start() -> N8nInstance`: a throwaway instance (crash tests) |
| `workflow_factory` | function | `make_workflow` |

The helpers talk to n8n with plain httpx, not with `canonflow.n8n`, so the fixtures do
not depend on the code under test.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, NamedTuple

import httpx
import pytest

from tests.support.n8n import (
    LEGACY_VERSION,
    N8N_VERSION,
    N8nInstance,
    is_v1,
    n8n_version,
    start_many,
    start_n8n,
)

BULK_CONCURRENCY = 4  # n8n creates ~100 workflows/s with 4 clients
_BUSY_RETRIES = 20


class N8nPair(NamedTuple):
    dev: N8nInstance
    prod: N8nInstance


# --- workflow bodies -------------------------------------------------------------------


def make_workflow(
    name: str,
    nodes: int = 5,
    *,
    trigger: Literal["manual", "webhook"] = "manual",
    settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A realistic workflow body accepted by POST /api/v1/workflows: a trigger (a Webhook
    gets its own webhookId and path) then Set, IF, HTTP Request, Code, Set... (`nodes` in
    all); the IF sends its true branch to the next node and its false branch one further."""
    if nodes < 1:
        raise ValueError("a workflow needs at least its trigger node")
    built = [_trigger_node(trigger)]
    kinds = [_set_node, _if_node, _http_node, _code_node]
    for index in range(1, nodes):
        node = kinds[(index - 1) % len(kinds)]()
        round_ = (index - 1) // len(kinds)
        if round_:
            node["name"] = f"{node['name']} {round_ + 1}"
        node["position"] = [index * 220, 0]
        built.append(node)
    connections: dict[str, Any] = {}
    for index, node in enumerate(built[:-1]):
        outputs = [[_link(built[index + 1])]]
        if node["type"] == "n8n-nodes-base.if":
            outputs.append([_link(built[index + 2])] if index + 2 < len(built) else [])
        connections[node["name"]] = {"main": outputs}
    return {
        "name": name,
        "nodes": built,
        "connections": connections,
        "settings": {"executionOrder": "v1", **(settings or {})},
    }


def _node(name: str, type_: str, version: float, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "name": name,
        "type": f"n8n-nodes-base.{type_}",
        "typeVersion": version,
        "position": [0, 0],
        "parameters": parameters,
    }


def _trigger_node(trigger: str) -> dict[str, Any]:
    if trigger == "manual":
        return _node("Manual Trigger", "manualTrigger", 1, {})
    webhook_id = str(uuid.uuid4())
    node = _node("Webhook", "webhook", 2, {"httpMethod": "POST", "path": webhook_id, "options": {}})
    node["webhookId"] = webhook_id  # without it n8n activates but never registers the hook
    return node


def _set_node() -> dict[str, Any]:
    assignment = {"id": str(uuid.uuid4()), "name": "status", "value": "new", "type": "string"}
    return _node("Set", "set", 3.4, {"assignments": {"assignments": [assignment]}, "options": {}})


def _if_node() -> dict[str, Any]:
    condition = {
        "id": str(uuid.uuid4()),
        "leftValue": "={{ $json.status }}",
        "rightValue": "new",
        "operator": {"type": "string", "operation": "equals"},
    }
    options = {"caseSensitive": True, "leftValue": "", "typeValidation": "strict", "version": 2}
    conditions = {"options": options, "conditions": [condition], "combinator": "and"}
    return _node("If", "if", 2.2, {"conditions": conditions, "options": {}})


def _http_node() -> dict[str, Any]:
    return _node("HTTP Request", "httpRequest", 4.2, {"url": "https://example.invalid/orders"})


def _code_node() -> dict[str, Any]:
    return _node("Code", "code", 2, {"jsCode": "return $input.all();"})


def _link(target: dict[str, Any]) -> dict[str, Any]:
    return {"node": target["name"], "type": "main", "index": 0}


# --- bulk helpers (plain httpx) ------------------------------------------------------------


def admin_client(instance: N8nInstance) -> httpx.Client:
    return httpx.Client(
        base_url=instance.api_url,
        headers={"X-N8N-API-KEY": instance.api_key},
        timeout=30.0,
        limits=httpx.Limits(max_connections=BULK_CONCURRENCY, keepalive_expiry=4.0),
    )


def _busy(response: httpx.Response) -> bool:
    """n8n's SQLite is busy, or (2.x) a workflow is still being unpublished: try again."""
    return (response.status_code == 400 and "SQLITE_BUSY" in response.text) or (
        response.status_code == 409 and "still being unpublished" in response.text
    )


def _send(http: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request, retried while n8n is busy; raises on any other error."""
    for attempt in range(_BUSY_RETRIES):
        response = http.request(method, path, **kwargs)
        if not _busy(response):
            response.raise_for_status()
            return response
        time.sleep(0.05 * (attempt + 1))
    response.raise_for_status()
    return response


def bulk_create(
    instance: N8nInstance,
    bodies: Sequence[dict[str, Any]],
    *,
    concurrency: int = BULK_CONCURRENCY,
) -> list[dict[str, Any]]:
    """Create every body (in parallel); returns the created workflows in input order."""
    with admin_client(instance) as http, ThreadPoolExecutor(concurrency) as pool:
        return list(
            pool.map(lambda body: _send(http, "POST", "/workflows", json=body).json(), bodies)
        )


def create_workflows(
    instance: N8nInstance, count: int, *, prefix: str = "workflow", nodes: int = 3
) -> list[dict[str, Any]]:
    """`count` workflows named `<prefix> 0001`..., created in parallel."""
    bodies = [make_workflow(f"{prefix} {i:04d}", nodes) for i in range(1, count + 1)]
    return bulk_create(instance, bodies)


def _all(http: httpx.Client, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 250}
    while True:
        page = _send(http, "GET", path, params=params).json()
        items += page["data"]
        if not page.get("nextCursor"):
            return items
        params["cursor"] = page["nextCursor"]


def wipe(instance: N8nInstance) -> None:
    """Delete every workflow (archived ones too), tag and (2.x) credential, restarting the
    instance first if a test killed it. 2.x refuses to delete a published workflow:
    deactivate active ones first."""
    if not instance.is_running():
        instance.restart()
    with admin_client(instance) as http, ThreadPoolExecutor(BULK_CONCURRENCY) as pool:
        workflows = _all(http, "/workflows")
        active = [item["id"] for item in workflows if item.get("active")]
        list(pool.map(lambda id_: _send(http, "POST", f"/workflows/{id_}/deactivate"), active))
        ids = [item["id"] for item in workflows]
        list(pool.map(lambda id_: _send(http, "DELETE", f"/workflows/{id_}"), ids))
        tags = [item["id"] for item in _all(http, "/tags")]
        list(pool.map(lambda id_: _send(http, "DELETE", f"/tags/{id_}"), tags))
        # 2.x lists credentials, and canonflow binds by that listing: a test's credential
        # left behind would make the next one's name ambiguous (1.x cannot list: 405)
        if http.get("/credentials", params={"limit": 1}).status_code == 200:
            credentials = [item["id"] for item in _all(http, "/credentials")]
            list(pool.map(lambda id_: _send(http, "DELETE", f"/credentials/{id_}"), credentials))


def _discard(instance: N8nInstance) -> None:
    instance.stop()
    shutil.rmtree(instance.data_dir / ".cache", ignore_errors=True)  # n8n's 76 MB UI copy


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def n8n_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[N8nPair]:
    dev, prod = start_many(2, tmp_path_factory.mktemp("n8n"), names=("dev", "prod"))
    try:
        yield N8nPair(dev, prod)
    finally:
        _discard(dev)
        _discard(prod)


@pytest.fixture(scope="session")
def n8n_dev(n8n_pair: N8nPair) -> N8nInstance:
    return n8n_pair.dev


@pytest.fixture(scope="session")
def n8n_prod(n8n_pair: N8nPair) -> N8nInstance:
    return n8n_pair.prod


@pytest.fixture
def clean_n8n_dev(n8n_dev: N8nInstance) -> N8nInstance:
    wipe(n8n_dev)
    return n8n_dev


@pytest.fixture
def clean_n8n_prod(n8n_prod: N8nInstance) -> N8nInstance:
    wipe(n8n_prod)
    return n8n_prod


def upgraded_version() -> str:
    """The 2.x of a mixed fleet: the suite's version, or the pin when the suite runs 1.x."""
    return N8N_VERSION if is_v1(n8n_version()) else n8n_version()


@pytest.fixture(scope="session")
def mixed_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[N8nPair]:
    """A fleet mid-upgrade: prod still on 1.123 (LEGACY_VERSION), dev already on 2.x."""
    dev, prod = start_many(
        2,
        tmp_path_factory.mktemp("n8n-mixed"),
        names=("dev", "prod"),
        versions=(upgraded_version(), LEGACY_VERSION),
    )
    try:
        yield N8nPair(dev, prod)
    finally:
        _discard(dev)
        _discard(prod)


@pytest.fixture
def clean_mixed_pair(mixed_pair: N8nPair) -> N8nPair:
    wipe(mixed_pair.dev)
    wipe(mixed_pair.prod)
    return mixed_pair


@pytest.fixture(scope="session")
def n8n_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[], N8nInstance]]:
    """`start()` starts a throwaway instance of the test's own; all stop at session end."""
    started: list[N8nInstance] = []

    def start() -> N8nInstance:
        instance = start_n8n(tmp_path_factory.mktemp("n8n-own"))
        started.append(instance)
        return instance

    try:
        yield start
    finally:
        for instance in started:
            _discard(instance)


@pytest.fixture
def workflow_factory() -> Callable[..., dict[str, Any]]:
    return make_workflow
