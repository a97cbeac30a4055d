"""Reading trees and diffs, and writing trees in memory (no work tree, no index file)."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping

import pygit2
from pygit2.enums import DeltaStatus, DiffFind, FileMode

from canonflow.git.models import Change, TreeFile

_FILE_MODES = frozenset({FileMode.BLOB, FileMode.BLOB_EXECUTABLE})
# Percent similar for a deleted and an added file to be paired as a rename. Stricter than
# git's 50: pretty-printed workflows share much structure, and libgit2's similarity scores
# them higher than git does (two unrelated workflows of the same shape can score 50-80).
DEFAULT_RENAME_THRESHOLD = 70
_RENAME_LIMIT = 1000  # git's diff.renameLimit default


def normalize_directory(directory: str) -> str:
    """`directory` as a clean relative posix path ("" for the root); ValueError otherwise."""
    cleaned = directory.strip("/")
    if not cleaned:
        return ""
    check_path(cleaned)
    return cleaned


def check_path(path: str) -> None:
    """Refuse paths that are not clean, relative, inside the repository."""
    parts = path.split("/")
    if (
        not path
        or path.startswith("/")
        or "\\" in path
        or "\0" in path
        or any(part in {"", ".", ".."} for part in parts)
        or any(part.lower() == ".git" for part in parts)
    ):
        raise ValueError(f"not a valid repository path: {path!r}")


def subtree(tree: pygit2.Tree, directory: str) -> pygit2.Tree | None:
    """The tree at `directory` ("" = `tree` itself), or None if there is no such directory."""
    if not directory:
        return tree
    try:
        found = tree[directory]
    except KeyError:
        return None
    return found if isinstance(found, pygit2.Tree) else None


def list_files(
    repo: pygit2.Repository, tree: pygit2.Tree, directory: str, suffix: str
) -> list[TreeFile]:
    directory_tree = subtree(tree, directory)
    if directory_tree is None:
        return []
    odb = repo.odb
    files = [
        TreeFile(
            path=posixpath.join(directory, name),
            blob_id=str(entry.id),
            size=odb.read_header(entry.id)[1],
        )
        for entry in directory_tree
        if (name := entry.name) is not None
        and entry.filemode in _FILE_MODES
        and name.endswith(suffix)
    ]
    files.sort(key=lambda file: file.path)
    return files


def diff_trees(
    old: pygit2.Tree, new: pygit2.Tree, directory: str, suffix: str, rename_threshold: int
) -> list[Change]:
    """Changes to files directly in `directory` ending with `suffix`, with renames found.

    The diff runs over the whole trees, so a file moved between `directory` and elsewhere
    is paired too, then reported from the directory's point of view: moved out = deleted,
    moved in = added.
    """
    diff = old.diff_to_tree(new)
    diff.find_similar(
        flags=DiffFind.FIND_RENAMES,
        rename_threshold=rename_threshold,
        rename_limit=_RENAME_LIMIT,
    )
    changes: list[Change] = []
    for delta in diff.deltas:
        change = _change(delta, directory, suffix)
        if change is not None:
            changes.append(change)
    changes.sort(key=lambda change: change.new_path or change.old_path or "")
    return changes


def _change(delta: pygit2.DiffDelta, directory: str, suffix: str) -> Change | None:
    def in_scope(file: pygit2.DiffFile) -> bool:
        return (
            file.mode in _FILE_MODES
            and posixpath.dirname(file.path) == directory
            and file.path.endswith(suffix)
        )

    old, new = delta.old_file, delta.new_file
    had = delta.status != DeltaStatus.ADDED and in_scope(old)
    has = delta.status != DeltaStatus.DELETED and in_scope(new)
    if had and has:
        if delta.status == DeltaStatus.RENAMED and old.path != new.path:
            return Change("renamed", old.path, new.path, str(new.id))
        if old.id == new.id:
            return None  # the mode changed, the content did not
        return Change("modified", old.path, new.path, str(new.id))
    if has:
        return Change("added", None, new.path, str(new.id))
    if had:
        return Change("deleted", old.path, None, None)
    return None


def write_tree(
    repo: pygit2.Repository, base: pygit2.Tree | None, files: Mapping[str, bytes | None]
) -> pygit2.Oid:
    """Write the tree of `base` with `files` applied (path → content, None deletes)."""
    index = pygit2.Index()
    if base is not None:
        index.read_tree(base)
    for path, content in files.items():
        check_path(path)
        if content is None:
            if path in index:
                index.remove(path)
            continue
        blob_id = repo.create_blob(content)
        try:
            index.add(pygit2.IndexEntry(path, blob_id, FileMode.BLOB))
        except pygit2.GitError as exc:  # "a/b" where "a" is a file, or the reverse
            raise ValueError(f"cannot write {path!r}: {exc}") from exc
    return index.write_tree(repo)
