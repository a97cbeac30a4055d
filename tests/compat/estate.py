"""One estate for the cross-version tests: a dozen varied workflows (sizes, triggers, custom
settings, a disabled node, notes) plus an active webhook workflow with credential
references, created the same way on n8n 1.123 and 2.x."""

from __future__ import annotations

import copy
from typing import Any

from tests.support.n8n import N8nInstance
from tests.support.n8n_fixtures import _send, admin_client, bulk_create, make_workflow

CREDENTIAL = {"name": "Orders API", "type": "httpHeaderAuth"}
WEBHOOK_NAME = "Compat Orders Webhook"


def estate_bodies() -> list[dict[str, Any]]:
    """The bodies, with `credentials` references whose id is a placeholder (`for_instance`
    fills in each instance's own credential id)."""
    bodies = [
        make_workflow("Compat 01 single trigger", 1),
        make_workflow("Compat 02 two nodes", 2),
        make_workflow("Compat 03 three nodes", 3, settings={"timezone": "Europe/Berlin"}),
        make_workflow("Compat 04 five nodes", 5, settings={"callerPolicy": "any"}),
        make_workflow("Compat 05 eight nodes", 8),
        make_workflow("Compat 06 thirteen nodes", 13, settings={"executionTimeout": 300}),
        make_workflow("Compat 07 twenty-one nodes", 21),
        make_workflow("Compat 08 webhook", 4, trigger="webhook"),
        make_workflow(
            "Compat 09 quiet",
            3,
            settings={
                "saveDataErrorExecution": "none",
                "saveDataSuccessExecution": "none",
                "saveManualExecutions": False,
                "saveExecutionProgress": False,
            },
        ),
        make_workflow("Compat 10 no settings", 4) | {"settings": {}},
        make_workflow("Compat 11 legacy order", 6, settings={"executionOrder": "v0"}),
    ]
    disabled = make_workflow("Compat 12 disabled node and notes", 5)
    disabled["nodes"][2]["disabled"] = True
    disabled["nodes"][3]["notes"] = "checks the order status"
    disabled["nodes"][3]["notesInFlow"] = True
    disabled["nodes"][4]["onError"] = "continueRegularOutput"
    bodies.append(disabled)

    webhook = make_workflow(
        WEBHOOK_NAME,
        6,
        trigger="webhook",
        settings={"timezone": "America/New_York", "saveManualExecutions": True},
    )
    http = next(node for node in webhook["nodes"] if node["type"] == "n8n-nodes-base.httpRequest")
    http["parameters"] = {
        "url": "https://example.invalid/orders",
        "authentication": "genericCredentialType",
        "genericAuthType": "httpHeaderAuth",
        "options": {},
    }
    http["credentials"] = {"httpHeaderAuth": {"id": "<credential>", "name": CREDENTIAL["name"]}}
    bodies.append(webhook)
    return bodies


def for_instance(bodies: list[dict[str, Any]], credential_id: str) -> list[dict[str, Any]]:
    """A copy of `bodies` whose credential references carry `credential_id`."""
    copies = copy.deepcopy(bodies)
    for body in copies:
        for node in body["nodes"]:
            for reference in node.get("credentials", {}).values():
                reference["id"] = credential_id
    return copies


def create_credential(instance: N8nInstance) -> str:
    body = CREDENTIAL | {"data": {"name": "X-Api-Key", "value": "not-a-secret"}}
    with admin_client(instance) as http:
        created: str = _send(http, "POST", "/credentials", json=body).json()["id"]
    return created


def seed(instance: N8nInstance, bodies: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Create the estate on `instance` (its own credential, the webhook workflow active);
    returns the created workflows by name."""
    created = bulk_create(instance, for_instance(bodies, create_credential(instance)))
    by_name = {workflow["name"]: workflow for workflow in created}
    with admin_client(instance) as http:
        _send(http, "POST", f"/workflows/{by_name[WEBHOOK_NAME]['id']}/activate")
    return by_name
