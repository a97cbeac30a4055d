"""A pygit2 adapter: one remote repository mirrored into a bare cache on local disk.

```python
with GitRepository.open_or_clone(cache_dir, url, RemoteAuth(token=token)) as repo:
    head = repo.fetch("main")                       # network; None if the remote is empty
    files = repo.list_files(head, "workflows")      # local from here on
    for blob_id, data in repo.read_blobs([f.blob_id for f in files]):
        ...
    changes = repo.diff(last_synced, head, "workflows")
    sha = repo.commit_files(base_branch="main", branch="canonflow/x",
                            files={"workflows/a.json": data}, message="...",
                            author=Signature("canonflow", "bot@example.com"))
    repo.push("canonflow/x")                        # GitConflict if not a fast-forward
```

Transports: local paths, file://, git://, http(s):// (a token sent as the password) and
ssh:// (a private key held in memory). Before every fetch and push the remote is checked by
the egress policy (`canonflow.egress`): its host's addresses, or its local path; a redirect
to another host is never followed (the cache's `http.followRedirects` is false). Hosts
are trusted as libgit2 verifies them: the system CA store for https, ~/.ssh/known_hosts
for ssh. Errors are `GitError` subclasses
(see `canonflow.git.errors`); no message, repr or log event contains a credential.
"""

from canonflow.git.errors import (
    GitAuthFailed,
    GitConflict,
    GitEgressRefused,
    GitError,
    GitInvalidRepository,
    GitRefNotFound,
    GitUnreachable,
)
from canonflow.git.models import (
    Change,
    ChangeKind,
    FileVersion,
    RemoteAuth,
    Signature,
    TreeFile,
)
from canonflow.git.repository import GitRepository

__all__ = [
    "Change",
    "ChangeKind",
    "FileVersion",
    "GitAuthFailed",
    "GitConflict",
    "GitEgressRefused",
    "GitError",
    "GitInvalidRepository",
    "GitRefNotFound",
    "GitRepository",
    "GitUnreachable",
    "RemoteAuth",
    "Signature",
    "TreeFile",
    "blob_id",
    "set_network_timeouts",
]


def blob_id(data: bytes) -> str:
    """The id Git gives a file with this content."""
    import pygit2

    return str(pygit2.hash(data))


def set_network_timeouts(*, connect_s: float, io_s: float) -> None:
    """libgit2 waits forever by default: bound connecting and each network read/write.
    Process-wide; the runtime sets it at start-up."""
    import pygit2

    pygit2.settings.server_connect_timeout = int(connect_s * 1000)
    pygit2.settings.server_timeout = int(io_s * 1000)
