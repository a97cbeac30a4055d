"""Realistic n8n workflows as the public API lists them, for the hashing benchmark.

A mix of the node kinds real workflows hold: triggers, Set, IF, HTTP Request with
credentials, Code, Google Sheets and Slack with resource locators (cached names and URLs),
Postgres, Merge, sticky notes; float type versions, a few nulls, unicode text, an IF whose
outputs feed several nodes. `padding` lengthens the code and notes to reach a target size.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

import orjson

# Node kinds, in the order a workflow cycles through them after its trigger.
_KINDS = ("set", "if", "http", "code", "sheets", "slack", "postgres", "merge", "sticky")


def listed_workflow(rng: random.Random, nodes: int, padding: int) -> dict[str, Any]:
    """One workflow as `GET /api/v1/workflows` gives it, with `nodes` nodes."""
    built = [_webhook(rng)]
    for index in range(1, nodes):
        node = _MAKERS[_KINDS[(index - 1) % len(_KINDS)]](rng, padding)
        node["name"] = f"{node['name']} {index}"
        node["id"] = str(uuid.UUID(int=rng.getrandbits(128)))
        node["position"] = [index * 220, rng.choice([0, 0, 180, -180])]
        built.append(node)
    day, minute = rng.randint(0, 9), rng.randint(0, 59)
    stamp = f"2026-11-2{day}T10:{minute:02d}:00.000Z"
    return {
        "id": "".join(
            rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz0123456789")
            for _ in range(16)
        ),
        "name": f"Order intake {rng.randint(1, 99999)} — café 数据",
        "active": rng.random() < 0.5,
        "isArchived": False,
        "createdAt": stamp,
        "updatedAt": stamp,
        "versionId": str(uuid.UUID(int=rng.getrandbits(128))),
        "triggerCount": 1,
        "nodes": built,
        "connections": _connections(built),
        "settings": {
            "executionOrder": "v1",
            "saveManualExecutions": True,
            "callerPolicy": "workflowsFromSameOwner",
            "timezone": "Europe/Berlin",
        },
        "staticData": None,
        "meta": {"templateCredsSetupCompleted": True},
        "pinData": {},
        "tags": [{"id": "t1", "name": "orders", "createdAt": stamp, "updatedAt": stamp}],
        "shared": [{"role": "workflow:owner", "projectId": "p" * 16, "createdAt": stamp}],
    }


def workflow_bytes(seed: int, nodes: int, padding: int) -> bytes:
    return orjson.dumps(listed_workflow(random.Random(seed), nodes, padding))


def _connections(built: list[dict[str, Any]]) -> dict[str, Any]:
    connections: dict[str, Any] = {}
    for index, node in enumerate(built[:-1]):
        following = [_link(built[index + 1])]
        if node["type"] == "n8n-nodes-base.if":
            parallel = [_link(target) for target in built[index + 2 : index + 4]]
            connections[node["name"]] = {"main": [following + parallel, [], None]}
        else:
            connections[node["name"]] = {"main": [following]}
    return connections


def _link(target: dict[str, Any]) -> dict[str, Any]:
    return {"node": target["name"], "type": "main", "index": 0}


def _node(name: str, kind: str, version: float | int, parameters: dict[str, Any]) -> dict[str, Any]:
    return {"parameters": parameters, "name": name, "type": kind, "typeVersion": version}


def _webhook(rng: random.Random) -> dict[str, Any]:
    hook = str(uuid.UUID(int=rng.getrandbits(128)))
    node = _node("Webhook", "n8n-nodes-base.webhook", 2, {"httpMethod": "POST", "path": hook})
    node |= {"id": hook, "position": [0, 0], "webhookId": hook}
    node["parameters"]["options"] = {"rawBody": False}
    return node


def _set(rng: random.Random, padding: int) -> dict[str, Any]:
    assignments = [
        {"id": str(uuid.UUID(int=rng.getrandbits(128))), "name": f"field_{i}",
         "value": f"={{{{ $json.order.items[{i}].sku }}}}", "type": "string"}
        for i in range(3 + padding // 150)
    ]  # fmt: skip
    assignments.append({"id": "n", "name": "ratio", "value": 0.25, "type": "number"})
    return _node(
        "Set fields",
        "n8n-nodes-base.set",
        3.4,
        {"assignments": {"assignments": assignments}, "options": {"dotNotation": None}},
    )


def _if(rng: random.Random, padding: int) -> dict[str, Any]:
    condition = {
        "id": str(uuid.UUID(int=rng.getrandbits(128))),
        "leftValue": "={{ $json.total }}",
        "rightValue": 1000,
        "operator": {"type": "number", "operation": "gt"},
    }
    options = {"caseSensitive": True, "leftValue": "", "typeValidation": "strict", "version": 2}
    parameters = {"conditions": {"options": options, "conditions": [condition]}, "options": {}}
    return _node("Is big order?", "n8n-nodes-base.if", 2.2, parameters)


def _http(rng: random.Random, padding: int) -> dict[str, Any]:
    node = _node(
        "Call API",
        "n8n-nodes-base.httpRequest",
        4.2,
        {
            "method": "POST",
            "url": "https://api.example.invalid/v2/orders",
            "authentication": "genericCredentialType",
            "genericAuthType": "httpHeaderAuth",
            "sendBody": True,
            "specifyBody": "json",
            "jsonBody": '={\n  "order": {{ JSON.stringify($json) }},\n  "note": "ü"\n}',
            "options": {"timeout": 10000, "batching": {"batch": {"batchSize": 50}}},
        },
    )
    node["credentials"] = {"httpHeaderAuth": {"id": "c" + str(rng.randint(1, 99)), "name": "API"}}
    node |= {
        "retryOnFail": True,
        "maxTries": 3,
        "waitBetweenTries": 1500,
        "onError": "continueRegularOutput",
    }
    return node


def _code(rng: random.Random, padding: int) -> dict[str, Any]:
    line = "  item.json.total = item.json.lines.reduce((s, l) => s + l.qty * l.price, 0);\n"
    code = "for (const item of $input.all()) {\n" + line * (1 + padding // len(line)) + "}\n"
    return _node(
        "Compute totals", "n8n-nodes-base.code", 2, {"jsCode": code + "return $input.all();"}
    )


def _locator(mode: str, value: str, name: str) -> dict[str, Any]:
    return {
        "__rl": True,
        "value": value,
        "mode": mode,
        "cachedResultName": name,
        "cachedResultUrl": f"https://docs.example.invalid/d/{value}/edit",
    }


def _sheets(rng: random.Random, padding: int) -> dict[str, Any]:
    schema = [
        {"id": column, "displayName": column, "required": False, "defaultMatch": False,
         "display": True, "type": "string", "canBeUsedToMatch": True, "removed": False}
        for column in ("order_id", "customer", "total", "état")
    ]  # fmt: skip
    document = "1" + "".join(rng.choice("abcdefghijXYZ0123456789_-") for _ in range(43))
    node = _node(
        "Append to sheet",
        "n8n-nodes-base.googleSheets",
        4.5,
        {
            "operation": "append",
            "documentId": _locator("list", document, "Orders 2026"),
            "sheetName": _locator("list", "gid=0", "Sheet1"),
            "columns": {
                "mappingMode": "defineBelow",
                "value": {c["id"]: f"={{{{ $json.{c['id']} }}}}" for c in schema},
                "matchingColumns": [],
                "schema": schema,
            },
            "options": {},
        },
    )
    node["credentials"] = {"googleSheetsOAuth2Api": {"id": "g1", "name": "Google Sheets"}}
    return node


def _slack(rng: random.Random, padding: int) -> dict[str, Any]:
    node = _node(
        "Notify sales",
        "n8n-nodes-base.slack",
        2.3,
        {
            "select": "channel",
            "channelId": _locator("list", "C0" + str(rng.randint(10**8, 10**9)), "#sales"),
            "text": "=New big order {{ $json.order_id }} 🚀 — total {{ $json.total }} €",
            "otherOptions": {"includeLinkToWorkflow": False},
        },
    )
    node["credentials"] = {"slackApi": {"id": "s1", "name": "Slack bot"}}
    node["notes"] = None
    return node


def _postgres(rng: random.Random, padding: int) -> dict[str, Any]:
    node = _node(
        "Store order",
        "n8n-nodes-base.postgres",
        2.5,
        {
            "operation": "executeQuery",
            "query": "INSERT INTO orders (id, customer, total) VALUES ($1, $2, $3)\n"
            "ON CONFLICT (id) DO UPDATE SET total = EXCLUDED.total;",
            "options": {"queryReplacement": "={{ $json.order_id }},{{ $json.customer }}"},
        },
    )
    node["credentials"] = {"postgres": {"id": "p1", "name": "Orders DB"}}
    node["alwaysOutputData"] = False
    return node


def _merge(rng: random.Random, padding: int) -> dict[str, Any]:
    return _node("Merge", "n8n-nodes-base.merge", 3, {"mode": "combine", "options": {}})


def _sticky(rng: random.Random, padding: int) -> dict[str, Any]:
    text = "## Orders\nThis part enriches the order — prix en €, 数据 checked. " * (
        1 + padding // 200
    )
    parameters = {"content": text, "height": 240, "width": 420.5, "color": 5}
    return _node("Sticky Note", "n8n-nodes-base.stickyNote", 1, parameters)


_MAKERS = {
    "set": _set,
    "if": _if,
    "http": _http,
    "code": _code,
    "sheets": _sheets,
    "slack": _slack,
    "postgres": _postgres,
    "merge": _merge,
    "sticky": _sticky,
}


def padding_for(nodes: int, target_bytes: int) -> int:
    """The padding that brings a workflow of `nodes` nodes closest to `target_bytes`."""
    low, high = 0, 200_000
    while low < high:
        middle = (low + high) // 2
        if len(workflow_bytes(0, nodes, middle)) < target_bytes:
            low = middle + 1
        else:
            high = middle
    return low
