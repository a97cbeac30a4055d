"""Credential bindings: the API, and a deploy bound by one where the target's workflows
never named the credential."""

from __future__ import annotations

import uuid
from typing import Any

from canonflow.core.enums import Role
from canonflow.db.engine import transaction
from canonflow.db.models import Tenant
from tests.factories import bearer, make_token
from tests.reconcile.conftest import Linked
from tests.reconcile.test_deploys import _push_file, _with_credential


def _admin(linked: Linked) -> dict[str, str]:
    with transaction(linked.e.runtime.sessions) as session:
        tenant = session.get(Tenant, linked.e.tenant_id)
        assert tenant is not None
        return bearer(make_token(session, tenant, role=Role.ADMIN))


def _credential(linked: Linked, where: str, name: str) -> str:
    data = {"name": name, "type": "httpBasicAuth", "data": {"user": "u", "password": "p"}}
    with linked.n8n(where) as http:
        created = http.post("/credentials", json=data)
        created.raise_for_status()
        return str(created.json()["id"])


def test_a_binding_names_the_targets_credential(linked: Linked) -> None:
    prod_credential = _credential(linked, "prod", "Basic (prod)")  # no prod workflow uses it
    _push_file(linked, "needs-basic", _with_credential("Needs Basic", {"name": "Shared Basic"}))
    linked.repo_sync()
    scope: dict[str, Any] = {
        "canonical_ids": [str(linked.canonical("needs-basic").id)],
        "environment_ids": [str(linked.e.prod_id)],
    }
    [blocked] = linked.plan("git_wins", scope=scope)["items"]
    assert blocked["action"] == "blocked" and "Shared Basic" in blocked["reason"]

    url = f"/api/v1/environments/{linked.e.prod_id}/credential-bindings"
    binding = {"credential_type": "httpBasicAuth", "name": "Shared Basic", "n8n_credential_id": "x"}
    refused = linked.client.put(url, json=binding, headers=linked.headers)  # an operator
    assert refused.status_code == 403, refused.text
    admin = _admin(linked)
    first = linked.client.put(url, json=binding, headers=admin)
    assert first.status_code == 200, first.text
    moved = linked.client.put(
        url, json=binding | {"n8n_credential_id": prod_credential}, headers=admin
    )
    assert moved.json()["id"] == first.json()["id"]  # one binding per (type, name), re-pointed
    listed = linked.client.get(url, headers=linked.headers).json()
    assert [(b["name"], b["n8n_credential_id"]) for b in listed] == [
        ("Shared Basic", prod_credential)
    ]

    [ready] = linked.plan("git_wins", scope=scope)["items"]
    assert ready["action"] == "deploy"
    job = linked.apply("git_wins", scope=scope)
    assert job["status"] == "succeeded" and job["result"]["counts"] == {"applied": 1}, job
    assert "n8n stored a variant of it" in job["result"]["items"][0]["detail"]
    deployed = linked.get("prod", linked.mapping("needs-basic", "prod").n8n_workflow_id)
    [node] = [n for n in deployed["nodes"] if n["name"] == "HTTP Request"]
    # bound by id; n8n then stores the credential's own name, which the content hash counts:
    # until hashing maps bound names back (not built yet) the workflow does not read as in
    # sync, and the deploy said so (above)
    assert node["credentials"]["httpBasicAuth"] == {"id": prod_credential, "name": "Basic (prod)"}
    linked.sync("prod")
    assert linked.state("needs-basic", "prod").value == "out_of_date"

    gone = linked.client.delete(f"{url}/{first.json()['id']}", headers=admin)
    assert gone.status_code == 204
    assert linked.client.get(url, headers=linked.headers).json() == []
    again = linked.client.delete(f"{url}/{first.json()['id']}", headers=admin)
    assert again.status_code == 404
    elsewhere = f"/api/v1/environments/{uuid.uuid4()}/credential-bindings"
    assert linked.client.put(elsewhere, json=binding, headers=admin).status_code == 404
    bad = linked.client.put(url, json={"credential_type": "", "name": "x"}, headers=admin)
    assert bad.status_code == 422
