"""Where a repository lives on its forge, read from a Git remote URL; and the checks on a
client's `api_url` and `owner/name`.

Accepted remotes: `https://host/owner/name(.git)` (and http://),
`ssh://git@host[:port]/owner/name.git`, the scp-like `git@host:owner/name.git`, and
`git://host/owner/name.git`. The repository is the last two path segments, so a forge
served under a sub-path (`https://host/git/owner/name`) works too; for Gitea that sub-path
is kept in the API URL as well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from canonflow.core.enums import ForgeProvider

_GITHUB_HOSTS = frozenset({"github.com", "www.github.com", "ssh.github.com"})
# git's scp-like syntax: [user@]host:path, with no slash before the colon
_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?(?P<host>[^@/:]+):(?P<path>.+)$")


@dataclass(frozen=True, slots=True)
class _Remote:
    scheme: str  # "https", "http", "ssh", "git", ... or "scp" for the scp-like form
    host: str  # lower-case, "" when the URL names none
    port: int | None
    segments: tuple[str, ...]  # the path's non-empty segments, without a final ".git"

    @property
    def on_the_web(self) -> bool:
        return self.scheme in ("http", "https")


def repository_from_url(url: str) -> str | None:
    """`owner/name` from a remote URL; None when it has no host or fewer than two segments."""
    remote = _parse(url)
    if remote is None or not remote.host or len(remote.segments) < 2:
        return None
    return "/".join(remote.segments[-2:])


def default_api_url(provider: ForgeProvider, repo_url: str) -> str | None:
    """The REST API root a forge of `provider` serves for the remote `repo_url`.

    GitHub: api.github.com for github.com, else GitHub Enterprise's `/api/v3`; Gitea and
    Forgejo: `/api/v1`. https unless the remote itself is http://; the port is kept only
    from an http(s) remote (an SSH port says nothing about the web server's).
    """
    remote = _parse(repo_url)
    if provider == ForgeProvider.NONE or remote is None or not remote.host:
        return None
    if provider == ForgeProvider.GITHUB and remote.host in _GITHUB_HOSTS:
        return "https://api.github.com"
    scheme = "http" if remote.scheme == "http" else "https"
    host = f"[{remote.host}]" if ":" in remote.host else remote.host
    authority = f"{host}:{remote.port}" if remote.on_the_web and remote.port else host
    if provider == ForgeProvider.GITHUB:
        return f"{scheme}://{authority}/api/v3"
    sub_path = "".join(f"/{s}" for s in remote.segments[:-2]) if remote.on_the_web else ""
    return f"{scheme}://{authority}{sub_path}/api/v1"


def _parse(url: str) -> _Remote | None:
    url = url.strip()
    if "://" in url:
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:  # a port that is not a number
            return None
        scheme, host, path = parts.scheme.lower(), parts.hostname or "", parts.path
    else:
        match = _SCP_LIKE.match(url)
        if match is None:
            return None
        scheme, host, port, path = "scp", match["host"].lower(), None, match["path"]
    segments = [segment for segment in path.split("/") if segment]
    if segments:
        segments[-1] = segments[-1].removesuffix(".git")
    return _Remote(scheme, host, port, tuple(segment for segment in segments if segment))


def split_repository(repository: str) -> tuple[str, str]:
    """`("owner", "name")` from `owner/name` (a trailing ".git" dropped); else ValueError."""
    parts = repository.strip().strip("/").split("/")
    if len(parts) != 2 or not all(parts):
        raise ValueError(f"a repository must be 'owner/name', not {repository!r}")
    return parts[0], parts[1].removesuffix(".git")


def normalize_api_url(api_url: str) -> str:
    """`http(s)://host[:port][/prefix]`: no credentials, query or trailing slash."""
    url = httpx.URL(api_url.strip())
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"a forge API URL must be http(s)://host[:port][/path], not {api_url!r}")
    return f"{url.scheme}://{url.netloc.decode('ascii')}{url.path.rstrip('/')}"
