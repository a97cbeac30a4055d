"""Ignore rules on real n8n and real Git (issue 18): a rule turns a drifted cell in sync
and back when removed, in the matrix, the diff and the reconcile plan; narrowing by
workflow glob and by environment; the next env sync keeps it; state_changes records it."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from canonflow.core.enums import Role
from canonflow.db.engine import transaction
from canonflow.db.models import StateChange, Tenant
from tests.factories import bearer, make_token
from tests.reconcile.conftest import Linked, plan_items, set_value

URL = "/api/v1/policy/ignore-rules"
HTTP = "n8n-nodes-base.httpRequest"
SET_VALUE = "n8n-nodes-base.set:assignments.assignments[0].value"


def _admin(linked: Linked) -> dict[str, str]:
    with transaction(linked.e.runtime.sessions) as session:
        tenant = session.get(Tenant, linked.e.tenant_id)
        assert tenant is not None
        return bearer(make_token(session, tenant, role=Role.ADMIN))


def _timeout(value: int) -> Any:
    def change(workflow: dict[str, Any]) -> None:
        [node] = [n for n in workflow["nodes"] if n["type"] == HTTP]
        node["parameters"]["options"] = {"timeout": value}

    return change


def _url(value: str) -> Any:
    def change(workflow: dict[str, Any]) -> None:
        [node] = [n for n in workflow["nodes"] if n["type"] == HTTP]
        node["parameters"]["url"] = value

    return change


def _timezone(value: str) -> Any:
    def change(workflow: dict[str, Any]) -> None:
        workflow["settings"] = {**(workflow.get("settings") or {}), "timezone": value}

    return change


def _states(linked: Linked) -> dict[tuple[str, str], str]:
    page = linked.client.get(
        "/api/v1/workflows/matrix", params={"limit": 50}, headers=linked.headers
    )
    assert page.status_code == 200, page.text
    names = {str(linked.env_id(w)): w for w in ("prod", "dev")}
    return {
        (row["slug"], names[env]): cell["state"]
        for row in page.json()["workflows"]
        for env, cell in row["environments"].items()
        if env in names
    }


def _put(linked: Linked, admin: dict[str, str], rules: list[dict[str, Any]]) -> dict[str, Any]:
    """PUT the rules and wait for the job applying them: the list and the job's result."""
    response = linked.client.put(URL, json={"rules": rules}, headers=admin)
    assert response.status_code == 202, response.text
    body = dict(response.json())
    job = linked.wait(body["job_id"])
    assert job["status"] == "succeeded", job
    return body | job["result"]


def _diff(linked: Linked, slug: str, where: str) -> dict[str, Any]:
    response = linked.client.get(
        f"/api/v1/canonical/workflows/{linked.canonical(slug).id}/diff",
        params={"environment_id": str(linked.env_id(where))},
        headers=linked.headers,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _diff_page(linked: Linked, slug: str, where: str) -> str:
    """The UI's diff page, signed in through the form as a browser without JavaScript."""
    client = linked.client
    token = linked.headers["Authorization"].removeprefix("Bearer ")
    signin = client.get("/signin").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', signin)
    assert csrf is not None
    answer = client.post(
        "/signin",
        data={"token": token, "next": "/", "csrf_token": csrf.group(1)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    page = client.get(f"/workflows/{slug}/diff", params={"env": where})
    assert page.status_code == 200, page.text
    client.cookies.clear()
    return page.text


def test_rules_turn_drift_in_sync_and_back(linked: Linked) -> None:
    admin = _admin(linked)
    orders_prod = linked.mapping("orders", "prod").n8n_workflow_id
    orders_dev = linked.mapping("orders", "dev").n8n_workflow_id
    billing_prod = linked.mapping("billing", "prod").n8n_workflow_id
    linked.edit_in_n8n("prod", orders_prod, _timeout(5000))
    linked.edit_in_n8n("dev", orders_dev, _timezone("Europe/Paris"))
    linked.edit_in_n8n("prod", billing_prod, set_value("edited in n8n"))
    linked.sync()
    drifted = {("orders", "prod"), ("orders", "dev"), ("billing", "prod")}
    before = _states(linked)
    assert {cell for cell, state in before.items() if state == "drift"} == drifted
    assert plan_items(linked.plan("git_wins"), "deploy")  # something to deploy

    rules = [
        {"path": f"{HTTP}:options.timeout", "note": "partner is slow"},
        {"path": "settings.timezone"},
        {"path": SET_VALUE, "workflows": ["bill*"]},
    ]
    answer = _put(linked, admin, rules)
    assert answer["state_changes"] == 3
    assert all(state == "in_sync" for state in _states(linked).values())
    assert plan_items(linked.plan("git_wins"), "deploy") == []  # nothing to do for them

    diff = _diff(linked, "orders", "prod")
    assert diff["identical"] is False and diff["verdict"] == "only_ignored_differences"
    [node] = diff["diff"]["nodes_changed"]
    assert node["changes"] and all(
        c["ignored_by"] == f"{HTTP}:options.timeout" for c in node["changes"]
    )
    page = _diff_page(linked, "orders", "prod")
    assert f"ignored by rule {HTTP}:options.timeout" in page
    assert "Only ignored differences remain" in page
    assert re.search(r'<tr class="ch-(added|changed) ignored">', page)
    dev_diff = _diff(linked, "orders", "dev")
    assert [c.get("ignored_by") for c in dev_diff["diff"]["settings"]] == ["settings.timezone"]

    # the next env syncs keep the effective hashes: nothing turns back to drift
    ignored_before = linked.mapping("orders", "prod").env_ignored_hash
    linked.sync()
    assert all(state == "in_sync" for state in _states(linked).values())
    assert linked.mapping("orders", "prod").env_ignored_hash == ignored_before

    # narrowing: timezone only in prod, the Set value only in orders
    prod_id = str(linked.env_id("prod"))
    narrowed = [
        rules[0],
        {"path": "settings.timezone", "environments": [prod_id]},
        {"path": SET_VALUE, "workflows": ["orders"]},
    ]
    _put(linked, admin, narrowed)
    states = _states(linked)
    assert states[("orders", "dev")] == "drift" and states[("billing", "prod")] == "drift"
    assert states[("orders", "prod")] == "in_sync"

    # an edit outside the ignored paths is drift again, rules or not
    linked.edit_in_n8n("prod", orders_prod, _url("https://example.invalid/v2"))
    linked.sync("prod")
    assert _states(linked)[("orders", "prod")] == "drift"
    diff = _diff(linked, "orders", "prod")
    assert diff["verdict"] == "differs"
    assert any("ignored_by" not in c for n in diff["diff"]["nodes_changed"] for c in n["changes"])

    # no rule: the edits drift again everywhere
    _put(linked, admin, [])
    after = _states(linked)
    assert {cell for cell, state in after.items() if state == "drift"} == drifted
    assert all(after[cell] == "in_sync" for cell in after if cell not in drifted)
    with transaction(linked.e.runtime.sessions) as session:
        recorded = session.execute(
            select(StateChange.from_state, StateChange.to_state).where(
                StateChange.tenant_id == linked.e.tenant_id,
                StateChange.cause == "ignore_rules",
            )
        ).all()
    pairs = [tuple(r) for r in recorded]
    assert pairs.count(("drift", "in_sync")) == 3  # the first PUT
    assert pairs.count(("in_sync", "drift")) == 2  # narrowed: orders/dev, billing/prod
    assert len(pairs) == 5  # orders/prod drifted by the sync (cause env_sync), stays drift
