"""`diff`: changed files directly in a directory, with renames paired."""

from __future__ import annotations

import json

import pytest

from canonflow.git import Change, ChangeKind, GitRepository
from tests.support.git_remotes import WorkingClone


def workflow(name: str, nodes: int = 20) -> str:
    """A workflow-like document; two of them with different names are not similar."""
    nodes_ = [{"name": f"{name} {i}", "id": f"{name}-{i}"} for i in range(nodes)]
    return json.dumps({"name": name, "nodes": nodes_}, indent=2)


def commit_and_fetch(colleague: WorkingClone, repository: GitRepository, message: str) -> str:
    sha = colleague.commit(message)
    colleague.push()
    assert repository.fetch(colleague.branch) == sha
    return sha


@pytest.fixture
def base(repository: GitRepository, colleague: WorkingClone) -> str:
    for name in ("keep", "modify", "delete", "rename", "similar", "move-out"):
        colleague.write(f"workflows/{name}.json", workflow(name))
    colleague.write("elsewhere/move-in.json", workflow("move-in"))
    return commit_and_fetch(colleague, repository, "base")


def test_added_modified_deleted_and_renamed(
    repository: GitRepository, colleague: WorkingClone, base: str
) -> None:
    colleague.write("workflows/new.json", workflow("new"))
    colleague.write("workflows/modify.json", workflow("modify", nodes=21))
    colleague.delete("workflows/delete.json")
    colleague.rename("workflows/rename.json", "workflows/renamed.json")
    colleague.rename("workflows/similar.json", "workflows/similar-2.json")
    colleague.write("workflows/similar-2.json", workflow("similar", nodes=21))
    head = commit_and_fetch(colleague, repository, "changes")
    blob = {f.path: f.blob_id for f in repository.list_files(head, "workflows")}

    changes = repository.diff(base, head, "workflows")

    def change(kind: ChangeKind, old: str | None, new: str | None) -> Change:
        old_path = old and f"workflows/{old}"
        new_path = new and f"workflows/{new}"
        return Change(kind, old_path, new_path, new_path and blob[new_path])

    assert changes == [
        change("deleted", "delete.json", None),
        change("modified", "modify.json", "modify.json"),
        change("added", None, "new.json"),
        change("renamed", "rename.json", "renamed.json"),
        change("renamed", "similar.json", "similar-2.json"),
    ]


def test_files_moved_out_of_or_into_the_directory_are_deleted_or_added(
    repository: GitRepository, colleague: WorkingClone, base: str
) -> None:
    colleague.rename("workflows/move-out.json", "archive/move-out.json")
    colleague.rename("elsewhere/move-in.json", "workflows/move-in.json")
    colleague.rename("workflows/keep.json", "workflows/keep.txt")
    head = commit_and_fetch(colleague, repository, "moves")
    blob = {f.path: f.blob_id for f in repository.list_files(head, "workflows")}

    changes = repository.diff(base, head, "workflows")

    assert changes == [
        Change("deleted", "workflows/keep.json", None, None),
        Change("added", None, "workflows/move-in.json", blob["workflows/move-in.json"]),
        Change("deleted", "workflows/move-out.json", None, None),
    ]


def test_changes_outside_the_directory_or_suffix_are_ignored(
    repository: GitRepository, colleague: WorkingClone, base: str
) -> None:
    colleague.write("workflows/sub/deeper.json", workflow("deeper"))
    colleague.write("workflows/readme.md", "docs")
    colleague.write("elsewhere/move-in.json", workflow("move-in", nodes=3))
    colleague.git("update-index", "--chmod=+x", "workflows/keep.json")
    head = commit_and_fetch(colleague, repository, "noise")

    assert repository.diff(base, head, "workflows") == []
    assert repository.diff(base, base, "workflows") == []


def test_diff_at_the_root_and_from_a_commit_without_the_directory(
    repository: GitRepository, colleague: WorkingClone
) -> None:
    colleague.write("README.md", "first")
    first = commit_and_fetch(colleague, repository, "no workflows yet")
    colleague.write("a.json", workflow("a"))
    colleague.write("workflows/b.json", workflow("b"))
    head = commit_and_fetch(colleague, repository, "workflows")

    assert [c.new_path for c in repository.diff(first, head, "")] == ["a.json"]
    assert [c.kind for c in repository.diff(first, head, "workflows")] == ["added"]
    assert [c.kind for c in repository.diff(head, first, "workflows")] == ["deleted"]


def test_the_rename_threshold_can_be_tuned(
    repository: GitRepository, colleague: WorkingClone, base: str
) -> None:
    colleague.delete("workflows/delete.json")
    colleague.write("workflows/other.json", workflow("other"))  # same shape, other content
    head = commit_and_fetch(colleague, repository, "replace")

    assert [c.kind for c in repository.diff(base, head, "workflows")] == ["deleted", "added"]
    loose = repository.diff(base, head, "workflows", rename_threshold=30)
    assert [(c.kind, c.old_path, c.new_path) for c in loose] == [
        ("renamed", "workflows/delete.json", "workflows/other.json")
    ]
