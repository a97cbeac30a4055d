"""Talking to a remote: credentials, trust, URL redaction and libgit2 error mapping."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import pygit2
from pygit2.enums import CredentialType

from canonflow.git.errors import (
    GitAuthFailed,
    GitConflict,
    GitEgressRefused,
    GitError,
    GitInvalidRepository,
    GitUnreachable,
)
from canonflow.git.models import DEFAULT_TOKEN_USERNAME, RemoteAuth

_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?[^/:]+:(?!//)")  # git@host:owner/repo.git
_DEFAULT_SSH_USER = "git"
_C = TypeVar("_C")

# Fragments of libgit2's messages (lower-cased) and the error they mean, in this order.
_CONFLICT = ("non-fastforward", "non-fast-forward", "not present locally", "fetch first")
_AUTH = (
    "authenticat", "credential", "status code: 401", "status code: 403", "permission denied",
    "certificate", "hostkey", "host key",
)  # fmt: skip
_UNREACHABLE = (
    "failed to connect", "failed to resolve", "connection refused", "timed out",
    "could not resolve", "unreachable", "no route to host", "connection reset", "broken pipe",
    "not exported", "status code: 404", "status code: 5", "no such file", "early eof",
    "unexpected eof", "connection closed", "socket",
)  # fmt: skip
_INVALID = (
    "could not find repository", "not a git repository", "content-type", "invalid packet",
    "corrupt", "unsupported url protocol", "invalid pack", "unexpected http status", "malformed",
)  # fmt: skip
_PATTERNS: tuple[tuple[type[GitError], tuple[str, ...]], ...] = (
    (GitConflict, _CONFLICT),
    (GitAuthFailed, _AUTH),
    (GitUnreachable, _UNREACHABLE),
    (GitInvalidRepository, _INVALID),
)


def redact_url(url: str) -> str:
    """The URL without a password or query string (`https://user:tok@h/r` → `https://user@h/r`)."""
    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return url.split("://", 1)[0] + "://<unparsable URL>"
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def url_secrets(url: str, auth: RemoteAuth | None) -> tuple[str, ...]:
    """Every secret that could show up in a libgit2 message about this remote."""
    found = list(auth.secrets()) if auth else []
    if "://" in url:
        try:
            password = urlsplit(url).password
        except ValueError:
            password = None
        if password:
            found.append(password)
    return tuple(found)


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """`text` on one line, with every secret replaced by ***."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return " ".join(text.split())


def is_local_path(url: str) -> bool:
    return "://" not in url and not _SCP_LIKE.match(url)


def local_path_of(url: str) -> Path | None:
    """The filesystem path a local or file:// URL names, else None."""
    if url.startswith("file://"):
        return Path(urlsplit(url).path)
    return Path(url) if is_local_path(url) else None


def map_remote_error(
    exc: Exception, *, url: str, action: str, secrets: tuple[str, ...]
) -> GitError:
    """The GitError for a libgit2 failure while `action` (e.g. "fetch main from") the remote."""
    where = redact_url(url)
    if isinstance(exc, GitError):  # raised by our callbacks
        return type(exc)(f"cannot {action} {where}: {scrub(exc.message, secrets)}")
    detail = scrub(str(exc), secrets) or type(exc).__name__
    if isinstance(exc, pygit2.AuthError | pygit2.CertificateError):
        return GitAuthFailed(f"cannot {action} {where}: {detail}")
    if "cannot redirect" in detail.lower():
        return GitEgressRefused(
            f"cannot {action} {where}: the remote redirected to another host, which is never "
            f"followed ({detail}); set the repository URL to where it moved"
        )
    local = local_path_of(url)
    if local is not None and not local.exists():
        return GitUnreachable(f"cannot {action} {where}: no such path")
    lowered = detail.lower()
    for error_type, fragments in _PATTERNS:
        if any(fragment in lowered for fragment in fragments):
            if error_type is GitConflict:
                detail = f"not a fast-forward, the remote branch has other commits ({detail})"
            return error_type(f"cannot {action} {where}: {detail}")
    return GitError(f"cannot {action} {where}: {detail}")


class Callbacks(pygit2.RemoteCallbacks):
    """Answers libgit2's credential requests once per kind (a second request for the same
    kind means the server rejected it), refuses untrusted hosts, and records refs a
    server refused in a push."""

    def __init__(self, url: str, auth: RemoteAuth | None) -> None:
        super().__init__()
        self._is_ssh = url.startswith("ssh://") or bool(_SCP_LIKE.match(url))
        self._auth = auth or RemoteAuth()
        self._offered: set[CredentialType] = set()
        self.rejected_refs: dict[str, str] = {}

    def credentials(
        self, url: str, username_from_url: str | None, allowed_types: CredentialType
    ) -> pygit2.Username | pygit2.UserPass | pygit2.KeypairFromMemory:
        auth = self._auth
        if auth.ssh_private_key and allowed_types & CredentialType.SSH_MEMORY:
            user = username_from_url or auth.username or _DEFAULT_SSH_USER
            return self._offer(
                CredentialType.SSH_MEMORY,
                pygit2.KeypairFromMemory(user, None, auth.ssh_private_key, auth.ssh_passphrase),
            )
        if allowed_types & CredentialType.USERNAME:
            user = username_from_url or auth.username or _DEFAULT_SSH_USER
            return self._offer(CredentialType.USERNAME, pygit2.Username(user))
        if auth.token and allowed_types & CredentialType.USERPASS_PLAINTEXT:
            user = auth.username or username_from_url or DEFAULT_TOKEN_USERNAME
            return self._offer(CredentialType.USERPASS_PLAINTEXT, pygit2.UserPass(user, auth.token))
        if self._offered - {CredentialType.USERNAME}:
            raise GitAuthFailed("the remote rejected the credentials")
        raise GitAuthFailed("the remote requires credentials and none are configured")

    def _offer(self, kind: CredentialType, credential: _C) -> _C:
        if kind in self._offered:
            raise GitAuthFailed("the remote rejected the credentials")
        self._offered.add(kind)
        return credential

    def certificate_check(self, certificate: None, valid: bool, host: bytes) -> bool:
        # pygit2's default accepts any SSH host key; trust only what libgit2 verified
        # (the system CA store for https, ~/.ssh/known_hosts for ssh).
        if valid:
            return True
        name = host.decode(errors="replace")
        if self._is_ssh:
            raise GitAuthFailed(
                f"the host key of {name} is unknown or changed (~/.ssh/known_hosts)"
            )
        raise GitAuthFailed(f"the TLS certificate of {name} is not trusted")

    def push_update_reference(self, refname: str, message: str | None) -> None:
        if message:
            self.rejected_refs[refname] = message
