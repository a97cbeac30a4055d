"""The Git file layout: stable, reviewable, importable, and hash-preserving."""

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from canonflow.core.git_layout import (
    file_document,
    render_workflow_file,
    slug_of_path,
    workflow_file_path,
)
from canonflow.core.hashing import content_hash

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "order_intake.dev.json").read_text())


def test_paths() -> None:
    assert workflow_file_path("workflows", "billing") == "workflows/billing.json"
    assert workflow_file_path("/n8n/flows/", "x") == "n8n/flows/x.json"
    assert workflow_file_path("", "x") == "x.json"
    assert slug_of_path("workflows/billing.json") == "billing"
    assert slug_of_path("billing.json") == "billing"


def test_volatile_fields_and_credential_ids_are_dropped() -> None:
    document = file_document(FIXTURE)
    assert set(document) <= {"name", "description", "nodes", "connections", "settings"}
    for node in document["nodes"]:
        assert "id" not in node and "webhookId" not in node
        for credential in node.get("credentials", {}).values():
            assert set(credential) == {"name"}
    assert any(node.get("credentials") for node in document["nodes"])


def test_the_file_is_stable_pretty_json_with_a_trailing_newline() -> None:
    rendered = render_workflow_file(FIXTURE)
    assert rendered.endswith(b"}\n") and not rendered.endswith(b"\n\n")
    assert rendered == render_workflow_file(json.loads(rendered))
    text = rendered.decode()
    assert '\n  "connections": ' in text
    assert list(json.loads(text)) == sorted(json.loads(text))


def test_writing_a_workflow_to_git_keeps_its_content_hash() -> None:
    assert content_hash(json.loads(render_workflow_file(FIXTURE))) == content_hash(FIXTURE)


names = st.text(min_size=1, max_size=30)


@given(names, st.dictionaries(st.text(max_size=5), st.integers(), max_size=3))
def test_round_trip_keeps_the_hash_for_generated_workflows(
    name: str, parameters: dict[str, int]
) -> None:
    workflow = {
        "id": "abc",
        "versionId": "v",
        "active": True,
        "name": name,
        "nodes": [
            {
                "id": "n1",
                "name": "Start",
                "type": "n8n-nodes-base.manualTrigger",
                "typeVersion": 1,
                "position": [0, 0],
                "parameters": parameters,
            },
        ],
        "connections": {},
        "settings": {"executionOrder": "v1"},
    }
    assert content_hash(json.loads(render_workflow_file(workflow))) == content_hash(workflow)
