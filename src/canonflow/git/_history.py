"""One file's history: the commits that changed it, newest first (a file's versions)."""

from __future__ import annotations

from datetime import UTC, datetime

import pygit2
from pygit2.enums import SortMode

from canonflow.git.models import FileVersion


def blob_at(tree: pygit2.Tree, path: str) -> str | None:
    """The blob id of `path` in `tree`, None when there is no file there."""
    try:
        entry = tree[path]
    except KeyError:
        return None
    return str(entry.id) if entry.type_str == "blob" else None


def file_history(
    repo: pygit2.Repository, head: pygit2.Commit, path: str, *, limit: int
) -> list[FileVersion]:
    """Up to `limit` commits reachable from `head` whose `path` differs from each of their
    parents' (the commit that deleted the file included: its blob id is None). A merge
    that took the file from one parent is not a version of its own."""
    versions: list[FileVersion] = []
    walker = repo.walk(head.id, SortMode.TOPOLOGICAL | SortMode.TIME)
    for commit in walker:
        blob = blob_at(commit.tree, path)
        parents = [blob_at(parent.tree, path) for parent in commit.parents]
        if (blob in parents) or (not parents and blob is None):
            continue
        versions.append(_version(commit, blob))
        if len(versions) >= limit:
            break
    return versions


def _version(commit: pygit2.Commit, blob: str | None) -> FileVersion:
    author = commit.author
    return FileVersion(
        commit=str(commit.id),
        blob_id=blob,
        author_name=author.name,
        author_email=author.email,
        authored_at=datetime.fromtimestamp(author.time, tz=UTC),
        message=commit.message.strip(),
    )
