"""Ancestry, across ordinary pushes and force-pushed rewrites."""

from __future__ import annotations

from canonflow.git import GitRepository
from tests.support.git_remotes import WorkingClone


def test_is_ancestor_follows_history_and_is_false_after_a_rewrite(
    repository: GitRepository, colleague: WorkingClone
) -> None:
    colleague.write("a.json", "1")
    first = colleague.commit("one")
    colleague.write("a.json", "2")
    synced = colleague.commit("two")
    colleague.push()
    assert repository.fetch("main") == synced
    assert repository.is_ancestor(first, synced)
    assert repository.is_ancestor(synced, synced)
    assert not repository.is_ancestor(synced, first)

    rewritten = colleague.rewrite_history()
    assert repository.fetch("main") == rewritten

    assert not repository.is_ancestor(synced, rewritten)
    assert repository.is_ancestor(first, rewritten)
    assert repository.has_commit(synced)  # still in the cache: a diff against it works
    assert [c.kind for c in repository.diff(synced, rewritten, "")] == []


def test_is_ancestor_is_false_for_unknown_commits(
    repository: GitRepository, colleague: WorkingClone
) -> None:
    colleague.write("a.json", "1")
    head = colleague.commit("one")
    colleague.push()
    repository.fetch("main")
    unknown = "f" * 40

    assert not repository.is_ancestor(unknown, head)
    assert not repository.is_ancestor(head, unknown)
    assert not repository.is_ancestor("not a sha", head)
