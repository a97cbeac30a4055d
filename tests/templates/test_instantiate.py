"""Templates end to end: list, instantiate into a real bare remote (push, and pull
request through the forge stand-in), repo sync, deploy to a real n8n, read back."""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson
from sqlalchemy import select

from canonflow.core.enums import CommitMode, ForgeProvider, Role
from canonflow.db.engine import transaction
from canonflow.db.models import AuditEntry, BackgroundJob, WorkflowTemplate
from canonflow.repo import service as repositories
from canonflow.repo.schemas import ForgeSettings, RepositoryPut
from canonflow.repo.sync import sync_repository
from tests.factories import bearer, make_tenant, make_token
from tests.repo.conftest import principal_of
from tests.support.forge_server import FakeForge
from tests.support.git_remotes import WorkingClone, make_bare_remote
from tests.support.templates import make_template, template_text
from tests.templates.conftest import WithTemplate


def test_list_instantiate_sync_deploy_and_read_back_from_n8n(templated: WithTemplate) -> None:
    linked, e = templated.linked, templated.linked.e
    listed = linked.client.get("/api/v1/canonical/templates", headers=linked.headers)
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert (item["slug"], item["name"]) == ("alert", "Alert {{ team }}")
    assert [(p["name"], p["required"], p["default"]) for p in item["parameters"]] == [
        ("team", True, None),
        ("level", False, "warning"),
    ]
    assert "alert" not in e.canonicals()  # a template is not a canonical workflow
    matrix = linked.client.get("/api/v1/workflows/matrix", headers=linked.headers).json()
    assert "Alert {{ team }}" not in orjson.dumps(matrix).decode()

    job = templated.instantiated(
        "alert", {"slug": "alert-payments", "parameters": {"team": "payments"}}
    )
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert (result["path"], result["name"]) == ("workflows/alert-payments.json", "Alert payments")
    assert result["commit_mode"] == "push" and result["branch"] == "main"
    written = linked.git_file("alert-payments")
    assert "canonflow" not in written
    nodes = {node["name"]: node for node in written["nodes"]}
    assert nodes["HTTP Request"]["parameters"]["url"] == "https://alerts.example.invalid/payments"
    assert "alert-payments" not in e.canonicals()  # canonical after the repo sync only

    linked.repo_sync()
    canonical = e.canonicals()["alert-payments"]
    assert canonical.name == "Alert payments" and canonical.content_hash == result["content_hash"]
    deployed = linked.client.post(
        f"/api/v1/canonical/workflows/{canonical.id}/deploy",
        json={"environment_id": str(e.prod_id)},
        headers=linked.headers,
    )
    assert deployed.status_code == 202, deployed.text
    assert linked.wait(deployed.json()["job_id"])["status"] == "succeeded"
    in_n8n = linked.get("prod", linked.mapping("alert-payments", "prod").n8n_workflow_id)
    assert in_n8n["name"] == "Alert payments"
    by_name = {node["name"]: node for node in in_n8n["nodes"]}
    assignment = by_name["Set"]["parameters"]["assignments"]["assignments"][0]
    assert assignment["value"] == "for payments at warning"
    assert by_name["HTTP Request"]["parameters"]["url"] == (
        "https://alerts.example.invalid/payments"
    )
    with transaction(e.runtime.sessions) as session:
        actions = set(
            session.scalars(select(AuditEntry.action).where(AuditEntry.tenant_id == e.tenant_id))
        )
    assert {"template.instantiate", "template.commit"} <= actions


BAD_REQUESTS = [
    ("nope", {"slug": "x", "parameters": {}}, 404, "no template 'nope'"),
    (
        "alert",
        {"slug": "alert-x", "parameters": {"team": "x", "colour": "red"}},
        422,
        "parameter 'colour' is not declared by template 'alert'",
    ),
    ("alert", {"slug": "alert-x"}, 422, "parameter 'team' is missing and has no default"),
    ("alert", {"slug": "alert-x", "parameters": {"team": "x" * 200}}, 422, "at most 128"),
    ("alert", {"slug": "alert-x", "parameters": {"team": "a\u0000b"}}, 422, "control"),
    ("alert", {"slug": "Alert X", "parameters": {"team": "x"}}, 422, "not a canonical slug"),
    (
        "alert",
        {"slug": "orders", "parameters": {"team": "x"}},
        409,
        "the slug 'orders' is taken by canonical workflow 'Orders' (workflows/orders.json)",
    ),
]


def test_bad_requests_are_problems_naming_the_cause(templated: WithTemplate) -> None:
    """One estate for every case (each is refused before anything is queued)."""
    for template, body, status, message in BAD_REQUESTS:
        response = templated.instantiate(template, body)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert message in response.json()["detail"], response.json()
        if status == 422 and "slug" not in message:  # one line per problem, for a client
            assert any(message in problem for problem in response.json()["problems"])
    with transaction(templated.linked.e.runtime.sessions) as session:
        queued = session.scalars(
            select(BackgroundJob).where(BackgroundJob.type == "template.instantiate")
        ).all()
    assert queued == []


