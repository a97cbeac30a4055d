"""The onboarding inventory against two real n8n instances (prod is the anchor)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from canonflow.core.definitions import canonical_definition
from canonflow.core.status import MappingStatus
from canonflow.core.sync_state import SyncState, derive_sync_state
from canonflow.db.engine import transaction
from canonflow.db.models import CanonicalWorkflow, Onboarding, StatusEvent, WorkflowEnvMap
from canonflow.errors import Unavailable
from canonflow.linking.writes import MappingRow
from canonflow.n8n import N8nClient, N8nUnreachable
from canonflow.onboarding import inventory
from canonflow.sync import mappings
from canonflow.sync.environment import default_client
from tests.onboarding.conftest import Estate


def _by_name(rows: dict[str, WorkflowEnvMap]) -> dict[str, list[WorkflowEnvMap]]:
    named: dict[str, list[WorkflowEnvMap]] = {}
    for row in rows.values():
        named.setdefault(row.workflow_name or "", []).append(row)
    return named


def _state(row: WorkflowEnvMap) -> SyncState:
    return derive_sync_state(row.env_content_hash, row.git_content_hash, row.base_content_hash)


@pytest.mark.compat
def test_inventory_of_an_overlapping_estate(overlapping: Estate) -> None:
    result = overlapping.inventory()

    canonicals = overlapping.canonicals()
    assert set(canonicals) == {
        "customer-onboarding",
        "invoice-sync",
        "dup-name",
        "dup-name-2",
        "sub-flow",
        "parent-flow",
        "prod-only",
    }
    assert result.canonicals_created == 7 and result.anchor_linked == 7
    [collision] = result.collisions
    assert collision["slug"] == "dup-name"
    assert sorted(w["slug"] for w in collision["workflows"]) == ["dup-name", "dup-name-2"]
    for canonical in canonicals.values():
        assert canonical.git_file_path == f"workflows/{canonical.canonical_slug}.json"
        assert canonical.git_blob_id is None  # not in Git until the pull request is merged

    prod = overlapping.mappings("prod")
    assert {row.status for row in prod.values()} == {MappingStatus.LINKED}
    assert {_state(row) for row in prod.values()} == {SyncState.IN_SYNC}
    assert len({row.canonical_id for row in prod.values()}) == 7

    dev = _by_name(overlapping.mappings("dev"))
    same = dev["Customer Onboarding"][0]
    assert same.canonical_id == canonicals["customer-onboarding"].id
    assert _state(same) is SyncState.IN_SYNC
    copy_ = dev["Invoice Sync (dev copy)"][0]
    assert copy_.canonical_id == canonicals["invoice-sync"].id  # same content, other name
    assert _state(copy_) is SyncState.DRIFT  # the name is content: dev differs from Git
    parent = dev["Parent Flow"][0]
    assert parent.canonical_id == canonicals["parent-flow"].id
    # its sub-workflow reference resolves to dev's own copy: the same content as prod's
    assert _state(parent) is SyncState.IN_SYNC
    definition = canonicals["parent-flow"].workflow_definition
    call = next(n for n in definition["nodes"] if n["name"] == "Call Sub")
    assert call["parameters"]["workflowId"]["value"] == "slug:sub-flow"
    assert definition["settings"]["errorWorkflow"] == "slug:sub-flow"

    for name in ("Dup Name", "Dev Only"):
        row = dev[name][0]
        assert row.status is MappingStatus.UNTRACKED and row.canonical_id is None
    [dev_summary] = [e for e in result.environments if e["environment"] == "dev"]
    reasons = {entry["name"]: entry["reason"] for entry in dev_summary["untracked_listed"]}
    assert reasons == {"Dup Name": "ambiguous_name", "Dev Only": "no_match"}
    assert dev_summary["untracked"] == 2
    assert dev_summary["linked_by_name"] == 3 and dev_summary["linked_by_content_hash"] == 1

    with transaction(overlapping.runtime.sessions) as session:
        record = session.scalars(
            select(Onboarding).where(Onboarding.tenant_id == overlapping.tenant_id)
        ).one()
        assert record.anchor_environment_id == overlapping.prod_id
        assert record.anchor_name == "prod" and record.onboarded_at is not None


@pytest.mark.parametrize("kept_bytes", [inventory.ANCHOR_DOCUMENTS_BYTES, 0])
def test_canonicals_are_the_definitions_of_the_anchor_workflows(
    overlapping: Estate, kept_bytes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether a canonical workflow is made from the document its sync's hashing kept
    (the default) or from its JSON read back (past the memory budget: 0 here), it is the
    canonical definition of the anchor workflow, with its hash."""
    monkeypatch.setattr(inventory, "ANCHOR_DOCUMENTS_BYTES", kept_bytes)
    overlapping.inventory()
    prod = {row.canonical_id: row for row in overlapping.mappings("prod").values()}
    with transaction(overlapping.runtime.sessions) as session:
        refs = mappings.reference_slugs(session, overlapping.tenant_id, overlapping.prod_id)
    canonicals = overlapping.canonicals()
    assert len(canonicals) == 7
    for canonical in canonicals.values():
        row = prod[canonical.id]
        assert row.workflow_data is not None
        expected = canonical_definition(row.workflow_data, refs)
        assert canonical.workflow_definition == expected.document
        assert canonical.content_hash == expected.content_hash == row.env_content_hash


