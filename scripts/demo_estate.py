"""The demo's n8n estate: what prod and dev hold, and seeding it through n8n's public API.

Prod is the anchor. Dev overlaps it the way a real team's dev instance does:

| kind | count | in prod | in dev |
|---|---|---|---|
| same | 16 | yes | the same workflow |
| drifted | 6 | yes | same name, one parameter changed |
| renamed | 3 | yes | the same body under another name |
| only in dev | 4 | no | yes (one a copy of a workflow dev also has) |
| only in prod | 2 | yes | no |
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

Workflow = dict[str, Any]

SAME = (
    "Order intake",
    "Invoice reminder",
    "Nightly CRM export",
    "Slack incident alert",
    "New signup welcome email",
    "Stripe refund handler",
    "Weekly KPI report",
    "Support ticket triage",
    "Inventory sync",
    "Churn risk digest",
    "GitHub release notes",
    "Calendar booking confirmation",
    "Lead enrichment",
    "Payment failure follow-up",
    "Newsletter import",
    "Data warehouse load",
)
DRIFTED = (
    "Shipping label printer",
    "Partner webhook relay",
    "Expense approval",
    "Uptime monitor",
    "Survey response sync",
    "Customer NPS digest",
)
RENAMED = (
    ("Lead scoring", "Lead scoring v2"),
    ("Contract renewal reminder", "Contract renewals"),
    ("Social media scheduler", "Social scheduler (new)"),
)
# (name, the workflow whose body it copies, that workflow's index in SAME) or (name, None, 0):
# a copy of a workflow that dev already has links to nothing, so its untracked row offers
# the original as "same body under another name"
ONLY_DEV: tuple[tuple[str, str | None, int], ...] = (
    ("Experimental AI summary", None, 0),
    ("Order intake (copy)", "Order intake", SAME.index("Order intake")),
    ("Webhook playground", None, 1),
    ("Draft: quarterly report", None, 2),
)
ONLY_PROD = ("Legacy FTP import", "Year-end archive")

_BUSY_RETRIES = 20


def _slug(name: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in name.lower()).split())


def _id(*parts: str) -> str:
    """A stable id: parameters count in the content hash, so the copies in prod and dev
    must carry the same ids inside them to be the same workflow."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "canonflow-demo/" + "/".join(parts)))


def _node(name: str, type_: str, version: float, parameters: dict[str, Any]) -> Workflow:
    return {
        "id": _id(name, type_),
        "name": name,
        "type": f"n8n-nodes-base.{type_}",
        "typeVersion": version,
        "position": [0, 0],
        "parameters": parameters,
    }


def workflow(name: str, index: int, *, body_of: str | None = None) -> Workflow:
    """A workflow named `name`; its nodes depend on `body_of` (default: the name) and
    `index` only, so two calls with the same body give the same workflow under two names."""
    slug = _slug(body_of or name)
    if index % 3 == 0:
        trigger = _node(
            "Every 6 hours",
            "scheduleTrigger",
            1.2,
            {"rule": {"interval": [{"field": "hours", "hoursInterval": 6}]}},
        )
    else:
        trigger = _node("Manual Trigger", "manualTrigger", 1, {})
    assignment = {"id": _id(slug, "source"), "name": "source", "value": slug, "type": "string"}
    nodes = [
        trigger,
        _node(
            "Set source", "set", 3.4, {"assignments": {"assignments": [assignment]}, "options": {}}
        ),
        _node(
            "Call API",
            "httpRequest",
            4.2,
            {"url": f"https://api.example.com/{slug}", "options": {"timeout": 10000}},
        ),
    ]
    if index % 2 == 0:
        nodes.append(_node("Shape result", "code", 2, {"jsCode": "return $input.all();"}))
    for position, node in enumerate(nodes):
        node["position"] = [position * 220, 0]
    connections = {
        node["name"]: {"main": [[{"node": after["name"], "type": "main", "index": 0}]]}
        for node, after in itertools.pairwise(nodes)
    }
    return {
        "name": name,
        "nodes": nodes,
        "connections": connections,
        "settings": {"executionOrder": "v1"},
    }


def _drift(body: Workflow, index: int) -> Workflow:
    """One parameter edited in dev, a different one per workflow."""
    nodes = {node["name"]: node for node in body["nodes"]}
    api = nodes["Call API"]["parameters"]
    edits: list[Callable[[], None]] = [
        lambda: nodes["Call API"]["parameters"].update(url=f"{api['url']}?page_size=100"),
        lambda: nodes["Call API"]["parameters"]["options"].update(timeout=30000),
        lambda: nodes["Set source"]["parameters"]["assignments"]["assignments"][0].update(
            value="dev-test"
        ),
    ]
    edits[index % len(edits)]()
    return body


def estate() -> tuple[list[Workflow], list[Workflow]]:
    """The bodies to create in prod and in dev."""
    prod: list[Workflow] = []
    dev: list[Workflow] = []
    for index, name in enumerate(SAME):
        prod.append(workflow(name, index))
        dev.append(workflow(name, index))
    for index, name in enumerate(DRIFTED):
        prod.append(workflow(name, index))
        dev.append(_drift(workflow(name, index), index))
    for index, (old, new) in enumerate(RENAMED):
        prod.append(workflow(old, index))
        dev.append(workflow(new, index, body_of=old))
    dev += [workflow(name, index, body_of=copied) for name, copied, index in ONLY_DEV]
    prod += [workflow(name, index) for index, name in enumerate(ONLY_PROD)]
    return prod, dev


def summary() -> str:
    return (
        f"{len(SAME)} the same in both, {len(DRIFTED)} drifted in dev, {len(RENAMED)} renamed "
        f"in dev, {len(ONLY_DEV)} only in dev, {len(ONLY_PROD)} only in prod"
    )


def seed(api_url: str, api_key: str, bodies: list[Workflow]) -> None:
    """Create every body on one instance (its workflows must not exist yet)."""
    with httpx.Client(base_url=api_url, headers={"X-N8N-API-KEY": api_key}, timeout=30) as http:
        for body in bodies:
            _create(http, body)


def _create(http: httpx.Client, body: Workflow) -> None:
    for _ in range(_BUSY_RETRIES):  # n8n's own SQLite can answer SQLITE_BUSY as a 400
        response = http.post("/workflows", json=body)
        if not (response.status_code == 400 and "SQLITE_BUSY" in response.text):
            break
        time.sleep(0.1)
    if response.status_code != 200:
        raise RuntimeError(
            f"n8n refused workflow {body['name']!r}: HTTP {response.status_code} {response.text}"
        )
