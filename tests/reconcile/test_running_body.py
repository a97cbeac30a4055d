"""What an n8n workflow runs (`reconcile.deploying.running_body`): 2.x's published version
when a draft is pending, else the workflow as listed (1.x, inactive, no draft)."""

from __future__ import annotations

from typing import Any

from canonflow.core.hashing import content_hash
from canonflow.reconcile.deploying import running_body, running_hash
from tests.support.n8n_fixtures import make_workflow


def _listed(**fields: Any) -> dict[str, Any]:
    return {"id": "w1", "versionId": "v2", **make_workflow("Flow", 3), **fields}


def test_a_pending_draft_runs_its_published_nodes_under_the_top_level_name() -> None:
    published = make_workflow("ignored", 2)
    workflow = _listed(active=True, activeVersionId="v1", activeVersion=published)
    running = running_body(workflow)
    assert running["nodes"] == published["nodes"]
    assert running["connections"] == published["connections"]
    assert running["name"] == "Flow" and running["settings"] == workflow["settings"]
    assert running_hash(workflow, {}) == content_hash({**workflow, **published, "name": "Flow"})
    assert running_hash(workflow, {}) != content_hash(workflow)


def test_without_a_pending_draft_the_workflow_runs_what_it_holds() -> None:
    published = make_workflow("other", 2)
    for workflow in (
        _listed(active=True, activeVersionId="v2", activeVersion=published),  # published
        _listed(active=False, activeVersionId=None, activeVersion=None),  # 2.x inactive
        _listed(active=False, activeVersionId="v1", activeVersion=published),  # unpublished
        _listed(active=True),  # 1.x without the fields
        _listed(active=True, activeVersionId="v1", activeVersion={"nodes": None}),  # malformed
    ):
        assert running_body(workflow) is workflow
