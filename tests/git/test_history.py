"""A file's versions and its content at a commit, read from the cache."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from canonflow.git import GitRefNotFound
from tests.git.conftest import OpenRepository, Remote
from tests.support.git_remotes import WorkingClone

PATH = "workflows/billing.json"


def test_versions_are_the_commits_that_changed_the_file_newest_first(
    file_remote: Remote, open_repository: OpenRepository
) -> None:
    colleague = file_remote.clone(file_remote.path.parent / "colleague")
    colleague.write(PATH, "v1")
    first = colleague.commit("Add billing", at=datetime(2026, 1, 1, tzinfo=UTC))
    colleague.write("workflows/other.json", "x")
    colleague.commit("Other workflow")  # not a version of billing
    colleague.write(PATH, "v2")
    second = colleague.commit("Billing: retry twice\n\nLonger body.")
    colleague.switch("side", create=True)
    colleague.write(PATH, "v3")
    side = colleague.commit("Billing on a branch")
    colleague.switch("main")
    colleague.write("README.md", "readme")
    colleague.commit("Readme")
    colleague.git("merge", "--no-ff", "-m", "Merge side", "side")
    merge = colleague.head()
    colleague.delete(PATH)
    deleted = colleague.commit("Drop billing")
    colleague.push()
    colleague.git("push", "origin", "side")

    repository = open_repository(file_remote.url)
    head = repository.fetch("main")
    assert head == deleted
    versions = repository.file_history(head, PATH)
    assert [v.commit for v in versions] == [deleted, side, second, first]
    assert merge not in [v.commit for v in versions]  # it took the file from one parent
    assert versions[0].blob_id is None
    assert versions[2].message == "Billing: retry twice\n\nLonger body."
    assert versions[-1].authored_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert versions[-1].author_email
    assert [v.commit for v in repository.file_history(head, PATH, limit=2)] == [deleted, side]

    assert repository.read_file(second, PATH) == b"v2"
    assert repository.read_file(side, PATH) == b"v3"
    assert repository.read_file(deleted, PATH) is None
    assert repository.file_history(head, "workflows/never.json") == []


def test_unknown_commits_and_bad_paths_are_refused(
    file_remote: Remote, open_repository: OpenRepository
) -> None:
    colleague: WorkingClone = file_remote.clone(file_remote.path.parent / "colleague")
    colleague.write(PATH, "v1")
    colleague.commit("Add billing")
    colleague.push()
    repository = open_repository(file_remote.url)
    head = repository.fetch("main")
    assert head is not None
    with pytest.raises(GitRefNotFound):
        repository.file_history("0" * 40, PATH)
    with pytest.raises(ValueError, match="not a valid repository path"):
        repository.read_file(head, "../etc/passwd")
