"""Recording what deploys wrote, one write path for every deploy (real n8n, real Git): the
Git side as it is now, the env hash's rule version, status events, and a workflow created
where its mapping was missing takes that mapping's place."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select, update

from canonflow.core.hashing import HASH_VERSION
from canonflow.core.status import MappingStatus
from canonflow.core.sync_state import SyncState
from canonflow.db.engine import transaction
from canonflow.db.models import AuditEntry, StatusEvent, WorkflowEnvMap
from tests.reconcile.conftest import Linked, set_value


def _deploy(linked: Linked, slug: str, where: str) -> dict[str, Any]:
    response: httpx.Response = linked.client.post(
        f"/api/v1/canonical/workflows/{linked.canonical(slug).id}/deploy",
        json={"environment_id": str(linked.env_id(where))},
        headers=linked.headers,
    )
    assert response.status_code == 202, response.text
    job = linked.wait(response.json()["job_id"])
    assert job["status"] == "succeeded", job
    return job


def test_a_deploy_in_place_records_the_git_side_as_it_is_now(linked: Linked) -> None:
    linked.edit_in_git("billing", set_value("v2"), "Billing v2")
    linked.repo_sync()
    canonical = linked.canonical("billing")
    before = linked.mapping("billing", "prod")
    with transaction(linked.e.runtime.sessions) as session:  # a Git side the mapping lost
        session.execute(
            update(WorkflowEnvMap)
            .where(WorkflowEnvMap.id == before.id)
            .values(git_content_hash="v1:" + "0" * 64, env_hash_version=None)
        )
    _deploy(linked, "billing", "prod")
    after = linked.mapping("billing", "prod")
    assert after.id == before.id and after.n8n_workflow_id == before.n8n_workflow_id
    assert after.git_content_hash == canonical.content_hash
    assert after.env_content_hash == after.base_content_hash == canonical.content_hash
    assert after.env_hash_version == HASH_VERSION
    assert linked.state("billing", "prod") is SyncState.IN_SYNC
    with transaction(linked.e.runtime.sessions) as session:
        audited = session.scalars(
            select(AuditEntry.target_id).where(AuditEntry.action == "workflow.deploy")
        ).all()
    assert audited == [str(before.id)]


def test_a_deploy_that_recreates_a_missing_workflow_takes_its_place(linked: Linked) -> None:
    old = linked.mapping("billing", "dev")
    with linked.n8n("dev") as http:
        http.delete(f"/workflows/{old.n8n_workflow_id}").raise_for_status()
    linked.sync("dev")
    assert linked.mapping("billing", "dev").status is MappingStatus.MISSING
    _deploy(linked, "billing", "dev")
    new = linked.mapping("billing", "dev")  # the canonical's mapping in dev now
    assert new.id != old.id and new.n8n_workflow_id != old.n8n_workflow_id
    assert (new.status, new.present) == (MappingStatus.LINKED, True)
    assert linked.state("billing", "dev") is SyncState.IN_SYNC
    canonical_id = linked.canonical("billing").id
    with transaction(linked.e.runtime.sessions) as session:
        replaced = session.get(WorkflowEnvMap, old.id)
        assert replaced is not None
        assert (replaced.status, replaced.canonical_id, replaced.released_canonical_id) == (
            MappingStatus.MISSING,
            None,
            canonical_id,
        )
        events = session.execute(
            select(StatusEvent.mapping_id, StatusEvent.from_status, StatusEvent.to_status)
            .where(StatusEvent.canonical_id == canonical_id)
            .order_by(StatusEvent.at)
        ).all()
    assert [tuple(e) for e in events][-2:] == [
        (old.id, MappingStatus.LINKED, MappingStatus.MISSING),
        (new.id, None, MappingStatus.LINKED),
    ]
    page = linked.client.get(
        "/api/v1/workflows/matrix", params={"q": "Billing"}, headers=linked.headers
    ).json()
    [row] = page["workflows"]
    assert row["environments"][str(linked.env_id("dev"))]["mapping_id"] == str(new.id)
    linked.sync("dev")  # the next sync agrees: nothing missing, nothing new
    assert linked.mapping("billing", "dev").id == new.id
