"""A canonical definition hashes as its n8n original does, references resolved."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from canonflow.core.definitions import canonical_definition
from canonflow.core.git_layout import render_workflow_file
from canonflow.core.hashing import content_hash, digest_documents


def _workflow(name: str, target: str, error_workflow: str) -> dict[str, Any]:
    return {
        "id": "abc123",
        "name": name,
        "active": True,
        "versionId": "v-1",
        "nodes": [
            {
                "id": "n1",
                "name": "Start",
                "type": "n8n-nodes-base.manualTrigger",
                "typeVersion": 1,
                "position": [0, 0],
                "parameters": {},
            },
            {
                "id": "n2",
                "name": "Call",
                "type": "n8n-nodes-base.executeWorkflow",
                "typeVersion": 1.2,
                "position": [200, 0],
                "parameters": {"workflowId": {"__rl": True, "mode": "id", "value": target}},
                "credentials": {"httpBasicAuth": {"id": "c9", "name": "Shared"}},
            },
        ],
        "connections": {"Start": {"main": [[{"node": "Call", "type": "main", "index": 0}]]}},
        "settings": {"executionOrder": "v1", "errorWorkflow": error_workflow},
    }


def test_references_become_slugs_and_hashes_agree() -> None:
    workflow = _workflow("Parent", "id-child", "id-errors")
    refs = {"id-child": "child", "id-errors": "error-handler"}
    definition = canonical_definition(workflow, refs)
    call = definition.document["nodes"][1]
    assert call["parameters"]["workflowId"]["value"] == "slug:child"
    assert definition.document["settings"]["errorWorkflow"] == "slug:error-handler"
    assert call["credentials"] == {"httpBasicAuth": {"name": "Shared"}}
    assert "id" not in definition.document and "id" not in call
    assert definition.unresolved_refs == frozenset()
    # the environment's hash (ids resolved by the map) equals the file's (slugs as they are)
    assert definition.content_hash == content_hash(workflow, refs)
    [digest] = digest_documents([render_workflow_file(definition.document)])
    assert digest.content_hash == definition.content_hash
    assert workflow["nodes"][1]["parameters"]["workflowId"]["value"] == "id-child"  # not mutated


def test_unknown_reference_is_kept_and_reported() -> None:
    definition = canonical_definition(_workflow("P", "id-nowhere", "id-errors"), {})
    assert definition.document["nodes"][1]["parameters"]["workflowId"]["value"] == "id-nowhere"
    assert definition.unresolved_refs == {"id-nowhere", "id-errors"}


@given(
    name=st.text(min_size=1, max_size=30),
    target=st.text(alphabet="abcdef0123456789", min_size=1, max_size=12),
)
def test_file_round_trip_keeps_the_hash(name: str, target: str) -> None:
    workflow = _workflow(name, target, target)
    definition = canonical_definition(workflow, {target: "the-target"})
    [digest] = digest_documents([render_workflow_file(definition.document)])
    assert (
        digest.content_hash
        == definition.content_hash
        == content_hash(workflow, {target: "the-target"})
    )


def test_a_known_hash_is_used_only_without_references() -> None:
    plain = _workflow("Plain", "x", "y")
    plain["nodes"] = plain["nodes"][:1]
    plain["settings"] = {"executionOrder": "v1"}
    plain["connections"] = {}
    assert canonical_definition(plain, {}, known_hash="v1:given").content_hash == "v1:given"
    calling = _workflow("Calls", "id-child", "id-errors")
    recomputed = canonical_definition(calling, {"id-child": "c"}, known_hash="v1:given")
    assert recomputed.content_hash == content_hash(calling, {"id-child": "c"})
