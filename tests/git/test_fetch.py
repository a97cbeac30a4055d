"""Fetching, and reading what was fetched: over a local path, file:// and git://."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from canonflow.git import GitRefNotFound, GitRepository
from tests.git.conftest import OpenRepository, Remote
from tests.support.git_remotes import WorkingClone


def test_an_empty_remote_has_no_head(repository: GitRepository, remote: Remote) -> None:
    assert repository.fetch("main") is None
    assert repository.head("main") is None
    assert repository.fetch("main") is None


def test_fetch_returns_the_remote_head_and_files_can_be_listed_and_read(
    repository: GitRepository, colleague: WorkingClone
) -> None:
    colleague.write("workflows/a.json", '{"a": 1}')
    colleague.write("workflows/b.json", '{"b": 2}')
    colleague.write("workflows/notes.md", "not a workflow")
    colleague.write("workflows/nested/c.json", "{}")
    colleague.write("top.json", "{}")
    sha = colleague.commit("two workflows")
    colleague.push()

    assert repository.fetch("main") == sha
    assert repository.head("main") == sha
    files = repository.list_files(sha, "workflows")

    assert [file.path for file in files] == ["workflows/a.json", "workflows/b.json"]
    assert files[0].size == len('{"a": 1}')
    ids = [files[1].blob_id, files[0].blob_id, files[1].blob_id]
    assert list(repository.read_blobs(ids)) == [
        (files[1].blob_id, b'{"b": 2}'),
        (files[0].blob_id, b'{"a": 1}'),
        (files[1].blob_id, b'{"b": 2}'),
    ]
    assert repository.read_blob(files[1].blob_id) == b'{"b": 2}'


def test_list_files_at_the_root_with_another_suffix_and_in_a_missing_directory(
    repository: GitRepository, colleague: WorkingClone
) -> None:
    colleague.write("top.json", "{}")
    colleague.write("README.md", "# hi")
    colleague.write("workflows/a.json", "{}")
    sha = colleague.commit("files")
    colleague.push()
    repository.fetch("main")

    assert [f.path for f in repository.list_files(sha, "")] == ["top.json"]
    assert [f.path for f in repository.list_files(sha, "/workflows/")] == ["workflows/a.json"]
    assert [f.path for f in repository.list_files(sha, "", suffix=".md")] == ["README.md"]
    assert repository.list_files(sha, "missing") == []
    assert repository.list_files(sha, "top.json") == []


def test_a_second_fetch_follows_new_commits(
    repository: GitRepository, colleague: WorkingClone
) -> None:
    colleague.write("a.json", "1")
    first = colleague.commit("one")
    colleague.push()
    assert repository.fetch("main") == first
    colleague.write("a.json", "2")
    second = colleague.commit("two")
    colleague.push()

    assert repository.head("main") == first  # no network until fetch
    assert repository.fetch("main") == second
    assert repository.is_ancestor(first, second)


def test_a_branch_missing_on_a_remote_with_other_branches_is_not_found(
    repository: GitRepository, colleague: WorkingClone, remote: Remote
) -> None:
    colleague.write("a.json", "{}")
    colleague.commit("one")
    colleague.push()

    with pytest.raises(GitRefNotFound) as caught:
        repository.fetch("develop")

    assert "'develop' does not exist" in caught.value.message
    assert repository.head("develop") is None


def test_a_branch_deleted_on_the_remote_is_forgotten(
    repository: GitRepository, colleague: WorkingClone
) -> None:
    colleague.write("a.json", "{}")
    colleague.commit("one")
    colleague.push()
    colleague.switch("feature", create=True)
    colleague.push()
    assert repository.fetch("feature") is not None
    colleague.git("push", "--quiet", "origin", "--delete", "feature")

    with pytest.raises(GitRefNotFound):
        repository.fetch("feature")
    assert repository.head("feature") is None


def test_an_invalid_branch_name_is_refused(repository: GitRepository) -> None:
    with pytest.raises(GitRefNotFound, match="not a valid branch name"):
        repository.fetch("bad..name")


def test_the_cache_is_reused_and_works_offline(
    file_remote: Remote, open_repository: OpenRepository, tmp_path: Path
) -> None:
    colleague = file_remote.clone(tmp_path / "colleague")
    colleague.write("a.json", "{}")
    sha = colleague.commit("one")
    colleague.push()
    open_repository(file_remote.url).fetch("main")

    reopened = open_repository(file_remote.url)

    assert reopened.head("main") == sha
    assert [f.path for f in reopened.list_files(sha, "")] == ["a.json"]


def test_a_changed_url_repoints_origin_and_forgets_the_old_branches(
    file_remote: Remote, open_repository: OpenRepository, tmp_path: Path
) -> None:
    colleague = file_remote.clone(tmp_path / "colleague")
    colleague.write("a.json", "{}")
    old_head = colleague.commit("one")
    colleague.push()
    first = open_repository(file_remote.url)
    first.fetch("main")
    first.close()
    other = file_remote.clone(tmp_path / "other-colleague")  # a second remote, pushed to
    other_remote = tmp_path / "elsewhere.git"
    other.git("init", "--quiet", "--bare", str(other_remote))
    other.git("push", "--quiet", other_remote.as_uri(), "main")
    other.write("b.json", "{}")
    new_head = other.commit("two")
    other.git("push", "--quiet", other_remote.as_uri(), "main")

    moved = open_repository(other_remote.as_uri())

    assert moved.head("main") is None
    assert moved.has_commit(old_head)  # objects are kept
    assert moved.fetch("main") == new_head


def test_commit_time_is_the_committer_time_in_utc(
    repository: GitRepository, colleague: WorkingClone
) -> None:
    at = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone(timedelta(hours=2)))
    colleague.write("a.json", "{}")
    sha = colleague.commit("dated", at=at)
    colleague.push()
    repository.fetch("main")

    committed = repository.commit_time(sha)

    assert committed == at
    assert committed.tzinfo is UTC


def test_unknown_commits_and_blobs(repository: GitRepository) -> None:
    unknown = "0123456789abcdef0123456789abcdef01234567"
    assert not repository.has_commit(unknown)
    assert not repository.has_commit("not-hex")
    with pytest.raises(GitRefNotFound):
        repository.list_files(unknown, "")
    with pytest.raises(GitRefNotFound):
        repository.read_blob(unknown)
    with pytest.raises(GitRefNotFound):
        list(repository.read_blobs([unknown]))
