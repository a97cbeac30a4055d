"""The credential references the database reads out of stored workflows are the ones the
pure `credential_index` reads from the same workflows, on both backends."""

from __future__ import annotations

import itertools
from typing import Any

from canonflow.core.credential_index import credential_index, index_of_references
from canonflow.core.status import MappingStatus
from canonflow.db.engine import transaction
from canonflow.db.models import WorkflowEnvMap
from canonflow.reconcile.cells import credential_references
from canonflow.runtime import Runtime
from tests.matrix.conftest import make_tenancy

_ids = itertools.count()


def _node(**credentials: Any) -> dict[str, Any]:
    return {"name": f"n{next(_ids)}", "type": "x", "credentials": credentials}


WORKFLOWS: list[dict[str, Any]] = [
    {"nodes": [_node(slackApi={"id": "1", "name": "Slack"}), _node()]},
    {
        "nodes": [
            _node(slackApi={"id": "1", "name": "Slack"}, httpBasicAuth={"id": "7", "name": "Basic"})
        ]
    },
    {"nodes": [_node(slackApi={"id": "2", "name": "Slack"})]},  # a second id: ambiguous
    {"nodes": [_node(githubApi={"name": "no id"}), _node(githubApi={"id": 5, "name": "int id"})]},
    {"nodes": [{"name": "odd", "credentials": ["not", "an", "object"]}, "not a node"]},
    {"nodes": "not a list"},
    {"name": "no nodes at all"},
]


def _store(
    runtime: Runtime, env: Any, tenant_id: Any, workflow: dict[str, Any], status: MappingStatus
) -> None:
    with transaction(runtime.sessions) as session:
        session.add(
            WorkflowEnvMap(
                tenant_id=tenant_id,
                environment_id=env,
                n8n_workflow_id=f"w{next(_ids)}",
                status=status,
                workflow_data=workflow,
            )
        )


def test_the_database_reads_the_same_references_as_the_domain(runtime: Runtime) -> None:
    t = make_tenancy(runtime, ("prod", "dev"))
    for workflow in WORKFLOWS:
        _store(runtime, t.envs["prod"], t.tenant_id, workflow, MappingStatus.UNTRACKED)
    gone = {"nodes": [_node(slackApi={"id": "9", "name": "Gone"})]}
    _store(runtime, t.envs["prod"], t.tenant_id, gone, MappingStatus.DELETED)
    elsewhere = {"nodes": [_node(awsApi={"id": "3", "name": "Aws"})]}
    _store(runtime, t.envs["dev"], t.tenant_id, elsewhere, MappingStatus.UNTRACKED)
    other = make_tenancy(runtime, ("prod",))
    _store(runtime, other.envs["prod"], other.tenant_id, elsewhere, MappingStatus.UNTRACKED)

    with transaction(runtime.sessions) as session:
        references = credential_references(session, t.tenant_id, t.envs["prod"])
    assert index_of_references(references) == credential_index(WORKFLOWS)
    index = index_of_references(references)
    assert index.find("httpBasicAuth", "Basic") == "7"
    assert index.ambiguous[("slackApi", "Slack")] == ("1", "2")
    assert ("slackApi", "Gone") not in index.ids and ("awsApi", "Aws") not in index.ids
