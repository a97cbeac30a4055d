"""A workflow that comes back takes its place again (issue 13, item 5), against a real n8n:
a linked workflow deleted in n8n becomes missing; recreated with the same name and content
(a new n8n id), the sync auto-links it, or a user links it by hand when auto-link cannot
tell; the old mapping lets go of the canonical and keeps its history; the matrix shows the
new one."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from canonflow.core.status import MappingStatus
from canonflow.db.engine import transaction
from canonflow.db.models import AuditEntry, StatusEvent, Tenant, WorkflowEnvMap
from canonflow.runtime import Runtime
from tests.factories import bearer, make_token
from tests.sync.conftest import EnvUnderTest

CreateInN8n = Callable[..., dict[str, Any]]


def _token(env: EnvUnderTest) -> str:
    with transaction(env.runtime.sessions) as session:
        tenant = session.get(Tenant, env.tenant_id)
        assert tenant is not None
        return make_token(session, tenant)


def _linked_then_deleted(
    env: EnvUnderTest, client: TestClient, token: str, create_in_n8n: CreateInN8n
) -> tuple[dict[str, Any], uuid.UUID]:
    """Billing is linked to a canonical made from it, then deleted in n8n and synced."""
    original = create_in_n8n(env, "Billing")
    env.sync()
    mapping_id = env.mappings()[original["id"]].id
    made = client.post(
        "/api/v1/canonical/link",
        json={"mapping_id": str(mapping_id), "create_canonical": True},
        headers=bearer(token),
    )
    assert made.status_code == 200, made.text
    with env.n8n_http() as http:
        http.delete(f"/workflows/{original['id']}").raise_for_status()
    assert env.sync().missing == 1
    assert env.mappings()[original["id"]].status is MappingStatus.MISSING
    return original, uuid.UUID(made.json()["canonical_id"])


def _recreate(env: EnvUnderTest, original: dict[str, Any]) -> dict[str, Any]:
    body = {key: original[key] for key in ("name", "nodes", "connections", "settings")}
    with env.n8n_http() as http:
        response = http.post("/workflows", json=body)
        response.raise_for_status()
        created: dict[str, Any] = response.json()
    assert created["id"] != original["id"]
    return created


def _cell(client: TestClient, token: str, canonical_id: uuid.UUID) -> dict[str, Any]:
    page = client.get("/api/v1/workflows/matrix", headers=bearer(token)).json()
    [row] = [r for r in page["workflows"] if r["canonical_id"] == str(canonical_id)]
    [cell] = row["environments"].values()
    return dict(cell)


def _assert_taken_over(
    env: EnvUnderTest,
    client: TestClient,
    token: str,
    canonical_id: uuid.UUID,
    old: dict[str, Any],
    new: dict[str, Any],
) -> None:
    rows = env.mappings()
    gone, back = rows[old["id"]], rows[new["id"]]
    assert (back.status, back.canonical_id) == (MappingStatus.LINKED, canonical_id)
    assert back.env_content_hash == back.git_content_hash == back.base_content_hash
    assert (gone.status, gone.canonical_id, gone.released_canonical_id) == (
        MappingStatus.MISSING,
        None,
        canonical_id,
    )
    with transaction(env.runtime.sessions) as session:  # the old one's history is kept
        history = session.execute(
            select(StatusEvent.from_status, StatusEvent.to_status, StatusEvent.canonical_id)
            .where(StatusEvent.mapping_id == gone.id)
            .order_by(StatusEvent.at)
        ).all()
    assert [(h.from_status, h.to_status) for h in history][-2:] == [
        (MappingStatus.UNTRACKED, MappingStatus.LINKED),
        (MappingStatus.LINKED, MappingStatus.MISSING),
    ]
    assert history[-1].canonical_id == canonical_id
    cell = _cell(client, token, canonical_id)
    assert (cell["status"], cell["mapping_id"], cell["state"]) == (
        "linked",
        str(back.id),
        "in_sync",
    )
    untracked = client.get("/api/v1/canonical/untracked", headers=bearer(token)).json()
    assert str(gone.id) not in str(untracked)  # the replaced one is not offered for linking


def test_a_recreated_workflow_is_auto_linked_in_place_of_the_missing_one(
    dev_env: EnvUnderTest, client: TestClient, create_in_n8n: CreateInN8n
) -> None:
    token = _token(dev_env)
    original, canonical_id = _linked_then_deleted(dev_env, client, token, create_in_n8n)
    recreated = _recreate(dev_env, original)
    result = dev_env.sync()
    assert (result.created, result.auto_linked) == (1, 1)
    _assert_taken_over(dev_env, client, token, canonical_id, original, recreated)
    assert dev_env.sync().auto_linked == 0  # and it stays so


def test_deleted_and_recreated_between_two_syncs_is_auto_linked_too(
    dev_env: EnvUnderTest, client: TestClient, create_in_n8n: CreateInN8n
) -> None:
    token = _token(dev_env)
    original = create_in_n8n(dev_env, "Billing")
    dev_env.sync()
    made = client.post(
        "/api/v1/canonical/link",
        json={"mapping_id": str(dev_env.mappings()[original["id"]].id), "create_canonical": True},
        headers=bearer(token),
    )
    canonical_id = uuid.UUID(made.json()["canonical_id"])
    with dev_env.n8n_http() as http:
        http.delete(f"/workflows/{original['id']}").raise_for_status()
    recreated = _recreate(dev_env, original)
    result = dev_env.sync()  # one sync sees the old one gone and the new one
    assert (result.missing, result.auto_linked) == (1, 1)
    _assert_taken_over(dev_env, client, token, canonical_id, original, recreated)


def test_when_auto_link_cannot_tell_a_user_links_one_in_its_place(
    dev_env: EnvUnderTest, client: TestClient, create_in_n8n: CreateInN8n
) -> None:
    token = _token(dev_env)
    original, canonical_id = _linked_then_deleted(dev_env, client, token, create_in_n8n)
    first, second = _recreate(dev_env, original), _recreate(dev_env, original)
    assert dev_env.sync().auto_linked == 0  # two of that name and content: ambiguous
    rows = dev_env.mappings()
    chosen = client.post(
        "/api/v1/canonical/link",
        json={"mapping_id": str(rows[first["id"]].id), "canonical_id": str(canonical_id)},
        headers=bearer(token),
    )
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["status"] == "linked"
    _assert_taken_over(dev_env, client, token, canonical_id, original, first)
    with transaction(dev_env.runtime.sessions) as session:
        target = str(rows[first["id"]].id)
        audited = session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "mapping.link", AuditEntry.target_id == target
            )
        ).one()
    assert audited.details["took_place_of"] == str(rows[original["id"]].id)
    other = client.post(
        "/api/v1/canonical/link",
        json={"mapping_id": str(rows[second["id"]].id), "canonical_id": str(canonical_id)},
        headers=bearer(token),
    )
    assert other.status_code == 409  # a live mapping holds it now
    assert "already linked in this environment" in other.json()["detail"]


def test_bulk_link_takes_the_place_of_a_soft_deleted_mapping(
    dev_env: EnvUnderTest, client: TestClient, create_in_n8n: CreateInN8n, runtime: Runtime
) -> None:
    token = _token(dev_env)
    original, canonical_id = _linked_then_deleted(dev_env, client, token, create_in_n8n)
    old_id = dev_env.mappings()[original["id"]].id
    deleted = client.post(f"/api/v1/canonical/mappings/{old_id}/delete", headers=bearer(token))
    assert deleted.status_code == 200, deleted.text
    first, second = _recreate(dev_env, original), _recreate(dev_env, original)
    dev_env.sync()
    rows = dev_env.mappings()
    linked = client.post(
        "/api/v1/canonical/link/bulk",
        json={
            "items": [
                {"mapping_id": str(rows[second["id"]].id), "canonical_id": str(canonical_id)},
                {"mapping_id": str(rows[first["id"]].id), "canonical_id": str(canonical_id)},
            ]
        },
        headers=bearer(token),
    )
    assert linked.status_code == 200, linked.text
    assert [item["result"] for item in linked.json()["items"]] == ["linked", "error"]
    with transaction(runtime.sessions) as session:
        old = session.get(WorkflowEnvMap, old_id)
        assert old is not None
        assert (old.status, old.canonical_id, old.released_canonical_id) == (
            MappingStatus.DELETED,
            None,
            canonical_id,
        )
    assert _cell(client, token, canonical_id)["mapping_id"] == str(rows[second["id"]].id)