def test_a_second_inventory_leaves_the_same_rows(overlapping: Estate) -> None:
    overlapping.inventory()
    before = _snapshot(overlapping)
    again = overlapping.inventory()
    assert again.canonicals_created == 0
    assert _snapshot(overlapping) == before


def test_killed_halfway_a_rerun_completes_without_duplicates(overlapping: Estate) -> None:
    """The dev listing fails (n8n gone) after the anchor's canonicals were made: the job
    fails, and the rerun finishes the work with nothing made twice."""

    def dev_dies(access: Any) -> N8nClient:
        if access.name == "dev":
            raise N8nUnreachable("connection refused", base_url=access.base_url)
        return default_client(access)

    with pytest.raises(Unavailable, match="dev"):
        overlapping.inventory(client_factory=dev_dies)
    assert len(overlapping.canonicals()) == 7
    with transaction(overlapping.runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(Onboarding)) == 0

    overlapping.inventory()
    assert len(overlapping.canonicals()) == 7
    dev = _by_name(overlapping.mappings("dev"))
    assert dev["Customer Onboarding"][0].status is MappingStatus.LINKED


def _snapshot(estate: Estate) -> dict[str, Any]:
    with transaction(estate.runtime.sessions) as session:
        return {
            "canonicals": sorted(
                session.execute(
                    select(
                        CanonicalWorkflow.id,
                        CanonicalWorkflow.canonical_slug,
                        CanonicalWorkflow.content_hash,
                    ).where(CanonicalWorkflow.tenant_id == estate.tenant_id)
                ).all()
            ),
            "mappings": sorted(
                (str(r.id), str(r.canonical_id), r.status.value, r.env_content_hash or "")
                for r in session.scalars(
                    select(WorkflowEnvMap).where(WorkflowEnvMap.tenant_id == estate.tenant_id)
                )
            ),
            "events": session.scalar(select(func.count()).select_from(StatusEvent)),
        }


def test_a_workflow_ignored_while_canonicals_are_planned_gets_none(
    overlapping: Estate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Canonical workflows are planned from a snapshot and made in later transactions: a
    mapping a user ignores in between (here, right after the slugs are planned) is read
    again there and left alone: no canonical, no link, no orphan."""
    planned = inventory.plan_slugs

    def plan_then_ignore(*args: Any, **kwargs: Any) -> Any:
        outcome = planned(*args, **kwargs)
        with transaction(overlapping.runtime.sessions) as session:
            row = session.scalars(
                select(WorkflowEnvMap).where(
                    WorkflowEnvMap.environment_id == overlapping.prod_id,
                    WorkflowEnvMap.workflow_name == "Prod Only",
                )
            ).one()
            row.status = MappingStatus.IGNORED
        return outcome

    monkeypatch.setattr(inventory, "plan_slugs", plan_then_ignore)
    result = overlapping.inventory()
    assert result.canonicals_created == 6 and result.anchor_linked == 6
    assert "prod-only" not in overlapping.canonicals()
    [ignored] = [r for r in overlapping.mappings("prod").values() if r.workflow_name == "Prod Only"]
    assert ignored.status is MappingStatus.IGNORED and ignored.canonical_id is None


def test_workflows_that_call_others_commit_together_and_last(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Parts of CREATE_CHUNK commit one by one, except the workflows that reference
    another: they commit in one transaction, after the others, so a canonical naming
    `slug:x` is never committed without x."""
    monkeypatch.setattr(inventory, "CREATE_CHUNK", 2)
    rows = [
        MappingRow(uuid.uuid4(), uuid.uuid4(), str(i), MappingStatus.UNTRACKED, f"w{i}", None, None)
        for i in range(7)
    ]
    groups = inventory._creation_groups(rows, referencing={"1", "4", "6"})
    ids = [[[row.n8n_workflow_id for row in part] for part in group] for group in groups]
    assert ids == [[["0", "2"]], [["3", "5"]], [["1", "4"], ["6"]]]
    assert inventory._creation_groups(rows[:2], referencing=set()) == [[rows[:2]]]


def test_environment_queries_answer_only_for_their_tenant(overlapping: Estate) -> None:
    """The sync's environment-scoped queries filter by tenant too: asked with another
    tenant's id, an environment that has rows gives none."""
    overlapping.inventory()
    other = uuid.uuid4()
    mine = overlapping.tenant_id
    with transaction(overlapping.runtime.sessions) as session:
        assert len(mappings.reference_slugs(session, mine, overlapping.prod_id)) == 7
        assert mappings.reference_slugs(session, other, overlapping.prod_id) == {}
        assert len(mappings.existing_in_environment(session, mine, overlapping.prod_id)) == 7
        assert mappings.existing_in_environment(session, other, overlapping.prod_id) == {}
        assert len(mappings.untracked_in(session, mine, overlapping.dev_id)) == 2
        assert mappings.untracked_in(session, other, overlapping.dev_id) == []
        assert mappings.last_complete_run_details(session, mine, overlapping.dev_id) != {}
        assert mappings.last_complete_run_details(session, other, overlapping.dev_id) == {}
