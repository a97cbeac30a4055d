"""Every route, driven by the app's route table (its OpenAPI document): no token is `401`,
a role too low is `403`, another tenant's real ids are `404` (or, in a bulk body, an item
error), and no answer to one tenant ever carries another tenant's ids.

A route added without a row in `ROUTES` fails `test_every_route_has_a_row`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from canonflow.core.enums import Role
from canonflow.db.engine import transaction
from canonflow.runtime import Runtime
from tests.factories import bearer, make_tenant, make_token
from tests.support.world import World, seed_world


@dataclass(frozen=True)
class Call:
    path: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None


Maker = Callable[[World, World], Call]  # (own rows, other tenant's rows) -> request


@dataclass(frozen=True)
class Row:
    role: Role | None  # None: public
    own: Maker
    foreign: tuple[Maker, ...] = ()  # each must be refused as not found
    bulk_foreign: Maker | None = None  # a 200 whose items report the foreign ids as errors


def _none(_own: World, _other: World) -> Call:
    return Call()


def _env(w: World, _o: World) -> Call:
    return Call(path={"environment_id": w.environment})


def _other_env(_w: World, o: World) -> Call:
    return Call(path={"environment_id": o.environment})


def _env_query(w: World, _o: World) -> Call:
    return Call(query={"environment_id": w.environment})


def _other_env_query(_w: World, o: World) -> Call:
    return Call(query={"environment_id": o.environment})


def _mapping(w: World, _o: World) -> Call:
    return Call(path={"mapping_id": w.mapping})


def _other_mapping(_w: World, o: World) -> Call:
    return Call(path={"mapping_id": o.mapping})


def _snapshot(w: World, _o: World) -> Call:
    return Call(path={"snapshot_id": w.snapshot})


def _other_snapshot(_w: World, o: World) -> Call:
    return Call(path={"snapshot_id": o.snapshot})


def _approval(w: World, _o: World) -> Call:
    return Call(path={"approval_id": w.approval}, body={"comment": "ok"})


def _other_approval(_w: World, o: World) -> Call:
    return Call(path={"approval_id": o.approval}, body={"comment": "ok"})


ENV_BODY = {"name": "staging", "base_url": "http://127.0.0.1:9", "api_key": "k" * 24}
INSTANTIATE_BODY = {"slug": "alert-ops", "parameters": {"team": "ops"}}
HOOK = {"url": "http://127.0.0.1:9/hook", "kind": "generic", "events": ["drift.detected"]}
BINDING_BODY = {"credential_type": "slackApi", "name": "Slack", "n8n_credential_id": "7"}


def _link(mapping: str, canonical: str) -> dict[str, str]:
    return {"mapping_id": mapping, "canonical_id": canonical}


def _reconcile(environment: str) -> dict[str, Any]:
    return {
        "strategy": "git_wins",
        "scope": {"environment_ids": [environment]},
        "dry_run": True,
    }


def _promote(source: str, target: str) -> dict[str, Any]:
    return {"from_environment_id": source, "to_environment_id": target, "all_changed": True}


NO_SUCH_ID = "00000000-0000-4000-8000-000000000000"

ROUTES: dict[tuple[str, str], Row] = {
    ("GET", "/healthz"): Row(None, _none),
    ("GET", "/readyz"): Row(None, _none),
    ("GET", "/api/v1/me"): Row(Role.VIEWER, _none),
    ("GET", "/api/v1/jobs"): Row(Role.VIEWER, _none),
    ("GET", "/api/v1/jobs/{job_id}"): Row(
        Role.VIEWER,
        lambda w, _o: Call(path={"job_id": w.job}),
        (lambda _w, o: Call(path={"job_id": o.job}),),
    ),
    ("POST", "/api/v1/jobs/{job_id}/cancel"): Row(
        Role.OPERATOR,
        lambda w, _o: Call(path={"job_id": w.job}),
        (lambda _w, o: Call(path={"job_id": o.job}),),
    ),
    ("GET", "/api/v1/environments"): Row(Role.VIEWER, _none),
    ("POST", "/api/v1/environments"): Row(Role.ADMIN, lambda _w, _o: Call(body=ENV_BODY)),
    ("GET", "/api/v1/environments/{environment_id}"): Row(Role.VIEWER, _env, (_other_env,)),
    ("PATCH", "/api/v1/environments/{environment_id}"): Row(
        Role.ADMIN,
        lambda w, _o: Call(path={"environment_id": w.environment}, body={"batch_size": 50}),
        (lambda _w, o: Call(path={"environment_id": o.environment}, body={"batch_size": 50}),),
    ),
    ("DELETE", "/api/v1/environments/{environment_id}"): Row(Role.ADMIN, _env, (_other_env,)),
    ("POST", "/api/v1/environments/{environment_id}/test-connection"): Row(
        Role.OPERATOR, _env, (_other_env,)
    ),
    ("POST", "/api/v1/environments/{environment_id}/sync"): Row(Role.OPERATOR, _env, (_other_env,)),
    ("POST", "/api/v1/canonical/sync-environment/{environment_id}"): Row(
        Role.OPERATOR, _env, (_other_env,)
    ),
    ("GET", "/api/v1/environments/{environment_id}/credential-bindings"): Row(
        Role.VIEWER, _env, (_other_env,)
    ),
    ("PUT", "/api/v1/environments/{environment_id}/credential-bindings"): Row(
        Role.ADMIN,
        lambda w, _o: Call(path={"environment_id": w.environment}, body=BINDING_BODY),
        (lambda _w, o: Call(path={"environment_id": o.environment}, body=BINDING_BODY),),
    ),
    ("DELETE", "/api/v1/environments/{environment_id}/credential-bindings/{binding_id}"): Row(
        Role.ADMIN,
        lambda w, _o: Call(path={"environment_id": w.environment, "binding_id": w.binding}),
        (
            lambda _w, o: Call(path={"environment_id": o.environment, "binding_id": o.binding}),
            lambda w, o: Call(path={"environment_id": w.environment, "binding_id": o.binding}),
        ),
    ),
    ("GET", "/api/v1/repository"): Row(Role.VIEWER, _none),
    ("PUT", "/api/v1/repository"): Row(
        Role.ADMIN, lambda _w, _o: Call(body={"url": "https://git.example.test/ops/n8n.git"})
    ),
    ("PATCH", "/api/v1/repository"): Row(
        Role.ADMIN, lambda _w, _o: Call(body={"sync_interval_s": 900, "paused": True})
    ),
    ("POST", "/api/v1/repository/test"): Row(Role.OPERATOR, _none),
    ("POST", "/api/v1/canonical/sync-repo"): Row(Role.OPERATOR, _none),
    ("GET", "/api/v1/canonical/untracked"): Row(Role.VIEWER, _env_query, (_other_env_query,)),
    ("POST", "/api/v1/canonical/link"): Row(
        Role.OPERATOR,
        lambda w, _o: Call(body=_link(w.mapping, w.canonical)),
        (
            lambda w, o: Call(body=_link(o.mapping, w.canonical)),
            lambda w, o: Call(body=_link(w.mapping, o.canonical)),
        ),
    ),
    ("POST", "/api/v1/canonical/link/bulk"): Row(
        Role.OPERATOR,
        lambda w, _o: Call(body={"items": [_link(w.mapping, w.canonical)]}),
        bulk_foreign=lambda w, o: Call(
            body={"items": [_link(o.mapping, w.canonical), _link(w.mapping, o.canonical)]}
        ),
    ),
    ("POST", "/api/v1/canonical/mappings/{mapping_id}/ignore"): Row(
        Role.OPERATOR, _mapping, (_other_mapping,)
    ),
    ("POST", "/api/v1/canonical/mappings/{mapping_id}/unignore"): Row(
        Role.OPERATOR, _mapping, (_other_mapping,)
    ),
    ("POST", "/api/v1/canonical/mappings/{mapping_id}/delete"): Row(
        Role.OPERATOR, _mapping, (_other_mapping,)
    ),
    ("GET", "/api/v1/canonical/onboard/preflight"): Row(Role.OPERATOR, _none),
    ("POST", "/api/v1/canonical/onboard/inventory"): Row(Role.OPERATOR, _none),
    ("POST", "/api/v1/canonical/onboard/create-pr"): Row(Role.OPERATOR, _none),
    ("GET", "/api/v1/canonical/onboard/completion"): Row(Role.VIEWER, _none),
    ("GET", "/api/v1/workflows/matrix"): Row(Role.VIEWER, _env_query, (_other_env_query,)),
    ("GET", "/api/v1/workflows/matrix/summary"): Row(Role.VIEWER, _env_query, (_other_env_query,)),
    ("GET", "/api/v1/workflows/matrix/export"): Row(Role.VIEWER, _env_query, (_other_env_query,)),
    ("POST", "/api/v1/canonical/reconcile"): Row(
        Role.OPERATOR,
        lambda w, _o: Call(body=_reconcile(w.environment)),
        (
            lambda _w, o: Call(body=_reconcile(o.environment)),
            lambda w, o: Call(
                body=_reconcile(w.environment) | {"scope": {"canonical_ids": [o.canonical]}}
            ),
        ),
    ),
    ("POST", "/api/v1/canonical/promote"): Row(
        Role.OPERATOR,
        lambda w, _o: Call(body=_promote(w.environment, NO_SUCH_ID)),
        (
            lambda w, o: Call(body=_promote(o.environment, w.environment)),
            lambda w, o: Call(body=_promote(w.environment, o.environment)),
        ),
    ),
    ("GET", "/api/v1/promotions"): Row(Role.VIEWER, _none),
    # another tenant's promotion: tests/promotion/test_promotion_requests.py (a world has none)
    ("GET", "/api/v1/promotions/{promotion_id}"): Row(
        Role.VIEWER,
        lambda _w, _o: Call(path={"promotion_id": NO_SUCH_ID}),
        (lambda _w, _o: Call(path={"promotion_id": NO_SUCH_ID}),),
    ),
    ("GET", "/api/v1/canonical/workflows/{canonical_id}/diff"): Row(
        Role.VIEWER,
        lambda w, _o: Call(
            path={"canonical_id": w.canonical}, query={"environment_id": w.environment}
        ),
        (
            lambda w, o: Call(
                path={"canonical_id": o.canonical}, query={"environment_id": w.environment}
            ),
            lambda w, o: Call(
                path={"canonical_id": w.canonical}, query={"environment_id": o.environment}
            ),
        ),
    ),
    ("GET", "/api/v1/canonical/workflows/{canonical_id}/versions"): Row(
        Role.VIEWER,
        lambda w, _o: Call(path={"canonical_id": w.canonical}),
        (lambda _w, o: Call(path={"canonical_id": o.canonical}),),
    ),
    ("POST", "/api/v1/canonical/workflows/{canonical_id}/deploy"): Row(
        Role.OPERATOR,
        lambda w, _o: Call(
            path={"canonical_id": w.canonical}, body={"environment_id": w.environment}
        ),
        (
            lambda w, o: Call(
                path={"canonical_id": o.canonical}, body={"environment_id": w.environment}
            ),
            lambda w, o: Call(
                path={"canonical_id": w.canonical}, body={"environment_id": o.environment}
            ),
        ),
    ),
    ("GET", "/api/v1/canonical/workflows"): Row(Role.VIEWER, _none),
    ("GET", "/api/v1/canonical/workflows/{canonical_id}"): Row(
        Role.VIEWER,
        lambda w, _o: Call(path={"canonical_id": w.canonical}),
        (lambda _w, o: Call(path={"canonical_id": o.canonical}),),
    ),
    # a slug names a workflow within the tenant: the other tenant's "billing" is never read
    ("GET", "/api/v1/canonical/workflows/by-slug/{slug}"): Row(
        Role.VIEWER,
        lambda _w, _o: Call(path={"slug": "billing"}),
        (lambda _w, _o: Call(path={"slug": "no-such-workflow"}),),
    ),
    ("GET", "/api/v1/canonical/workflows/{canonical_id}/history"): Row(
        Role.VIEWER,
        lambda w, _o: Call(path={"canonical_id": w.canonical}),
        (lambda _w, o: Call(path={"canonical_id": o.canonical}),),
    ),
    ("GET", "/api/v1/workflows/drift-trend"): Row(Role.VIEWER, _env_query, (_other_env_query,)),
    ("GET", "/api/v1/snapshots"): Row(
        Role.VIEWER,
        lambda w, _o: Call(query={"canonical_id": w.canonical}),
        (
            lambda _w, o: Call(query={"canonical_id": o.canonical}),
            lambda _w, o: Call(query={"mapping_id": o.mapping}),
        ),
    ),
    ("GET", "/api/v1/snapshots/{snapshot_id}"): Row(Role.VIEWER, _snapshot, (_other_snapshot,)),
    ("POST", "/api/v1/snapshots/{snapshot_id}/restore"): Row(
        Role.OPERATOR, _snapshot, (_other_snapshot,)
    ),
    ("GET", "/api/v1/canonical/templates"): Row(Role.VIEWER, _none),
    ("POST", "/api/v1/canonical/templates/{template_slug}/instantiate"): Row(
        Role.OPERATOR,
        lambda w, _o: Call(path={"template_slug": w.template}, body=INSTANTIATE_BODY),
        (lambda _w, o: Call(path={"template_slug": o.template}, body=INSTANTIATE_BODY),),
    ),
    ("GET", "/api/v1/notifications"): Row(Role.VIEWER, _none),
    ("PUT", "/api/v1/notifications"): Row(
        Role.ADMIN,
        lambda _w, _o: Call(body={"destinations": [HOOK]}),
        (lambda _w, o: Call(body={"destinations": [HOOK | {"id": o.destination}]}),),
    ),
    ("POST", "/api/v1/notifications/test"): Row(
        Role.ADMIN,
        lambda w, _o: Call(body={"destination_id": w.destination}),
        (lambda _w, o: Call(body={"destination_id": o.destination}),),
    ),
    ("GET", "/api/v1/notifications/deliveries"): Row(Role.VIEWER, _none),
    ("GET", "/api/v1/policy/ignore-rules"): Row(Role.VIEWER, _none),
    # another tenant's environment id in the body is a 422 naming it (tests/policy)
    ("PUT", "/api/v1/policy/ignore-rules"): Row(
        Role.ADMIN,
        lambda w, _o: Call(
            body={"rules": [{"path": "settings.timezone", "environments": [w.environment]}]}
        ),
    ),
    ("GET", "/api/v1/approvals"): Row(
        Role.VIEWER, lambda _w, _o: Call(query={"status": "pending"})
    ),
    ("GET", "/api/v1/approvals/{approval_id}"): Row(
        Role.VIEWER,
        lambda w, _o: Call(path={"approval_id": w.approval}),
        (lambda _w, o: Call(path={"approval_id": o.approval}),),
    ),
    ("POST", "/api/v1/approvals/{approval_id}/approve"): Row(
        Role.ADMIN, _approval, (_other_approval,)
    ),
    ("POST", "/api/v1/approvals/{approval_id}/reject"): Row(
        Role.OPERATOR, _approval, (_other_approval,)
    ),
}

LOWER = {Role.OPERATOR: Role.VIEWER, Role.ADMIN: Role.OPERATOR}


@dataclass
class Tenants:
    own: World
    other: World
    tokens: dict[Role, str]


@pytest.fixture
def tenants(runtime: Runtime) -> Tenants:
    with transaction(runtime.sessions) as session:
        own_tenant = make_tenant(session, slug="own")
        other_tenant = make_tenant(session, slug="other")
        own = seed_world(session, own_tenant.id, runtime.secrets)
        other = seed_world(session, other_tenant.id, runtime.secrets)
        tokens = {role: make_token(session, own_tenant, role=role) for role in Role}
        make_token(session, other_tenant, role=Role.ADMIN)
    return Tenants(own=own, other=other, tokens=tokens)


def _operations(client: TestClient) -> set[tuple[str, str]]:
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    return {(method.upper(), path) for path, ops in paths.items() for method in ops}


def _send(client: TestClient, method: str, template: str, call: Call, token: str | None) -> Any:
    path = template.format(**call.path)
    headers = bearer(token) if token else {}
    return client.request(method, path, params=call.query, json=call.body, headers=headers)


def _is_problem(response: Any, status: int) -> bool:
    return (
        response.status_code == status
        and response.headers["content-type"].startswith("application/problem+json")
        and response.json()["status"] == status
    )


def test_every_route_has_a_row(client: TestClient) -> None:
    operations = _operations(client)
    assert operations - ROUTES.keys() == set(), "a route without a row in the tenant sweep"
    assert ROUTES.keys() - operations == set(), "a row for a route that no longer exists"


def test_no_token_is_401_on_every_protected_route(client: TestClient, tenants: Tenants) -> None:
    wrong = [
        f"{method} {path}: {response.status_code}"
        for (method, path), row in ROUTES.items()
        if row.role is not None
        and not _is_problem(
            response := _send(client, method, path, row.own(tenants.own, tenants.other), None),
            401,
        )
    ]
    assert not wrong, "\n".join(wrong)


def test_a_role_too_low_is_403_on_every_route(client: TestClient, tenants: Tenants) -> None:
    wrong = []
    for (method, path), row in ROUTES.items():
        if row.role not in LOWER:
            continue
        token = tenants.tokens[LOWER[row.role]]
        response = _send(client, method, path, row.own(tenants.own, tenants.other), token)
        if not _is_problem(response, 403):
            wrong.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
    assert not wrong, "\n".join(wrong)


def test_another_tenants_ids_are_404_on_every_route(client: TestClient, tenants: Tenants) -> None:
    wrong = []
    admin = tenants.tokens[Role.ADMIN]
    for (method, path), row in ROUTES.items():
        for maker in row.foreign:
            call = maker(tenants.own, tenants.other)
            response = _send(client, method, path, call, admin)
            if not _is_problem(response, 404):
                wrong.append(
                    f"{method} {path} {call}: {response.status_code} {response.text[:300]}"
                )
    assert not wrong, "\n".join(wrong)


def test_a_bulk_link_reports_another_tenants_ids_as_not_found(
    client: TestClient, tenants: Tenants
) -> None:
    row = ROUTES[("POST", "/api/v1/canonical/link/bulk")]
    assert row.bulk_foreign is not None
    call = row.bulk_foreign(tenants.own, tenants.other)
    response = _send(
        client, "POST", "/api/v1/canonical/link/bulk", call, tenants.tokens[Role.ADMIN]
    )
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [item["result"] for item in items] == ["error", "error"]
    assert [item["error_code"] for item in items] == ["not-found", "not-found"]


def test_no_read_ever_carries_another_tenants_ids(client: TestClient, tenants: Tenants) -> None:
    """Every GET, answered to the tenant with its own ids, names none of the other's."""
    leaks = []
    foreign_ids = tenants.other.ids()
    for (method, path), row in ROUTES.items():
        if method != "GET" or row.role is None:
            continue
        call = row.own(tenants.own, tenants.other)
        response = _send(client, method, path, call, tenants.tokens[Role.ADMIN])
        leaked = [i for i in foreign_ids if i in response.text]
        if leaked:
            leaks.append(f"{path}: {leaked}")
    assert not leaks, "\n".join(leaks)
