"""Template files for tests: a realistic workflow (`make_workflow`) with `{{ name }}`
placeholders in its name and node parameters, and its `canonflow` block."""

from __future__ import annotations

import json
from typing import Any

from tests.support.n8n_fixtures import make_workflow


def make_template(
    name: str = "Alert {{ team }}",
    *,
    parameters: dict[str, dict[str, str]] | None = None,
    description: str = "Alerts for one team",
) -> dict[str, Any]:
    """Manual Trigger → Set (`status` = "for {{ team }} at {{ level }}") → If → HTTP
    Request (url `https://alerts.example.invalid/{{ team }}`)."""
    document = make_workflow(name, 4)
    nodes = {node["name"]: node for node in document["nodes"]}
    nodes["Set"]["parameters"]["assignments"]["assignments"][0]["value"] = (
        "for {{ team }} at {{level}}"
    )
    nodes["HTTP Request"]["parameters"]["url"] = "https://alerts.example.invalid/{{ team }}"
    document["canonflow"] = {
        "description": description,
        "parameters": parameters
        if parameters is not None
        else {
            "team": {"description": "The team to alert"},
            "level": {"description": "Severity", "default": "warning"},
        },
    }
    return document


def template_text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"
