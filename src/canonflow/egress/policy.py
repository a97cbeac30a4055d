"""The egress policy over URLs: parse what a tenant typed, resolve its host, apply the
rules of `canonflow.core.egress`; and local repositories, which only development mode (or
`CANONFLOW_ALLOW_LOCAL_REPOSITORIES=true`) reaches, and never inside canonflow's own data.

A URL is checked twice: when it is entered (`check_url_on_entry`: a name that does not
resolve now is let through, it is checked again when used) and before every connection
(`checked_addresses`, called by the HTTP transport for every request it sends, redirects
included, and by the Git adapter before each fetch and push).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from canonflow.core.egress import (
    AddressPolicy,
    IPAddress,
    Refusal,
    refusal_for_host,
)

if TYPE_CHECKING:
    from canonflow.config import Settings

LOCAL_SETTING = "CANONFLOW_ALLOW_LOCAL_REPOSITORIES"
# git's scp-like syntax: [user@]host:path, no slash before the colon, not "scheme://"
_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?(?P<host>\[[^\]]+\]|[^/:\[\]]+):(?!//)")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ssh": 22, "git": 9418, "scp": 22}

Resolver = Callable[[str, int], list[IPAddress]]


class EgressRefused(Exception):
    """The policy refuses a connection; `message` names the setting that would allow it."""

    def __init__(self, message: str, refusal: Refusal | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.refusal = refusal

    def __str__(self) -> str:
        return self.message


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (a literal address is itself); OSError when none."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


@dataclass(frozen=True)
class Target:
    """Where a URL connects: a host and port, or a local path (`host` is then "")."""

    host: str = ""
    port: int = 0
    path: Path | None = None


@dataclass(frozen=True)
class EgressPolicy:
    addresses: AddressPolicy
    allow_local_repositories: bool = False
    protected_dirs: tuple[Path, ...] = ()
    resolver: Resolver = field(default=resolve, compare=False)

    @classmethod
    def development(cls) -> EgressPolicy:
        return cls(AddressPolicy.build(production=False))

    @classmethod
    def from_settings(cls, settings: Settings) -> EgressPolicy:
        from canonflow.config import Mode

        return cls(
            AddressPolicy.build(
                production=settings.mode is Mode.PRODUCTION,
                networks=settings.allowed_networks,
                hosts=settings.allowed_hosts,
            ),
            allow_local_repositories=settings.allow_local_repositories,
            protected_dirs=(settings.data_dir.resolve(), settings.resolved_git_cache_dir),
        )

    @property
    def production(self) -> bool:
        return self.addresses.production

    # -- at connect time ----------------------------------------------------------------

    def checked_addresses(self, host: str, port: int) -> list[IPAddress]:
        """Resolve `host` and return its addresses if every one is allowed; EgressRefused
        if one is not; OSError if the name does not resolve."""
        self._refuse(refusal_for_host(self.addresses, host, []))  # names refused as such
        addresses = self.resolver(host, port)
        if not addresses:
            raise OSError(f"{host} resolves to no address")
        self._refuse(refusal_for_host(self.addresses, host, addresses))
        return addresses

    def check_target(self, target: Target) -> None:
        """Before connecting to a parsed URL: its local path, or its host's addresses."""
        if target.path is not None:
            self.check_local_repository(target.path)
        else:
            self.checked_addresses(target.host, target.port)

    def check_local_repository(self, path: Path) -> None:
        """A local repository: refused in production unless allowed, and in every mode
        inside canonflow's data directory or Git cache (another tenant's copy)."""
        resolved = path.expanduser().resolve()
        for protected in self.protected_dirs:
            if resolved == protected or protected in resolved.parents:
                raise EgressRefused(
                    f"{path} is inside canonflow's own data ({protected}): a repository "
                    "there is refused in every mode"
                )
        if self.production and not self.allow_local_repositories:
            raise EgressRefused(
                f"{path} is a local repository, refused in production mode; "
                f"allow local repositories with {LOCAL_SETTING}=true"
            )

    # -- when a URL is entered ----------------------------------------------------------

    def check_url_on_entry(self, target: Target) -> None:
        """As at connect time, but a name that does not resolve now is let through."""
        try:
            self.check_target(target)
        except EgressRefused:
            raise
        except OSError:
            return

    def _refuse(self, refusal: Refusal | None) -> None:
        if refusal is not None:
            raise EgressRefused(refusal.message, refusal)


def http_target(url: str) -> Target:
    """The host and port of an http(s) URL; ValueError if it has none."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return Target(parts.hostname, parts.port or _DEFAULT_PORTS[scheme])


def repository_target(url: str) -> Target:
    """Where a Git remote URL connects: a local path (a path or file://) or a host."""
    url = url.strip()
    if "://" in url:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "file":
            return Target(path=Path(parts.path))
        if not parts.hostname:
            raise ValueError(f"the repository URL names no host: {url!r}")
        return Target(parts.hostname, parts.port or _DEFAULT_PORTS.get(scheme, 0))
    match = _SCP_LIKE.match(url)
    if match is not None:
        return Target(match["host"].strip("[]"), _DEFAULT_PORTS["scp"])
    return Target(path=Path(url))


def origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a URL, compared to tell whether it moved to another host:
    lower-case, default ports filled in, scp-like `host:path` read as ssh. None for a local
    repository (a path or file://)."""
    url = url.strip()
    if "://" not in url and _SCP_LIKE.match(url) is None:
        return None
    target = repository_target(url)
    if target.path is not None:
        return None
    scheme = urlsplit(url).scheme.lower() if "://" in url else "ssh"
    port = target.port or _DEFAULT_PORTS.get(scheme, 0)
    return scheme, target.host.lower().rstrip("."), port


def same_origin(old: str | None, new: str | None) -> bool:
    """True when both URLs reach the same scheme, host and port (or neither is set)."""
    if old is None or new is None:
        return old == new
    return origin(old) == origin(new)
