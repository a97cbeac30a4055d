"""A canonical workflow deleted in Git while its copies live on in n8n (DESIGN §3
`orphaned`): the matrix shows them, and reconcile deletes them from n8n (snapshot first,
prune guard) or re-adopts them (the file is written back). Real n8n, real Git."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from canonflow.app import create_app
from canonflow.config import Settings
from canonflow.core.enums import CommitMode, Role
from canonflow.core.status import MappingStatus
from canonflow.core.sync_state import SyncState
from canonflow.db.engine import transaction
from canonflow.db.models import AuditEntry, CanonicalWorkflow, StatusEvent, Tenant
from canonflow.repo import service as repositories
from canonflow.repo.schemas import RepositoryPut
from canonflow.repo.writeback import write_back
from tests.cli.helpers import cli_env, run_cli
from tests.factories import bearer, make_token
from tests.onboarding.conftest import Estate
from tests.reconcile.conftest import Linked, plan_items
from tests.support.n8n_fixtures import make_workflow

PROD_ONLY = ("Refunds", "Invoices", "Leads", "Alerts")
MATRIX = "/api/v1/workflows/matrix"


@pytest.fixture
def orphaned(estate: Estate) -> Iterator[Linked]:
    """prod holds six workflows, dev two of them (Orders, Billing); onboarded, in sync,
    every file pushed to main (commit_mode push); then billing.json is deleted in Git and
    the repository synced: Billing's two copies are orphaned."""
    e = estate
    for name in ("Orders", "Billing"):
        body = make_workflow(name, 4)
        e.create("prod", body)
        e.create("dev", body)
    for name in PROD_ONLY:
        e.create("prod", make_workflow(name, 3))
    assert e.inventory().canonicals_created == 6
    e.clone.write("README.md", "workflows\n")
    e.clone.commit("initial")
    e.clone.git("push", "--quiet", "origin", "HEAD:main")
    with transaction(e.runtime.sessions) as session:
        put = RepositoryPut(url=e.remote_url, branch="main", commit_mode=CommitMode.PUSH)
        repositories.put(session, e.runtime.secrets, e.principal, put)
        ids = list(session.scalars(select(CanonicalWorkflow.id)))
        tenant = session.get(Tenant, e.tenant_id)
        assert tenant is not None
        headers = bearer(make_token(session, tenant, role=Role.OPERATOR))
    write_back(
        e.runtime.sessions, e.runtime.secrets, tenant_id=e.tenant_id,
        cache_root=e.runtime.settings.resolved_git_cache_dir, canonical_ids=ids,
        branch="main", message="onboard",
    )  # fmt: skip
    with TestClient(create_app(runtime=e.runtime)) as client:
        state = Linked(e, client, headers)
        state.repo_sync()
        assert state.state("billing", "dev") is SyncState.IN_SYNC
        e.clone.git("pull", "--quiet", "origin", "main")
        e.clone.git("rm", "--quiet", "workflows/billing.json")
        e.clone.commit("billing is retired")
        e.clone.git("push", "--quiet", "origin", "HEAD:main")
        state.repo_sync()
        assert state.canonical("billing").is_deleted
        yield state


def _matrix(o: Linked, path: str = "", **params: Any) -> Any:
    response = o.client.get(MATRIX + path, params=params, headers=o.headers)
    assert response.status_code == 200, response.text
    return response.json()


def _cell(page: Any, o: Linked, name: str, where: str) -> dict[str, Any]:
    [row] = [row for row in page["workflows"] if row["name"] == name]
    cell: dict[str, Any] = row["environments"][str(o.env_id(where))]
    return cell


def _states(o: Linked) -> dict[str, dict[str, int]]:
    summary = _matrix(o, "/summary")["environments"]
    return {e["name"]: e["states"] for e in summary}


def _n8n_status(o: Linked, where: str, n8n_id: str) -> int:
    with o.n8n(where) as http:
        return int(http.get(f"/workflows/{n8n_id}").status_code)


