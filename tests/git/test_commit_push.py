"""Committing in memory and pushing, never forcing."""

from __future__ import annotations

from pathlib import Path

import pytest

from canonflow.git import GitConflict, GitRefNotFound, GitRepository, Signature
from tests.git.conftest import OpenRepository, Remote
from tests.support.git_remotes import WorkingClone, run_git

AUTHOR = Signature("canonflow", "bot@canonflow.test")


def many_files(count: int, version: int = 1) -> dict[str, bytes | None]:
    return {
        f"workflows/wf-{i:04d}.json": f'{{"id": {i}, "version": {version}}}\n'.encode()
        for i in range(count)
    }


def test_commit_many_files_on_an_empty_remote_then_push(
    repository: GitRepository, remote: Remote, tmp_path: Path
) -> None:
    assert repository.fetch("main") is None
    files = many_files(300)

    sha = repository.commit_files(
        base_branch="main", branch="main", files=files, message="Onboarding", author=AUTHOR
    )
    repository.push("main")

    assert repository.head("main") == sha
    clone = remote.clone(tmp_path / "check")
    assert clone.head() == sha
    assert clone.files() == {path: data.decode() for path, data in files.items() if data}
    assert (
        clone.git("log", "--format=%an <%ae>|%s|%P") == "canonflow <bot@canonflow.test>|Onboarding|"
    )


def test_commit_on_a_new_branch_starts_from_the_base_branch(
    repository: GitRepository, colleague: WorkingClone, remote: Remote, tmp_path: Path
) -> None:
    colleague.write("workflows/old.json", "old")
    colleague.write("workflows/gone.json", "gone")
    colleague.write("README.md", "readme")
    base = colleague.commit("base")
    colleague.push()
    repository.fetch("main")
    with pytest.raises(GitRefNotFound):
        repository.fetch("canonflow/update")

    files: dict[str, bytes | None] = {
        "workflows/new.json": b"new",
        "workflows/old.json": b"changed",
        "workflows/gone.json": None,
    }
    sha = repository.commit_files(
        base_branch="main",
        branch="canonflow/update",
        files=files,
        message="Update workflows",
        author=AUTHOR,
    )
    repository.push("canonflow/update")

    colleague.git("fetch", "--quiet", "origin")
    assert colleague.git("rev-parse", "origin/canonflow/update") == sha
    assert colleague.git("rev-parse", f"{sha}^") == base
    assert colleague.git("ls-tree", "-r", "--name-only", sha).splitlines() == [
        "README.md", "workflows/new.json", "workflows/old.json",
    ]  # fmt: skip
    assert colleague.git("show", f"{sha}:workflows/old.json") == "changed"
    assert repository.head("main") == base


def test_a_second_commit_builds_on_the_pushed_branch(
    repository: GitRepository, colleague: WorkingClone
) -> None:
    colleague.write("a.json", "a")
    colleague.commit("base")
    colleague.push()
    repository.fetch("main")
    first = repository.commit_files(
        base_branch="main", branch="work", files={"b.json": b"b"}, message="b", author=AUTHOR
    )
    repository.push("work")

    second = repository.commit_files(
        base_branch="main", branch="work", files={"c.json": b"c"}, message="c", author=AUTHOR
    )
    repository.push("work")

    assert repository.is_ancestor(first, second)
    assert [f.path for f in repository.list_files(second, "")] == ["a.json", "b.json", "c.json"]


def test_nothing_to_change_returns_the_parent(
    repository: GitRepository, colleague: WorkingClone
) -> None:
    colleague.write("workflows/a.json", "same")
    head = colleague.commit("base")
    colleague.push()
    repository.fetch("main")

    sha = repository.commit_files(
        base_branch="main",
        branch="main",
        files={"workflows/a.json": b"same", "workflows/missing.json": None},
        message="no-op",
        author=AUTHOR,
    )

    assert sha == head
    repository.push("main")  # a no-op push
    assert colleague.git("ls-remote", "origin", "main").split()[0] == head


def test_a_push_that_is_not_a_fast_forward_is_a_conflict_and_forces_nothing(
    repository: GitRepository, colleague: WorkingClone, remote: Remote
) -> None:
    colleague.write("a.json", "1")
    colleague.commit("base")
    colleague.push()
    repository.fetch("main")
    ours = repository.commit_files(
        base_branch="main", branch="main", files={"b.json": b"ours"}, message="ours", author=AUTHOR
    )
    colleague.write("c.json", "theirs")
    theirs = colleague.commit("someone else pushed first")
    colleague.push()

    with pytest.raises(GitConflict) as caught:
        repository.push("main")

    assert caught.value.message.startswith("cannot push main to ")
    assert run_git("rev-parse", "main", cwd=remote.path) == theirs
    assert repository.head("main") != ours
    assert repository.fetch("main") == theirs
    with pytest.raises(GitConflict):  # the remote's commits are now known: libgit2 checks
        repository.push("main")
    assert run_git("rev-parse", "main", cwd=remote.path) == theirs


def test_commit_before_any_fetch_is_refused(
    file_remote: Remote, open_repository: OpenRepository
) -> None:
    repository = open_repository(file_remote.url)

    with pytest.raises(GitRefNotFound, match="fetch 'main' first"):
        repository.commit_files(
            base_branch="main", branch="main", files={"a.json": b"{}"}, message="m", author=AUTHOR
        )


def test_push_without_a_local_branch_is_refused(repository: GitRepository) -> None:
    with pytest.raises(GitRefNotFound, match="commit_files first"):
        repository.push("never-committed")


@pytest.mark.parametrize(
    "path", ["/abs.json", "../up.json", "a//b.json", ".git/config", "a\\b.json"]
)
def test_unsafe_paths_are_refused(
    file_remote: Remote, open_repository: OpenRepository, path: str
) -> None:
    repository = open_repository(file_remote.url)
    repository.fetch("main")

    with pytest.raises(ValueError, match="not a valid repository path"):
        repository.commit_files(
            base_branch="main", branch="main", files={path: b"x"}, message="m", author=AUTHOR
        )
