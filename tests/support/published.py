"""Helpers for tests of what an n8n environment runs (publishing on 2.x, activation on
1.x): a webhook workflow that answers with its own version, polling its production URL
(2.x registers and unregisters webhooks asynchronously, a fraction of a second after the
call), and an API key with fewer scopes."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from tests.support.n8n import BROWSER_ID, N8nInstance, _log_in

POLL_S = 5.0  # 2.x moves a webhook ~0.2-0.5 s after a publish; generous on a busy machine


def answering_workflow(name: str, answer: str, path: str | None = None) -> dict[str, Any]:
    """Webhook (POST /webhook/<path>, answers with the last node's JSON) → Set
    `{"version": answer}`: a workflow whose production URL says which version runs."""
    path = path or str(uuid.uuid4())
    webhook = {
        "id": str(uuid.uuid4()),
        "name": "Webhook",
        "type": "n8n-nodes-base.webhook",
        "typeVersion": 2,
        "position": [0, 0],
        "webhookId": path,
        "parameters": {
            "httpMethod": "POST",
            "path": path,
            "responseMode": "lastNode",
            "responseData": "firstEntryJson",
            "options": {},
        },
    }
    assignment = {"id": str(uuid.uuid4()), "name": "version", "value": answer, "type": "string"}
    version = {
        "id": str(uuid.uuid4()),
        "name": "Version",
        "type": "n8n-nodes-base.set",
        "typeVersion": 3.4,
        "position": [220, 0],
        "parameters": {"assignments": {"assignments": [assignment]}, "options": {}},
    }
    return {
        "name": name,
        "nodes": [webhook, version],
        "connections": {"Webhook": {"main": [[{"node": "Version", "type": "main", "index": 0}]]}},
        "settings": {"executionOrder": "v1"},
    }


def hook_url(instance: N8nInstance, workflow: dict[str, Any]) -> str:
    return f"{instance.base_url}/webhook/{workflow['nodes'][0]['parameters']['path']}"


def answer_of(url: str) -> str | None:
    """The version the production URL answers with; None when nothing is registered."""
    response = httpx.post(url, json={}, timeout=10.0)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    version = response.json().get("version")
    return str(version) if version is not None else None


def wait_for_answer(url: str, expected: str | None, timeout: float = POLL_S) -> str | None:
    """Poll `url` until it answers `expected` (None: until it is gone) or `timeout` passes;
    returns the last answer, for the caller to assert on."""
    deadline = time.monotonic() + timeout
    while True:
        answer = answer_of(url)
        if answer == expected or time.monotonic() > deadline:
            return answer
        time.sleep(0.1)


def limited_key(instance: N8nInstance, scopes: list[str]) -> str:
    """A new API key of the instance's owner holding only `scopes` (2.x)."""
    with httpx.Client(
        base_url=instance.base_url, timeout=30.0, headers={"browser-id": BROWSER_ID}
    ) as http:
        _log_in(instance, http)
        created = http.post(
            "/rest/api-keys",
            json={"label": f"limited-{time.time_ns()}", "scopes": scopes, "expiresAt": None},
        )
        created.raise_for_status()
        return str(created.json()["data"]["rawApiKey"])