def test_orphaned_copies_show_and_git_wins_deletes_them_past_the_prune_guard(
    orphaned: Linked,
) -> None:
    o = orphaned
    page = _matrix(o, state="orphaned")
    assert [row["name"] for row in page["workflows"]] == ["Billing"]
    for where in ("prod", "dev"):
        assert _cell(page, o, "Billing", where)["state"] == "orphaned"
    assert _states(o) == {
        "prod": {"in_sync": 5, "orphaned": 1},
        "dev": {"in_sync": 1, "orphaned": 1},
    }
    billing = {where: o.mapping("billing", where) for where in ("prod", "dev")}

    plan = o.plan("git_wins")
    [prod_item] = plan_items(plan, "delete")
    assert prod_item["environment"] == "prod" and prod_item["state"] == "orphaned"
    assert prod_item["git_hash"] is None  # Git holds no version of it any more
    [dev_item] = plan_items(plan, "blocked")  # 1 of dev's 2 live workflows: over 20 %
    assert dev_item["blockers"][0]["kind"] == "prune_guard"
    assert "1 of the 2 live workflows in dev" in dev_item["reason"]
    assert plan["prune_guard"] == [dev_item["reason"]]
    assert o.plan("git_wins", confirm_prune=True)["prune_guard"] == []

    refused = o.client.post(
        "/api/v1/canonical/reconcile",
        json={"strategy": "git_wins", "dry_run": False},
        headers=o.headers,
    )
    assert refused.status_code == 409, refused.text
    assert "confirm_prune" in refused.json()["detail"]
    assert _n8n_status(o, "prod", billing["prod"].n8n_workflow_id) == 200  # nothing deleted

    job = o.apply("git_wins", confirm_prune=True)
    assert job["status"] == "succeeded", job
    assert job["result"]["counts"] == {"applied": 2}
    for where, mapping in billing.items():
        assert _n8n_status(o, where, mapping.n8n_workflow_id) == 404
        after = o.mapping("billing", where)
        assert after.status is MappingStatus.DELETED and after.is_deleted
        snapshots = o.client.get(
            "/api/v1/snapshots", params={"mapping_id": str(mapping.id)}, headers=o.headers
        ).json()["snapshots"]
        [snapshot] = snapshots
        full = o.client.get(f"/api/v1/snapshots/{snapshot['id']}", headers=o.headers).json()
        assert full["workflow"]["name"] == "Billing" and full["side"] == "env"
    with transaction(o.e.runtime.sessions) as session:
        events = session.scalars(
            select(StatusEvent).where(StatusEvent.mapping_id.in_([m.id for m in billing.values()]))
        ).all()
        deletions = [
            (e.from_status, e.to_status) for e in events if e.to_status is MappingStatus.DELETED
        ]
        assert deletions == [(MappingStatus.LINKED, MappingStatus.DELETED)] * 2
        audited = session.scalars(
            select(AuditEntry.target_id).where(AuditEntry.action == "workflow.delete")
        ).all()
        assert sorted(audited) == sorted(str(m.id) for m in billing.values())

    assert _matrix(o, state="orphaned")["workflows"] == []
    assert _states(o) == {"prod": {"in_sync": 5}, "dev": {"in_sync": 1}}
    o.sync("prod", "dev")  # the next sync agrees: nothing comes back, nothing untracked
    assert o.mapping("billing", "dev").status is MappingStatus.DELETED
    assert plan_items(o.plan("git_wins")) == []


