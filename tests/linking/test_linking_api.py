"""Untracked list and linking through the API, on hand-built rows (no n8n needed)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from canonflow.core.enums import Role
from canonflow.core.hashing import content_hash
from canonflow.core.status import MappingStatus
from canonflow.db.engine import transaction
from canonflow.db.models import AuditEntry, CanonicalWorkflow, Environment, WorkflowEnvMap
from canonflow.runtime import Runtime
from tests.factories import bearer, make_tenant, make_token
from tests.support.n8n_fixtures import make_workflow


@dataclass
class World:
    tokens: dict[str, str]
    env: uuid.UUID
    other_env: uuid.UUID  # another tenant's
    mappings: dict[str, uuid.UUID]  # workflow name → mapping id (tenant acme, env prod)
    foreign_mapping: uuid.UUID
    canonical: uuid.UUID  # "Existing", not linked anywhere


def _mapping(tenant_id: uuid.UUID, env_id: uuid.UUID, name: str, **kw: Any) -> WorkflowEnvMap:
    body = make_workflow(name, 3) | {"id": uuid.uuid4().hex[:16]}
    return WorkflowEnvMap(
        tenant_id=tenant_id,
        environment_id=env_id,
        n8n_workflow_id=body["id"],
        status=kw.pop("status", MappingStatus.UNTRACKED),
        workflow_name=name,
        workflow_data=body,
        env_content_hash=content_hash(body),
        **kw,
    )


@pytest.fixture
def world(runtime: Runtime) -> World:
    with transaction(runtime.sessions) as session:
        acme, other = make_tenant(session, slug="acme"), make_tenant(session, slug="other")
        tokens = {
            "operator": make_token(session, acme, role=Role.OPERATOR),
            "viewer": make_token(session, acme, role=Role.VIEWER),
            "other": make_token(session, other, role=Role.ADMIN),
        }
        envs = [
            Environment(
                tenant_id=t.id,
                name="prod",
                base_url="http://127.0.0.1:9",
                api_key=runtime.secrets.seal("unused"),
            )
            for t in (acme, other)
        ]
        session.add_all(envs)
        session.flush()
        names = ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]
        rows = {name: _mapping(acme.id, envs[0].id, name) for name in names}
        rows["Gone"] = _mapping(acme.id, envs[0].id, "Gone", status=MappingStatus.MISSING)
        rows["Ignored"] = _mapping(acme.id, envs[0].id, "Ignored", status=MappingStatus.IGNORED)
        foreign = _mapping(other.id, envs[1].id, "Alpha")
        canonical = CanonicalWorkflow(
            tenant_id=acme.id,
            canonical_slug="existing",
            name="Existing",
            content_hash="v1:" + "0" * 64,
            workflow_definition=make_workflow("Existing", 2),
        )
        session.add_all([*rows.values(), foreign, canonical])
        session.flush()
        return World(
            tokens,
            envs[0].id,
            envs[1].id,
            {name: row.id for name, row in rows.items()},
            foreign.id,
            canonical.id,
        )


def _get(client: TestClient, token: str, **params: Any) -> Any:
    return client.get("/api/v1/canonical/untracked", params=params, headers=bearer(token))


def test_untracked_pages_cover_every_row_once(client: TestClient, world: World) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = _get(client, world.tokens["viewer"], **params).json()
        seen += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # untracked and missing, in name order; ignored and other tenants' rows never
    assert seen == ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Gone"]
    only_env = _get(client, world.tokens["viewer"], environment_id=str(world.env)).json()
    assert len(only_env["items"]) == 6 and only_env["items"][0]["environment_name"] == "prod"
    foreign = _get(client, world.tokens["other"]).json()
    assert [item["name"] for item in foreign["items"]] == ["Alpha"]


def test_untracked_bad_input(client: TestClient, world: World) -> None:
    other_env = _get(client, world.tokens["viewer"], environment_id=str(world.other_env))
    assert other_env.status_code == 404
    assert other_env.headers["content-type"].startswith("application/problem+json")
    assert _get(client, world.tokens["viewer"], cursor="not-a-cursor").status_code == 422
    assert _get(client, world.tokens["viewer"], limit=501).status_code == 422


def _link(client: TestClient, token: str, **body: Any) -> Any:
    body = {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in body.items()}
    return client.post("/api/v1/canonical/link", json=body, headers=bearer(token))


def test_link_to_existing_then_a_second_in_that_environment_conflicts(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    op = world.tokens["operator"]
    linked = _link(client, op, mapping_id=world.mappings["Alpha"], canonical_id=world.canonical)
    assert linked.status_code == 200, linked.text
    assert linked.json() == {
        "mapping_id": str(world.mappings["Alpha"]),
        "canonical_id": str(world.canonical),
        "created_canonical": False,
        "status": "linked",
    }
    second = _link(client, op, mapping_id=world.mappings["Bravo"], canonical_id=world.canonical)
    assert second.status_code == 409
    assert second.json()["detail"].startswith("canonical workflow 'existing' is already linked")
    again = _link(client, op, mapping_id=world.mappings["Alpha"], canonical_id=world.canonical)
    assert again.status_code == 200  # linking what is linked is a no-op
    with transaction(runtime.sessions) as session:
        row = session.get(WorkflowEnvMap, world.mappings["Alpha"])
        assert row is not None and row.canonical_id == world.canonical
        assert row.git_content_hash == row.base_content_hash == "v1:" + "0" * 64
        actions = session.scalars(select(AuditEntry.action)).all()
        assert actions.count("mapping.link") == 1


def test_link_creating_a_canonical(client: TestClient, world: World, runtime: Runtime) -> None:
    op = world.tokens["operator"]
    made = _link(client, op, mapping_id=world.mappings["Charlie"], create_canonical=True)
    assert made.status_code == 200, made.text
    assert made.json()["created_canonical"] is True
    with transaction(runtime.sessions) as session:
        canonical = session.get(CanonicalWorkflow, uuid.UUID(made.json()["canonical_id"]))
        mapping = session.get(WorkflowEnvMap, world.mappings["Charlie"])
        assert canonical is not None and mapping is not None
        assert canonical.canonical_slug == "charlie" and canonical.name == "Charlie"
        assert canonical.content_hash == mapping.env_content_hash == mapping.git_content_hash
    taken = _link(
        client, op, mapping_id=world.mappings["Delta"], create_canonical=True, slug="charlie"
    )
    assert taken.status_code == 409
    bad = _link(client, op, mapping_id=world.mappings["Delta"], create_canonical=True, slug="A b")
    assert bad.status_code == 422 and "not a valid slug" in bad.json()["detail"]
    both = _link(
        client,
        op,
        mapping_id=world.mappings["Delta"],
        create_canonical=True,
        canonical_id=world.canonical,
    )
    assert both.status_code == 422


def test_bulk_link_reports_each_item_and_keeps_the_good_ones(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    items = [
        {"mapping_id": str(world.mappings["Delta"]), "canonical_id": str(world.canonical)},
        {"mapping_id": str(world.mappings["Echo"]), "canonical_id": str(world.canonical)},
        {"mapping_id": str(world.foreign_mapping), "create_canonical": True},
        {"mapping_id": str(world.mappings["Bravo"]), "create_canonical": True},
    ]
    response = client.post(
        "/api/v1/canonical/link/bulk",
        json={"items": items},
        headers=bearer(world.tokens["operator"]),
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["linked"], result["failed"]) == (2, 2)
    assert [item["result"] for item in result["items"]] == ["linked", "error", "error", "linked"]
    assert result["items"][1]["error_code"] == "conflict"
    assert result["items"][2]["error_code"] == "not-found"  # another tenant's mapping
    with transaction(runtime.sessions) as session:
        echo = session.get(WorkflowEnvMap, world.mappings["Echo"])
        bravo = session.get(WorkflowEnvMap, world.mappings["Bravo"])
        assert echo is not None and echo.canonical_id is None
        assert bravo is not None and bravo.status is MappingStatus.LINKED


def test_ignore_unignore_delete_and_roles(client: TestClient, world: World) -> None:
    op, viewer = world.tokens["operator"], world.tokens["viewer"]
    mapping = world.mappings["Alpha"]
    url = f"/api/v1/canonical/mappings/{mapping}"
    assert client.post(f"{url}/ignore", headers=bearer(viewer)).status_code == 403
    assert client.post(f"{url}/ignore", headers=bearer(op)).json()["status"] == "ignored"
    assert "Alpha" not in [i["name"] for i in _get(client, viewer).json()["items"]]
    assert client.post(f"{url}/unignore", headers=bearer(op)).json()["status"] == "untracked"
    deleted = client.post(f"{url}/delete", headers=bearer(op)).json()
    assert deleted["status"] == "deleted" and deleted["is_deleted"] is True
    assert client.post(f"{url}/unignore", headers=bearer(op)).status_code == 409
    relink = _link(client, op, mapping_id=mapping, create_canonical=True)
    assert relink.status_code == 409
    foreign = f"/api/v1/canonical/mappings/{world.foreign_mapping}/ignore"
    assert client.post(foreign, headers=bearer(op)).status_code == 404
    assert _link(client, viewer, mapping_id=mapping, create_canonical=True).status_code == 403


def test_nameless_workflows_come_last_and_pages_cover_them(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    with transaction(runtime.sessions) as session:
        tenant_id = session.get(WorkflowEnvMap, world.mappings["Alpha"]).tenant_id  # type: ignore[union-attr]
        nameless = [_mapping(tenant_id, world.env, "x") for _ in range(3)]
        for row in nameless:
            row.workflow_name = None
        session.add_all(nameless)
        session.flush()
        nameless_ids = sorted(str(row.id) for row in nameless)
    seen: list[tuple[str | None, str]] = []
    cursor = None
    while True:
        params = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        page = _get(client, world.tokens["viewer"], **params).json()
        seen += [(item["name"], item["mapping_id"]) for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [name for name, _ in seen] == ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Gone"] + [
        None
    ] * 3
    assert sorted(mapping for name, mapping in seen if name is None) == nameless_ids
