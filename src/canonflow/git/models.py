"""The adapter's value objects: credentials, tree entries, changes, signatures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

ChangeKind = Literal["added", "modified", "deleted", "renamed"]
DEFAULT_TOKEN_USERNAME = "x-access-token"  # noqa: S105 - a user name, not a secret


@dataclass(frozen=True)
class RemoteAuth:
    """Credentials for a remote; the repr shows which are set, never their values.

    - https: `token` is sent as the password of `username` (default "x-access-token",
      which GitHub, Gitea/Forgejo and GitLab accept for tokens).
    - ssh: `ssh_private_key` is the key's text (PEM or OpenSSH format), with an optional
      `ssh_passphrase`; the user is the URL's (`ssh://git@host/...`), else `username`,
      else "git". Prefer ed25519 or ECDSA keys: with the pygit2 1.21 wheel (libssh2
      1.11.1, OpenSSL 3.5) RSA keys corrupted the heap and crashed the process in a
      loopback test, while ed25519 and ECDSA keys worked.
    """

    token: str | None = None
    username: str | None = None
    ssh_private_key: str | None = None
    ssh_passphrase: str | None = None

    def __repr__(self) -> str:
        def hidden(value: str | None) -> str:
            return "None" if value is None else "'***'"

        return (
            f"RemoteAuth(token={hidden(self.token)}, username={self.username!r}, "
            f"ssh_private_key={hidden(self.ssh_private_key)}, "
            f"ssh_passphrase={hidden(self.ssh_passphrase)})"
        )

    def secrets(self) -> tuple[str, ...]:
        """The secret values, to scrub from any text that leaves the adapter."""
        values = (self.token, self.ssh_private_key, self.ssh_passphrase)
        return tuple(value for value in values if value)


@dataclass(frozen=True)
class TreeFile:
    """A file in a commit's tree: `path` is relative to the repository root, posix."""

    path: str
    blob_id: str
    size: int


@dataclass(frozen=True)
class Change:
    """One changed file between two commits; `blob_id` is the new side's (None if deleted)."""

    kind: ChangeKind
    old_path: str | None
    new_path: str | None
    blob_id: str | None


@dataclass(frozen=True)
class Signature:
    """Who wrote a commit."""

    name: str
    email: str


@dataclass(frozen=True)
class FileVersion:
    """A commit that changed one file; `blob_id` None: the commit deleted it."""

    commit: str
    blob_id: str | None
    author_name: str
    author_email: str
    authored_at: datetime
    message: str