@pytest.mark.compat
def test_env_wins_re_adopts_an_orphaned_workflow(orphaned: Linked) -> None:
    o = orphaned
    manual = o.plan("manual")
    assert {(i["environment"], i["action"], i["state"]) for i in plan_items(manual)} == {
        ("prod", "none", "orphaned"),
        ("dev", "none", "orphaned"),
    }
    assert all("choose git" in i["reason"] for i in plan_items(manual))
    plan = o.plan("env_wins")
    assert {i["environment"] for i in plan_items(plan, "readopt")} == {"prod", "dev"}

    job = o.apply("env_wins")
    assert job["status"] == "succeeded", job
    assert job["result"]["counts"] == {"applied": 2}
    assert o.git_file("billing")["name"] == "Billing"  # written back to main
    assert not o.canonical("billing").is_deleted
    page = _matrix(o, q="Billing")
    for where in ("prod", "dev"):
        cell = _cell(page, o, "Billing", where)
        assert (cell["status"], cell["state"]) == ("linked", "in_sync")
    assert page["workflows"][0]["deleted_in_git"] is False
    o.repo_sync()  # the file is there: the repo sync keeps it live
    assert not o.canonical("billing").is_deleted
    assert o.state("billing", "prod") is SyncState.IN_SYNC
    with transaction(o.e.runtime.sessions) as session:
        readopted = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "workflow.readopt")
        ).all()
        assert {entry.details["from_state"] for entry in readopted} == {"orphaned"}


def test_cli_shows_the_prune_guard_and_deletes_once_confirmed(
    orphaned: Linked, settings: Settings
) -> None:
    o = orphaned
    with transaction(o.e.runtime.sessions) as session:
        slug = session.scalar(select(Tenant.slug).where(Tenant.id == o.e.tenant_id))
    env, tenant = cli_env(settings), ["--tenant", str(slug)]
    plan = run_cli("reconcile", "--strategy", "git_wins", *tenant, env=env)
    assert plan.returncode == 0, plan.stderr
    assert re.search(r"billing\s+│\s+prod\s+│\s+orphaned\s+│\s+delete", plan.stdout), plan.stdout
    assert "prune guard: deleting 1 of the 2 live workflows in dev" in plan.stdout
    refused = run_cli("reconcile", "--strategy", "git_wins", "--apply", *tenant, env=env)
    assert refused.returncode != 0 and "confirm_prune" in refused.stderr
    assert refused.stderr.strip().count("\n") == 0  # one readable line
    assert o.mapping("billing", "dev").status is MappingStatus.LINKED
    confirmed = run_cli(
        "reconcile", "--strategy", "git_wins", "--apply", "--confirm-prune", *tenant, env=env
    )
    assert confirmed.returncode == 0, confirmed.stderr
    assert "done: 2 applied" in confirmed.stdout
    assert o.mapping("billing", "dev").status is MappingStatus.DELETED


def test_a_re_adoption_as_a_pull_request_comes_back_once_merged(orphaned: Linked) -> None:
    o = orphaned
    with transaction(o.e.runtime.sessions) as session:
        put = RepositoryPut(url=o.e.remote_url, branch="main", commit_mode=CommitMode.PULL_REQUEST)
        repositories.put(session, o.e.runtime.secrets, o.e.principal, put)
    job = o.apply("manual", choices={str(o.mapping("billing", "prod").id): "env"})
    assert job["status"] == "succeeded", job
    [item] = job["result"]["items"]
    assert item["result"] == "proposed" and "canonflow/reconcile-" in item["detail"]
    assert o.canonical("billing").is_deleted  # not canonical until merged and synced
    branch = item["detail"].split("pushed to branch ")[1].split()[0]
    clone = o.e.clone
    clone.git("pull", "--quiet", "origin", "main")
    clone.git("fetch", "--quiet", "origin", branch)
    clone.git("merge", "--quiet", "--ff-only", "FETCH_HEAD")
    clone.git("push", "--quiet", "origin", "HEAD:main")
    o.repo_sync()
    assert not o.canonical("billing").is_deleted
    page = _matrix(o, q="Billing")
    assert _cell(page, o, "Billing", "prod")["state"] == "in_sync"
    assert _cell(page, o, "Billing", "dev")["state"] == "in_sync"  # the same version
