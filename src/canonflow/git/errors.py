"""The Git adapter's errors.

```
GitError
├── GitUnreachable         the remote cannot be reached: connection refused, DNS, no such path
├── GitEgressRefused       the egress policy refuses the remote, or it redirected elsewhere
├── GitAuthFailed          credentials required or rejected; host key / certificate not trusted
├── GitConflict            push rejected: the remote branch moved on (never force-pushed)
├── GitRefNotFound         the branch is not on the remote, or a commit/blob is not in the cache
└── GitInvalidRepository   the URL is not a Git repository, the cache is corrupted, ...
```

Every message is one readable line naming the remote with its credentials removed; no
message ever contains a token, a password or a key.
"""

from __future__ import annotations


class GitError(Exception):
    """Base of every error raised by `canonflow.git`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class GitUnreachable(GitError):
    """The remote cannot be reached now (connection refused, DNS, no such path)."""


class GitEgressRefused(GitError):
    """The egress policy refuses the remote (a refused address, a local path where local
    repositories are not allowed, canonflow's own data), or it redirected to another host."""


class GitAuthFailed(GitError):
    """The remote wants credentials, rejected them, or could not be trusted."""


class GitConflict(GitError):
    """A push was rejected because it is not a fast-forward; nothing was forced."""


class GitRefNotFound(GitError):
    """A branch the caller named is not on the remote, or a commit or blob is unknown."""


class GitInvalidRepository(GitError):
    """The remote is not a Git repository, or the local cache is unusable."""
