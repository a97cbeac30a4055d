"""Promotion requests the API refuses (problem JSON, nothing written), promotion_order on
environments, and the promotions listing (keyset pages, a state filter, tenant isolation).
No n8n: a refused request never reaches one."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from canonflow.core.enums import Role
from canonflow.db.engine import transaction
from canonflow.db.models import CanonicalWorkflow, Environment, Promotion
from canonflow.runtime import Runtime
from tests.factories import bearer, make_tenant, make_token


def _env(session: Any, tenant_id: uuid.UUID, name: str, order: int | None) -> str:
    environment = Environment(
        tenant_id=tenant_id, name=name, base_url="http://127.0.0.1:9",
        api_key=session.info["secrets"].seal("k"), promotion_order=order,
    )  # fmt: skip
    session.add(environment)
    session.flush()
    return str(environment.id)


def _canonical(session: Any, tenant_id: uuid.UUID, slug: str) -> str:
    definition = {"name": slug, "nodes": [], "connections": {}, "settings": {}}
    canonical = CanonicalWorkflow(
        tenant_id=tenant_id, canonical_slug=slug, name=slug, content_hash="v1:x",
        workflow_definition=definition, git_file_path=f"workflows/{slug}.json",
    )  # fmt: skip
    session.add(canonical)
    session.flush()
    return str(canonical.id)


def _promotion(session: Any, tenant_id: uuid.UUID, state: str) -> str:
    promotion = Promotion(
        tenant_id=tenant_id, from_environment="dev", to_environment="prod", items=[],
        state=state, job_ids=[], results={}, requested_by="t",
    )  # fmt: skip
    session.add(promotion)
    session.flush()
    return str(promotion.id)


@pytest.fixture
def world(runtime: Runtime) -> dict[str, Any]:
    with transaction(runtime.sessions) as session:
        session.info["secrets"] = runtime.secrets
        own, other = make_tenant(session), make_tenant(session)
        ids: dict[str, Any] = {
            "dev": _env(session, own.id, "dev", 1),
            "prod": _env(session, own.id, "prod", 3),
            "qa": _env(session, own.id, "qa", None),
            "billing": _canonical(session, own.id, "billing"),
            "other_env": _env(session, other.id, "dev", 1),
            "other_canonical": _canonical(session, other.id, "billing"),
            "other_promotion": _promotion(session, other.id, "succeeded"),
            "own_promotions": [
                _promotion(session, own.id, s) for s in ("succeeded", "failed", "succeeded")
            ],
            "operator": bearer(make_token(session, own, role=Role.OPERATOR)),
            "admin": bearer(make_token(session, own, role=Role.ADMIN)),
        }
    return ids


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return dict(response.json())


def test_bad_requests_are_problems(client: TestClient, world: dict[str, Any]) -> None:
    w, billing = world, [world["billing"]]

    def promote(source: str, target: str, status: int, **body: Any) -> dict[str, Any]:
        response = client.post(
            "/api/v1/canonical/promote",
            json={"from_environment_id": source, "to_environment_id": target, **body},
            headers=w["operator"],
        )
        return _problem(response, status)

    promote(str(uuid.uuid4()), w["prod"], 404, canonical_ids=billing)
    for source, target in ((w["other_env"], w["prod"]), (w["dev"], w["other_env"])):
        assert "no environment" in promote(source, target, 404, canonical_ids=billing)["detail"]
    promote(w["dev"], w["dev"], 422, canonical_ids=billing)
    reversed_ = promote(w["prod"], w["dev"], 422, canonical_ids=billing)
    assert "prod has promotion_order 3, dev has 1" in reversed_["detail"], reversed_
    unordered = promote(w["dev"], w["qa"], 422, canonical_ids=billing)
    assert "qa has no promotion_order" in unordered["detail"], unordered
    promote(w["dev"], w["prod"], 422, canonical_ids=[])
    promote(w["dev"], w["prod"], 422)
    promote(w["dev"], w["prod"], 422, canonical_ids=billing, all_changed=True)
    foreign = promote(w["dev"], w["prod"], 404, canonical_ids=[w["other_canonical"]])
    assert "no canonical workflow" in foreign["detail"]
    no_repo = promote(w["dev"], w["prod"], 409, canonical_ids=billing, dry_run=False)
    assert "no Git repository" in no_repo["detail"]
    listed = client.get("/api/v1/promotions", headers=w["operator"]).json()
    assert len(listed["promotions"]) == 3  # nothing was started by any of these


def test_promotions_are_listed_paged_filtered_and_isolated(
    client: TestClient, world: dict[str, Any]
) -> None:
    w = world
    first = client.get("/api/v1/promotions?limit=2", headers=w["operator"]).json()
    assert len(first["promotions"]) == 2 and first["next_cursor"]
    rest = client.get(
        f"/api/v1/promotions?limit=2&cursor={first['next_cursor']}", headers=w["operator"]
    ).json()
    seen = [p["id"] for p in first["promotions"] + rest["promotions"]]
    assert sorted(seen) == sorted(w["own_promotions"]) and rest["next_cursor"] is None
    failed = client.get("/api/v1/promotions?state=failed", headers=w["operator"]).json()
    assert [p["id"] for p in failed["promotions"]] == [w["own_promotions"][1]]
    _problem(client.get("/api/v1/promotions?state=nope", headers=w["operator"]), 422)
    own = client.get(f"/api/v1/promotions/{w['own_promotions'][0]}", headers=w["operator"])
    assert own.status_code == 200 and own.json()["state"] == "succeeded"
    _problem(client.get(f"/api/v1/promotions/{w['other_promotion']}", headers=w["operator"]), 404)


def test_promotion_order_on_environments(client: TestClient, world: dict[str, Any]) -> None:
    w, url = world, f"/api/v1/environments/{world['qa']}"
    assert client.get(url, headers=w["admin"]).json()["promotion_order"] is None
    set_ = client.patch(url, json={"promotion_order": 2}, headers=w["admin"])
    assert set_.status_code == 200 and set_.json()["promotion_order"] == 2, set_.text
    kept = client.patch(url, json={"batch_size": 10}, headers=w["admin"])
    assert kept.json()["promotion_order"] == 2
    cleared = client.patch(url, json={"promotion_order": None}, headers=w["admin"])
    assert cleared.json()["promotion_order"] is None
    _problem(client.patch(url, json={"promotion_order": -1}, headers=w["admin"]), 422)