def test_a_file_already_in_git_is_never_overwritten(templated: WithTemplate) -> None:
    """The slug is free in the database, but someone pushed that file since the last sync:
    the job stops with a conflict and Git keeps the file as it was."""
    linked = templated.linked
    clone = linked.e.clone
    clone.git("pull", "--quiet", "origin", "main")
    clone.write("workflows/alert-ops.json", '{"name": "theirs"}\n')
    clone.commit("someone else's file")
    clone.git("push", "--quiet", "origin", "HEAD:main")
    job = templated.instantiated("alert", {"slug": "alert-ops", "parameters": {"team": "ops"}})
    assert job["status"] == "failed"
    assert "workflows/alert-ops.json already exists in Git" in job["error"]
    assert linked.git_file("alert-ops") == {"name": "theirs"}


def test_pull_request_mode_proposes_the_file_and_the_merge_makes_it_canonical(
    templated: WithTemplate,
) -> None:
    linked, e = templated.linked, templated.linked.e
    with FakeForge(ForgeProvider.GITEA) as forge:
        with transaction(e.runtime.sessions) as session:
            repositories.put(
                session,
                e.runtime.secrets,
                e.principal,
                RepositoryPut(
                    url=e.remote_url,
                    branch="main",
                    commit_mode=CommitMode.PULL_REQUEST,
                    forge=ForgeSettings(
                        provider=forge.provider,
                        api_url=forge.api_url,
                        repository="team/workflows",
                        token=forge.token,
                    ),
                ),
            )
        job = templated.instantiated(
            "alert", {"slug": "alert-billing", "parameters": {"team": "billing", "level": "page"}}
        )
        assert job["status"] == "succeeded", job
        assert job["result"]["commit_mode"] == "pull_request"
        assert job["result"]["detail"].startswith("pull request http://127.0.0.1")
        [post] = [r for r in forge.requests if r["method"] == "POST"]
        branch = post["json"]["head"]
        assert branch == job["result"]["branch"] and branch.startswith("canonflow/template-")
        assert post["json"]["base"] == "main"
        assert "from template `alert`" in post["json"]["body"]
        clone = e.clone
        clone.git("pull", "--quiet", "origin", "main")
        assert not (clone.directory / "workflows/alert-billing.json").exists()
        clone.git("fetch", "--quiet", "origin")
        clone.git("merge", "--quiet", "--no-ff", "-m", "merge", f"origin/{branch}")
        clone.git("push", "--quiet", "origin", "HEAD:main")
        forge.merge(1)
    linked.repo_sync()
    canonical = e.canonicals()["alert-billing"]
    assert canonical.name == "Alert billing"
    set_node = next(n for n in canonical.workflow_definition["nodes"] if n["name"] == "Set")
    assert set_node["parameters"]["assignments"]["assignments"][0]["value"] == (
        "for billing at page"
    )


def test_a_tenant_never_sees_or_uses_another_tenants_templates(
    templated: WithTemplate, tmp_path: Path
) -> None:
    linked, runtime = templated.linked, templated.linked.e.runtime
    remote = make_bare_remote(tmp_path / "other-remote")
    url = f"file://{remote}"
    clone = WorkingClone(url, tmp_path / "other-work")
    clone.write("workflows/_templates/secret.json", template_text(make_template("Secret")))
    clone.commit("their template")
    clone.push()
    with transaction(runtime.sessions) as session:
        other = make_tenant(session, slug="other-" + uuid.uuid4().hex[:6])
        repositories.put(session, runtime.secrets, principal_of(other.id), RepositoryPut(url=url))
        other_headers = bearer(make_token(session, other, role=Role.OPERATOR))
    sync_repository(
        runtime.sessions,
        runtime.secrets,
        tenant_id=other.id,
        cache_root=runtime.settings.resolved_git_cache_dir,
        max_file_bytes=5_000_000,
    )
    with transaction(runtime.sessions) as session:
        assert len(session.scalars(select(WorkflowTemplate)).all()) == 2  # one each
    mine = linked.client.get("/api/v1/canonical/templates", headers=linked.headers).json()
    theirs = linked.client.get("/api/v1/canonical/templates", headers=other_headers).json()
    assert [t["slug"] for t in mine["items"]] == ["alert"]
    assert [t["slug"] for t in theirs["items"]] == ["secret"]
    refused = templated.instantiate("secret", {"slug": "stolen", "parameters": {"team": "x"}})
    assert refused.status_code == 404, refused.text
    refused = linked.client.post(
        "/api/v1/canonical/templates/alert/instantiate",
        json={"slug": "stolen", "parameters": {"team": "x"}},
        headers=other_headers,
    )
    assert refused.status_code == 404, refused.text
