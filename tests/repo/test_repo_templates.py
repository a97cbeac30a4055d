"""The repo sync reads `<workflows_dir>/_templates/*.json` into `workflow_templates`:
templates are never canonical workflows; a bad one is reported and skipped."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from canonflow.db.engine import transaction
from canonflow.db.models import WorkflowTemplate
from tests.repo.conftest import RepoUnderTest
from tests.support.templates import make_template, template_text


@pytest.fixture
def transport() -> str:
    """Templates ride the same fetch as workflows: file:// is enough here."""
    return "file"


def _templates(repo: RepoUnderTest) -> dict[str, WorkflowTemplate]:
    with transaction(repo.runtime.sessions) as session:
        rows = session.scalars(
            select(WorkflowTemplate).where(WorkflowTemplate.tenant_id == repo.tenant_id)
        ).all()
        return {row.slug: row for row in rows}


def test_templates_are_read_and_are_never_canonical_workflows(repo: RepoUnderTest) -> None:
    repo.write_workflow("workflows/orders.json", "Orders")
    repo.clone.write("workflows/_templates/alert.json", template_text(make_template()))
    head = repo.clone.commit("a workflow and a template")
    repo.clone.push()
    result = repo.sync()
    assert (result.created, result.skipped) == (1, [])
    assert result.templates == {"seen": 1, "created": 1, "updated": 0, "deleted": 0}
    assert set(repo.canonicals()) == {"workflows/orders.json"}
    [template] = _templates(repo).values()
    assert (template.slug, template.name) == ("alert", "Alert {{ team }}")
    assert template.description == "Alerts for one team"
    assert template.git_file_path == "workflows/_templates/alert.json"
    assert template.git_commit == head
    assert template.parameters == [
        {"name": "team", "description": "The team to alert", "default": None, "required": True},
        {"name": "level", "description": "Severity", "default": "warning", "required": False},
    ]
    assert "canonflow" not in template.definition
    assert template.definition["name"] == "Alert {{ team }}"


def test_a_template_added_later_is_read_and_not_taken_for_a_workflow(
    repo: RepoUnderTest,
) -> None:
    for name in ("a", "b", "c"):
        repo.write_workflow(f"workflows/{name}.json", name.upper())
    repo.clone.commit("three")
    repo.clone.push()
    repo.sync()
    repo.clone.write("workflows/_templates/alert.json", template_text(make_template()))
    repo.clone.rename("workflows/c.json", "workflows/_templates/c.json")  # moved out
    repo.clone.commit("a template, and a workflow moved among them")
    repo.clone.push()
    result = repo.sync(confirm_prune=True)  # 1 of 3 is past the guard's 20%
    assert result.mode == "diff"
    assert (result.created, result.deleted) == (0, 1)
    assert {p for p, row in repo.canonicals().items() if not row.is_deleted} == {
        "workflows/a.json",
        "workflows/b.json",
    }
    assert set(_templates(repo)) == {"alert"}
    reasons = {s["path"]: s["reason"] for s in result.skipped}
    assert reasons == {
        "workflows/_templates/c.json": "template: not a template: no 'canonflow' object "
        "declaring its parameters"
    }


def test_a_bad_template_is_reported_and_skipped_and_the_others_sync(repo: RepoUnderTest) -> None:
    undeclared = make_template(parameters={"team": {"description": "t"}})
    repo.clone.write("workflows/_templates/good.json", template_text(make_template("Good")))
    repo.clone.write("workflows/_templates/broken.json", "{ not json")
    repo.clone.write("workflows/_templates/undeclared.json", template_text(undeclared))
    repo.clone.commit("templates")
    repo.clone.push()
    result = repo.sync()
    assert set(_templates(repo)) == {"good"}
    reasons = {s["path"]: s["reason"] for s in result.skipped}
    assert reasons["workflows/_templates/broken.json"].startswith("template: not valid JSON")
    assert reasons["workflows/_templates/undeclared.json"] == (
        "template: placeholder {{ level }} at nodes[1].parameters.assignments.assignments[0]"
        ".value is not declared in canonflow.parameters"
    )
    assert result.complete and result.templates["created"] == 1


def test_changed_and_removed_templates_follow_git(repo: RepoUnderTest) -> None:
    repo.clone.write("workflows/_templates/alert.json", template_text(make_template()))
    repo.clone.write("workflows/_templates/other.json", template_text(make_template("Other")))
    repo.clone.commit("two")
    repo.clone.push()
    repo.sync()
    first = _templates(repo)["alert"]
    repo.clone.write(
        "workflows/_templates/alert.json",
        template_text(make_template("Alert v2 {{ team }}", description="second")),
    )
    repo.clone.delete("workflows/_templates/other.json")
    head = repo.clone.commit("change one, drop one")
    repo.clone.push()
    result = repo.sync()
    assert result.templates == {"seen": 1, "created": 0, "updated": 1, "deleted": 1}
    rows = _templates(repo)
    assert set(rows) == {"alert"}
    assert rows["alert"].id == first.id
    assert (rows["alert"].name, rows["alert"].description) == ("Alert v2 {{ team }}", "second")
    assert rows["alert"].git_commit == head
    again = repo.sync()
    assert again.templates == {"seen": 1, "created": 0, "updated": 0, "deleted": 0}
    assert _templates(repo)["alert"].updated_at == rows["alert"].updated_at


def test_templates_are_read_even_when_the_head_did_not_move(repo: RepoUnderTest) -> None:
    """A run with no new commit still lists the directory: a template the table lacks
    (a database restored, or one that existed before canonflow read templates) comes in."""
    repo.clone.write("workflows/_templates/alert.json", template_text(make_template()))
    repo.clone.commit("one")
    repo.clone.push()
    repo.sync()
    with transaction(repo.runtime.sessions) as session:
        session.execute(delete(WorkflowTemplate))
    result = repo.sync()
    assert result.mode == "none"
    assert result.templates["created"] == 1
    assert set(_templates(repo)) == {"alert"}


def test_two_template_files_of_one_slug_keep_the_exact_one(repo: RepoUnderTest) -> None:
    repo.clone.write("workflows/_templates/Alert.json", template_text(make_template("Upper")))
    repo.clone.write("workflows/_templates/alert.json", template_text(make_template("Lower")))
    repo.clone.commit("one slug twice")
    repo.clone.push()
    result = repo.sync()
    assert _templates(repo)["alert"].name == "Lower"
    assert result.skipped == [
        {
            "path": "workflows/_templates/Alert.json",
            "reason": "template: its slug 'alert' is taken by workflows/_templates/alert.json",
        }
    ]
