"""`referenced_ids`: the ids a workflow names are all a diff needs looked up."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.core.test_deploy_round_trip import SLUGS, dev_workflow

from canonflow.core.definitions import referenced_ids
from canonflow.core.normalize import normalize

DEV_IDS = {slug: f"Dev{slug.title()}Id" for slug in SLUGS}
EVERY_ID = {workflow_id: slug for slug, workflow_id in DEV_IDS.items()} | {
    f"Other{n}": f"other-{n}" for n in range(50)
}


@settings(max_examples=200)
@given(dev_workflow(DEV_IDS))
def test_the_map_narrowed_to_the_named_ids_normalizes_the_same(workflow: dict[str, Any]) -> None:
    named = referenced_ids(workflow)
    narrowed = {key: value for key, value in EVERY_ID.items() if key in named}
    assert normalize(workflow, narrowed) == normalize(workflow, EVERY_ID)
    assert named <= set(DEV_IDS.values())


@given(st.sampled_from(["n8n-nodes-base.set", "n8n-nodes-base.webhook"]))
def test_a_workflow_that_names_none_needs_no_lookup(node_type: str) -> None:
    workflow = {"nodes": [{"type": node_type, "parameters": {"workflowId": "X"}}]}
    assert referenced_ids(workflow) == frozenset()


def test_each_place_a_reference_lives_is_found() -> None:
    workflow = {
        "nodes": [
            {"type": "n8n-nodes-base.executeWorkflow", "parameters": {"workflowId": "A"}},
            {
                "type": "@n8n/n8n-nodes-langchain.toolWorkflow",
                "parameters": {"workflowId": {"__rl": True, "value": "B", "mode": "list"}},
            },
            {
                "type": "n8n-nodes-base.executeWorkflow",
                "parameters": {"workflowId": {"__rl": True, "value": "/workflow/C", "mode": "url"}},
            },
            {"type": "n8n-nodes-base.executeWorkflow", "parameters": {"workflowId": "={{ 1 }}"}},
        ],
        "settings": {"errorWorkflow": "D", "callerIds": "E, F"},
    }
    assert referenced_ids(workflow) == {"A", "B", "C", "D", "E", "F"}
