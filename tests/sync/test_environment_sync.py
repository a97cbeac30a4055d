"""Environment sync against a real n8n: DESIGN section 3 transitions and section 6 rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select, update

from canonflow.core.hashing import content_hash
from canonflow.core.status import MappingStatus
from canonflow.db.engine import transaction
from canonflow.db.models import CanonicalWorkflow, StatusEvent, WorkflowEnvMap
from canonflow.errors import Unavailable
from canonflow.runtime import Runtime
from tests.support.n8n import N8nInstance
from tests.sync.conftest import EnvUnderTest, add_environment
from tests.sync.n8n_cli import import_workflow

Create = Callable[..., dict[str, Any]]


def test_new_workflows_appear_untracked_and_a_second_sync_writes_nothing(
    dev_env: EnvUnderTest, create_in_n8n: Create
) -> None:
    made = [create_in_n8n(dev_env, f"Flow {i}") for i in range(3)]
    first = dev_env.sync()
    assert (first.complete, first.seen, first.created, first.missing) == (True, 3, 3, 0)
    rows = dev_env.mappings()
    assert set(rows) == {wf["id"] for wf in made}
    for wf in made:
        row = rows[wf["id"]]
        assert row.status is MappingStatus.UNTRACKED and row.canonical_id is None
        assert row.workflow_name == wf["name"]
        assert row.env_content_hash == content_hash(wf)
        assert row.workflow_data is not None and row.workflow_data["nodes"]
    stamps = {key: row.updated_at for key, row in rows.items()}

    second = dev_env.sync()
    assert (second.created, second.updated, second.unchanged, second.missing) == (0, 0, 3, 0)
    assert {key: row.updated_at for key, row in dev_env.mappings().items()} == stamps
    runs = dev_env.runs()
    assert [run.complete for run in runs] == [True, True]
    assert runs[0].created == 3 and runs[1].unchanged == 3 and runs[1].error is None


@pytest.mark.compat
def test_a_deleted_workflow_goes_missing_and_comes_back(
    dev_env: EnvUnderTest, create_in_n8n: Create
) -> None:
    keep, gone = create_in_n8n(dev_env, "Keep"), create_in_n8n(dev_env, "Gone")
    dev_env.sync()
    with dev_env.n8n_http() as http:
        exported = http.get(f"/workflows/{gone['id']}").json()
        http.delete(f"/workflows/{gone['id']}").raise_for_status()
    result = dev_env.sync()
    assert result.missing == 1
    rows = dev_env.mappings()
    assert rows[gone["id"]].status is MappingStatus.MISSING
    assert rows[keep["id"]].status is MappingStatus.UNTRACKED

    import_workflow(dev_env.n8n, exported)  # same id again, as a restore from backup does
    back = dev_env.sync()
    assert (back.created, back.missing) == (0, 0)
    assert dev_env.mappings()[gone["id"]].status is MappingStatus.UNTRACKED
    with transaction(dev_env.runtime.sessions) as session:
        moves = session.execute(
            select(StatusEvent.from_status, StatusEvent.to_status)
            .where(StatusEvent.mapping_id == rows[gone["id"]].id)
            .order_by(StatusEvent.at)
        ).all()
    assert [tuple(m) for m in moves] == [
        (None, MappingStatus.UNTRACKED),
        (MappingStatus.UNTRACKED, MappingStatus.MISSING),
        (MappingStatus.MISSING, MappingStatus.UNTRACKED),
    ]


def test_ignored_stays_ignored_through_syncs(dev_env: EnvUnderTest, create_in_n8n: Create) -> None:
    wf = create_in_n8n(dev_env, "Ignore me")
    dev_env.sync()
    with transaction(dev_env.runtime.sessions) as session:
        session.execute(
            update(WorkflowEnvMap)
            .where(WorkflowEnvMap.n8n_workflow_id == wf["id"])
            .values(status=MappingStatus.IGNORED)
        )
    dev_env.sync()
    assert dev_env.mappings()[wf["id"]].status is MappingStatus.IGNORED
    with dev_env.n8n_http() as http:
        http.delete(f"/workflows/{wf['id']}").raise_for_status()
    assert dev_env.sync().missing == 0
    assert dev_env.mappings()[wf["id"]].status is MappingStatus.IGNORED


def test_a_rename_in_n8n_updates_name_and_hash(
    dev_env: EnvUnderTest, create_in_n8n: Create
) -> None:
    wf = create_in_n8n(dev_env, "Old name")
    dev_env.sync()
    before = dev_env.mappings()[wf["id"]].env_content_hash
    body = {key: wf[key] for key in ("nodes", "connections", "settings")} | {"name": "New name"}
    with dev_env.n8n_http() as http:
        http.put(f"/workflows/{wf['id']}", json=body).raise_for_status()
    result = dev_env.sync()
    assert (result.updated, result.created) == (1, 0)
    row = dev_env.mappings()[wf["id"]]
    assert row.workflow_name == "New name"
    assert row.env_content_hash != before


def test_a_wrong_api_key_is_a_clear_error_and_changes_nothing(
    runtime: Runtime, clean_n8n_dev: N8nInstance, create_in_n8n: Create
) -> None:
    env = add_environment(runtime, clean_n8n_dev, api_key="not-the-key")
    create_in_n8n(env, "Untouched")
    with pytest.raises(Unavailable) as caught:
        env.sync()
    message = caught.value.message
    assert "401" in message or "rejected" in message.lower()
    assert "not-the-key" not in message
    assert env.mappings() == {}
    run = env.runs()[-1]
    assert run.complete is False and run.error == message
    assert (
        run.details is not None
        and "nothing was marked missing" in run.details["not_marked_missing_because"]
    )


def test_auto_links_by_name_then_hash_and_leaves_ambiguity_untracked(
    dev_env: EnvUnderTest, create_in_n8n: Create
) -> None:
    by_name = create_in_n8n(dev_env, "Billing")
    by_hash = create_in_n8n(dev_env, "Invoices (copy)")
    twin_a, twin_b = create_in_n8n(dev_env, "Twin"), create_in_n8n(dev_env, "Twin", nodes=4)
    with transaction(dev_env.runtime.sessions) as session:

        def canonical(slug: str, name: str, digest: str) -> CanonicalWorkflow:
            row = CanonicalWorkflow(
                tenant_id=dev_env.tenant_id,
                canonical_slug=slug,
                name=name,
                content_hash=digest,
                workflow_definition={},
            )
            session.add(row)
            return row

        billing = canonical("billing", "Billing", "v1:other")
        invoices = canonical("invoices", "Invoices", content_hash(by_hash))
        canonical("twin", "Twin", "v1:nothing-alike")
        session.flush()
        billing_id, invoices_id = billing.id, invoices.id
    result = dev_env.sync()
    assert result.auto_linked == 2
    rows = dev_env.mappings()
    assert (rows[by_name["id"]].status, rows[by_name["id"]].canonical_id) == (
        MappingStatus.LINKED,
        billing_id,
    )
    assert rows[by_name["id"]].git_content_hash == "v1:other"
    assert rows[by_name["id"]].base_content_hash == "v1:other"  # a link records the base
    assert rows[by_hash["id"]].canonical_id == invoices_id
    assert rows[twin_a["id"]].status is MappingStatus.UNTRACKED
    assert rows[twin_b["id"]].status is MappingStatus.UNTRACKED
    deleted = create_in_n8n(dev_env, "Later")
    with dev_env.n8n_http() as http:
        http.delete(f"/workflows/{by_name['id']}").raise_for_status()
    dev_env.sync()
    rows = dev_env.mappings()
    assert rows[by_name["id"]].status is MappingStatus.MISSING  # linked → missing keeps its link
    assert rows[by_name["id"]].canonical_id == billing_id
    assert rows[deleted["id"]].status is MappingStatus.UNTRACKED


def test_small_batches_write_the_same_rows(
    runtime: Runtime, clean_n8n_dev: N8nInstance, create_in_n8n: Create
) -> None:
    env = add_environment(runtime, clean_n8n_dev, batch_size=2)
    made = {create_in_n8n(env, f"Batch {i}")["id"] for i in range(5)}
    result = env.sync()
    assert (result.seen, result.created) == (5, 5)
    assert set(env.mappings()) == made
    with transaction(runtime.sessions) as session:
        count = session.scalar(select(func.count()).select_from(WorkflowEnvMap))
    assert count == 5
