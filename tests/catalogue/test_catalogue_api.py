"""The catalogue's list and get on hand-built rows, on both backends. The rows are written
straight to the tables, then recorded as a write flow would (`record_state_changes`)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from canonflow.catalogue.states import StateCause, record_state_changes, unrecorded
from canonflow.core.status import MappingStatus
from canonflow.db.engine import transaction
from canonflow.db.models import CanonicalWorkflow, Environment, StatusEvent, WorkflowEnvMap
from tests.matrix.conftest import H1, H2, Tenancy

URL = "/api/v1/canonical/workflows"


def _record(t: Tenancy) -> None:
    with transaction(t.runtime.sessions) as session:
        record_state_changes(session, t.tenant_id, StateCause.ENV_SYNC)
        assert unrecorded(session, t.tenant_id) == []


def _list(client: TestClient, t: Tenancy, **params: Any) -> dict[str, Any]:
    response = client.get(URL, params=params, headers=t.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _names(page: dict[str, Any]) -> list[str]:
    return [item["name"] for item in page["items"]]


def test_list_items_and_counts_per_state(client: TestClient, estate: Tenancy) -> None:
    _record(estate)
    page = _list(client, estate)
    assert _names(page) == ["Alpha", "Bravo", "Charlie", "Delta"]  # Echo is deleted
    assert page["next_cursor"] is None
    by_name = {item["name"]: item for item in page["items"]}
    assert by_name["Alpha"]["states"] == {"drift": 1, "in_sync": 1}
    assert by_name["Bravo"]["states"] == {"conflict": 1, "out_of_date": 1, "unknown": 1}
    assert by_name["Charlie"]["states"] == {"in_sync": 3}
    assert by_name["Delta"]["states"] == {"ignored": 1, "missing": 1}  # deleted not counted
    alpha = by_name["Alpha"]
    assert alpha["content_hash"] == H1
    assert alpha["content_hash_short"] == "1" * 12
    assert alpha["id"] == str(estate.canonicals["Alpha"])
    assert alpha["slug"].startswith("alpha-")
    assert alpha["deleted"] is False
    assert {"git_file_path", "git_commit", "created_at", "updated_at"} <= set(alpha)
    deleted = _list(client, estate, deleted="true")
    assert _names(deleted) == ["Echo"]
    assert deleted["items"][0]["states"] == {"orphaned": 1}


def test_filters(client: TestClient, estate: Tenancy) -> None:
    _record(estate)
    assert _names(_list(client, estate, q="LPH")) == ["Alpha"]
    assert _names(_list(client, estate, q="bravo-")) == ["Bravo"]  # the slug matches too
    assert _names(_list(client, estate, q="%")) == []  # LIKE wildcards are plain text
    slug = _list(client, estate, q="charlie")["items"][0]["slug"]
    assert _names(_list(client, estate, slug=slug)) == ["Charlie"]
    assert _names(_list(client, estate, state="drift")) == ["Alpha"]
    assert _names(_list(client, estate, state="in_sync")) == ["Alpha", "Charlie"]
    assert _names(_list(client, estate, state="missing")) == ["Delta"]
    assert _names(_list(client, estate, state="orphaned")) == []  # a deleted one: deleted=true
    assert _names(_list(client, estate, state="orphaned", deleted="true")) == ["Echo"]
    with transaction(estate.runtime.sessions) as session:
        session.execute(
            update(CanonicalWorkflow)
            .where(CanonicalWorkflow.id == estate.canonicals["Bravo"])
            .values(git_commit="a" * 40)
        )
    assert _names(_list(client, estate, in_git="true")) == ["Bravo"]
    assert _names(_list(client, estate, in_git="false")) == ["Alpha", "Charlie", "Delta"]
    response = client.get(URL, params={"state": "sideways"}, headers=estate.headers)
    assert response.status_code == 422, response.text
    assert "unknown state" in response.json()["detail"]


def test_tag_filter_reads_the_anchor_environment(client: TestClient, estate: Tenancy) -> None:
    tagged = {"name": "Charlie", "tags": [{"id": "1", "name": "billing"}]}
    with transaction(estate.runtime.sessions) as session:
        session.execute(
            update(Environment).where(Environment.id == estate.envs["prod"]).values(is_anchor=True)
        )
        for env, data in (("prod", tagged), ("dev", {"tags": [{"name": "ops"}]})):
            session.execute(
                update(WorkflowEnvMap)
                .where(
                    WorkflowEnvMap.canonical_id == estate.canonicals["Charlie"],
                    WorkflowEnvMap.environment_id == estate.envs[env],
                )
                .values(workflow_data=data)
            )
    _record(estate)
    assert _names(_list(client, estate, tag="billing")) == ["Charlie"]
    assert _names(_list(client, estate, tag="ops")) == []  # dev is not the anchor
    assert _names(_list(client, estate, tag="none")) == []


def test_keyset_pages(client: TestClient, estate: Tenancy) -> None:
    _record(estate)
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = _list(client, estate, **params)
        seen += _names(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["Alpha", "Bravo", "Charlie", "Delta"]
    response = client.get(URL, params={"cursor": "bm9wZQ"}, headers=estate.headers)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


def test_get_by_id_and_slug(client: TestClient, estate: Tenancy) -> None:
    alpha = estate.canonicals["Alpha"]
    with transaction(estate.runtime.sessions) as session:
        session.execute(
            update(CanonicalWorkflow)
            .where(CanonicalWorkflow.id == alpha)
            .values(workflow_definition={"name": "Alpha", "nodes": [], "connections": {}})
        )
        for i, env in enumerate(("prod", "dev")):
            session.add(
                StatusEvent(
                    tenant_id=estate.tenant_id,
                    canonical_id=alpha,
                    environment_id=estate.envs[env],
                    from_status=None if i == 0 else MappingStatus.UNTRACKED,
                    to_status=MappingStatus.LINKED,
                )
            )
    _record(estate)
    response = client.get(f"{URL}/{alpha}", headers=estate.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["definition"] == {"name": "Alpha", "nodes": [], "connections": {}}
    assert body["states"] == {"drift": 1, "in_sync": 1}
    cells = {c["environment"]: c for c in body["environments"]}
    assert list(cells) == ["dev", "prod", "staging"]  # one entry per environment, by name
    assert (cells["dev"]["status"], cells["dev"]["state"]) == ("linked", "drift")
    assert (cells["dev"]["env_hash"], cells["dev"]["git_hash"]) == (H2, H1)
    assert cells["prod"]["state"] == "in_sync"
    assert cells["staging"]["status"] == "absent"
    assert cells["staging"]["mapping_id"] is None and cells["staging"]["active"] is None
    assert len(body["events"]) == 2
    assert {e["to_status"] for e in body["events"]} == {"linked"}
    by_slug = client.get(f"{URL}/by-slug/{body['slug']}", headers=estate.headers)
    assert by_slug.status_code == 200
    assert by_slug.json() == body


def test_another_tenants_workflow_is_not_found(client: TestClient, estate: Tenancy) -> None:
    other: Tenancy = estate.other  # type: ignore[attr-defined]
    foreign = other.canonicals["Alpha"]
    for path in (f"{URL}/{foreign}", f"{URL}/{foreign}/history", f"{URL}/{uuid.uuid4()}"):
        response = client.get(path, headers=estate.headers)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/problem+json")
    response = client.get(f"{URL}/by-slug/no-such-slug", headers=estate.headers)
    assert response.status_code == 404
    # the other tenant's own list shows only its one workflow
    _record(other)
    assert _names(_list(client, other)) == ["Alpha"]
