"""`GitRepository`: one remote, mirrored into a bare cache on local disk."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self

import pygit2
import structlog
from pygit2.enums import FetchPrune, ObjectType

from canonflow import egress as egress_policy
from canonflow.egress import EgressPolicy, EgressRefused, repository_target
from canonflow.git import _history, _trees
from canonflow.git._cache import TRACKING_PREFIX, open_or_create, point_origin, refuse_redirects
from canonflow.git._remote import Callbacks, map_remote_error, redact_url, scrub, url_secrets
from canonflow.git.errors import (
    GitConflict,
    GitEgressRefused,
    GitError,
    GitInvalidRepository,
    GitRefNotFound,
    GitUnreachable,
)
from canonflow.git.models import Change, FileVersion, RemoteAuth, Signature, TreeFile

_log = structlog.get_logger("canonflow.git")
_BRANCH_PREFIX = "refs/heads/"
_PUSH = 1  # GIT_DIRECTION_PUSH


class GitRepository:
    """A remote repository and its local bare cache.

    Only `fetch` and `push` talk to the remote; everything else reads the cache. The
    remote's credentials live in memory only: the cache's config records the URL without
    them. Not thread-safe: use one instance per job (and one job per cache at a time).

    ```python
    with GitRepository.open_or_clone(cache_dir, url, RemoteAuth(token=...)) as repo:
        head = repo.fetch("main")          # None: the remote has no commits yet
        files = repo.list_files(head, "workflows") if head else []
    ```
    """

    def __init__(
        self,
        repo: pygit2.Repository,
        url: str,
        auth: RemoteAuth | None,
        egress: EgressPolicy | None = None,
    ) -> None:
        self._repo: pygit2.Repository | None = repo
        self._url = url
        self._auth = auth
        self._egress = egress or egress_policy.current()
        self._secrets = url_secrets(url, auth)
        self._remote_is_empty = False

    @classmethod
    def open_or_clone(
        cls,
        cache_dir: Path,
        url: str,
        auth: RemoteAuth | None = None,
        *,
        egress: EgressPolicy | None = None,
    ) -> GitRepository:
        """Open the cache at `cache_dir`, creating it if missing and re-pointing it if the
        remote URL changed. No network access: the first `fetch` downloads. `egress`: the
        policy every fetch and push is checked by (the process's policy by default)."""
        repo = open_or_create(cache_dir)
        try:
            refuse_redirects(repo)
            point_origin(repo, url)
        except pygit2.GitError as exc:
            repo.free()
            raise GitInvalidRepository(f"the cache {cache_dir} is unusable: {exc}") from exc
        return cls(repo, url, auth, egress)

    def __repr__(self) -> str:
        path = self._repo.path if self._repo is not None else "closed"
        return f"GitRepository(url={redact_url(self._url)!r}, cache={path!r})"

    # -- the remote -------------------------------------------------------------------

    def fetch(self, branch: str) -> str | None:
        """Fetch `branch` from the remote into origin/<branch> and return its head.

        None if the remote has no branches at all (nothing pushed yet); GitRefNotFound if it
        has others but not this one. A force-pushed branch is followed (see `is_ancestor`).
        """
        tracking = _tracking_ref(branch)
        started = time.monotonic()
        self._check_egress(f"fetch {branch} from")
        with self._remote_errors(f"fetch {branch} from"):
            remote = self._git.remotes.create_anonymous(self._url)
            remote.fetch(
                [f"+{_BRANCH_PREFIX}{branch}:{tracking}"],
                callbacks=Callbacks(self._url, self._auth),
                prune=FetchPrune.NO_PRUNE,
            )
            advertised = {
                head.name: head.oid for head in remote.list_heads(connect=False) if head.name
            }
        head = advertised.get(f"{_BRANCH_PREFIX}{branch}")
        self._remote_is_empty = not any(name.startswith(_BRANCH_PREFIX) for name in advertised)
        with self._local_errors():
            if head is None:
                with contextlib.suppress(KeyError):
                    self._git.references.delete(tracking)
            else:
                self._git.references.create(tracking, head, force=True)
        if head is None:
            if self._remote_is_empty:
                return None
            raise GitRefNotFound(f"branch {branch!r} does not exist on {redact_url(self._url)}")
        _log.debug(
            "git.fetch",
            remote=redact_url(self._url),
            branch=branch,
            head=str(head),
            seconds=round(time.monotonic() - started, 3),
        )
        return str(head)

    def check_push_access(self) -> None:
        """Connect to the remote for a push and disconnect, writing nothing: raises as
        `push` would when the server refuses pushes or the credentials cannot write
        (servers that decide per branch can still refuse the push itself)."""
        self._check_egress("connect for a push to")
        with self._remote_errors("connect for a push to"):
            remote = self._git.remotes.create_anonymous(self._url)
            remote.connect(callbacks=Callbacks(self._url, self._auth), direction=_PUSH)

    def push(self, branch: str) -> None:
        """Push refs/heads/<branch> to the remote's <branch>, never forcing: GitConflict if
        the remote branch has commits the local one does not contain."""
        local = self._git.references.get(f"{_BRANCH_PREFIX}{_checked_branch(branch)}")
        if local is None:
            raise GitRefNotFound(f"no local branch {branch!r} to push: commit_files first")
        callbacks = Callbacks(self._url, self._auth)
        refspec = f"{_BRANCH_PREFIX}{branch}:{_BRANCH_PREFIX}{branch}"
        self._check_egress(f"push {branch} to")
        with self._remote_errors(f"push {branch} to"):
            remote = self._git.remotes.create_anonymous(self._url)
            remote.push([refspec], callbacks=callbacks)
        for reason in callbacks.rejected_refs.values():  # refused by the server
            where = redact_url(self._url)
            message = f"cannot push {branch} to {where}: rejected ({scrub(reason, self._secrets)})"
            is_conflict = any(word in reason for word in ("fast-forward", "fetch first", "stale"))
            raise GitConflict(message) if is_conflict else GitError(message)
        with self._local_errors():
            self._git.references.create(_tracking_ref(branch), local.target, force=True)
        _log.debug("git.push", remote=redact_url(self._url), branch=branch, head=str(local.target))

    # -- the local cache --------------------------------------------------------------

    def head(self, branch: str) -> str | None:
        """The head of origin/<branch> as last fetched or pushed (no network)."""
        ref = self._git.references.get(_tracking_ref(branch))
        return None if ref is None else str(ref.target)

    def has_commit(self, sha: str) -> bool:
        return self._find_commit(sha) is not None

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """True if `descendant`'s history contains `ancestor` (or they are the same commit);
        False if either is unknown, e.g. after a history rewrite."""
        old, new = self._find_commit(ancestor), self._find_commit(descendant)
        if old is None or new is None:
            return False
        return old.id == new.id or self._git.descendant_of(new.id, old.id)

    def commit_time(self, sha: str) -> datetime:
        """The commit's committer time, in UTC."""
        return datetime.fromtimestamp(self._commit(sha).commit_time, tz=UTC)

    def list_files(self, commit: str, directory: str, suffix: str = ".json") -> list[TreeFile]:
        """The files directly in `directory` ("" = the root) ending with `suffix`, by path."""
        tree = self._commit(commit).tree
        with self._local_errors():
            return _trees.list_files(self._git, tree, _trees.normalize_directory(directory), suffix)

    def diff(
        self,
        old_commit: str,
        new_commit: str,
        directory: str,
        suffix: str = ".json",
        *,
        rename_threshold: int = _trees.DEFAULT_RENAME_THRESHOLD,
    ) -> list[Change]:
        """The files directly in `directory` ending with `suffix` that changed between two
        commits, ordered by path. A deleted and an added file at least `rename_threshold`
        percent similar (100: identical) are paired as "renamed"; a file moved into or out
        of `directory` is "added" or "deleted"."""
        old, new = self._commit(old_commit).tree, self._commit(new_commit).tree
        directory = _trees.normalize_directory(directory)
        with self._local_errors():
            return _trees.diff_trees(old, new, directory, suffix, rename_threshold)

    def file_history(self, commit: str, path: str, *, limit: int = 100) -> list[FileVersion]:
        """The commits reachable from `commit` that changed `path`, newest first."""
        _trees.check_path(path)
        with self._local_errors():
            return _history.file_history(self._git, self._commit(commit), path, limit=limit)

    def blob_id_at(self, commit: str, path: str) -> str | None:
        """The blob id of `path` at `commit`, None when the commit has no such file."""
        _trees.check_path(path)
        return _history.blob_at(self._commit(commit).tree, path)

    def read_file(self, commit: str, path: str) -> bytes | None:
        """The content of `path` at `commit`, None when the commit has no such file."""
        _trees.check_path(path)
        blob = _history.blob_at(self._commit(commit).tree, path)
        return None if blob is None else self._read(blob)

    def read_blob(self, blob_id: str) -> bytes:
        return self._read(blob_id)

    def read_blobs(self, blob_ids: Sequence[str]) -> Iterator[tuple[str, bytes]]:
        """(blob id, content) for every id, in the order given."""
        for blob_id in blob_ids:
            yield blob_id, self._read(blob_id)

    def commit_files(
        self,
        *,
        base_branch: str,
        branch: str,
        files: Mapping[str, bytes | None],
        message: str,
        author: Signature,
    ) -> str:
        """Commit `files` (path → content, None deletes) on top of origin/<branch> if it
        exists, else origin/<base_branch>, else as a root commit when the last fetch found
        the remote empty; point refs/heads/<branch> at it and return its sha. Nothing is
        committed when the tree would not change: the parent's sha is returned.

        Each call starts again from the remote-tracking branches: put every file of one
        change into one call, then `push`.
        """
        parent = self._parent_for(base_branch, _checked_branch(branch))
        with self._local_errors():
            tree_id = _trees.write_tree(self._git, parent.tree if parent else None, files)
            if parent is not None and tree_id == parent.tree_id:
                commit_id = parent.id
            else:
                signature = pygit2.Signature(author.name, author.email, int(time.time()), 0)
                text = message if message.endswith("\n") else f"{message}\n"
                parents = [parent.id] if parent is not None else []
                commit_id = self._git.create_commit(
                    None, signature, signature, text, tree_id, parents
                )
            self._git.references.create(f"{_BRANCH_PREFIX}{branch}", commit_id, force=True)
        return str(commit_id)

    def close(self) -> None:
        """Release the cache's files; the instance cannot be used afterwards."""
        repo, self._repo = self._repo, None
        if repo is not None:
            repo.free()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- helpers ----------------------------------------------------------------------

    @property
    def _git(self) -> pygit2.Repository:
        if self._repo is None:
            raise GitError("the repository is closed")
        return self._repo

    def _parent_for(self, base_branch: str, branch: str) -> pygit2.Commit | None:
        for name in (branch, base_branch):
            sha = self.head(name)
            if sha is not None:
                return self._commit(sha)
        if self._remote_is_empty:
            return None
        raise GitRefNotFound(
            f"neither {branch!r} nor {base_branch!r} is known from "
            f"{redact_url(self._url)}: fetch {base_branch!r} first"
        )

    def _find_commit(self, sha: str) -> pygit2.Commit | None:
        try:
            found = self._git.get(sha)
        except (ValueError, TypeError):  # not hex, or an ambiguous prefix
            return None
        return found if isinstance(found, pygit2.Commit) else None

    def _commit(self, sha: str) -> pygit2.Commit:
        commit = self._find_commit(sha)
        if commit is None:
            raise GitRefNotFound(f"commit {sha!r} is not in the local repository")
        return commit

    def _read(self, blob_id: str) -> bytes:
        try:
            kind, data = self._git.odb.read(blob_id)
        except (KeyError, ValueError, TypeError) as exc:
            raise GitRefNotFound(f"blob {blob_id!r} is not in the local repository") from exc
        except pygit2.GitError as exc:
            raise GitInvalidRepository(f"cannot read blob {blob_id!r}: {exc}") from exc
        if kind != ObjectType.BLOB:
            raise GitRefNotFound(f"{blob_id!r} is not a blob")
        return data

    def _check_egress(self, action: str) -> None:
        """Resolve the remote's host (or look at its local path) and check it against the
        egress policy, just before libgit2 connects. libgit2 resolves the name again
        itself: a name that changes in between is not caught here (HTTP clients are)."""
        where = redact_url(self._url)
        try:
            self._egress.check_target(repository_target(self._url))
        except EgressRefused as exc:
            raise GitEgressRefused(f"cannot {action} {where}: {exc.message}") from exc
        except (OSError, ValueError) as exc:
            raise GitUnreachable(f"cannot {action} {where}: {exc}") from exc

    @contextlib.contextmanager
    def _remote_errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except (pygit2.GitError, GitError, OSError) as exc:
            raise map_remote_error(
                exc, url=self._url, action=action, secrets=self._secrets
            ) from exc

    @contextlib.contextmanager
    def _local_errors(self) -> Iterator[None]:
        try:
            yield
        except pygit2.GitError as exc:
            raise GitInvalidRepository(f"the cache {self._git.path} failed: {exc}") from exc


def _checked_branch(branch: str) -> str:
    if not branch or not pygit2.reference_is_valid_name(f"{_BRANCH_PREFIX}{branch}"):
        raise GitRefNotFound(f"{branch!r} is not a valid branch name")
    return branch


def _tracking_ref(branch: str) -> str:
    return f"{TRACKING_PREFIX}{_checked_branch(branch)}"
