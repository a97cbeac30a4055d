"""The Git adapter under the egress policy: checked before every fetch and push, local
repositories only where allowed and never inside canonflow's own data, and no redirect
to another host followed (libgit2 would follow one on the first request)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest

from canonflow.core.egress import AddressPolicy, IPAddress
from canonflow.egress import EgressPolicy, resolve
from canonflow.git import GitEgressRefused, GitRepository, RemoteAuth, Signature
from tests.support.git_remotes import GitDaemon, GitHttpServer, WorkingClone, make_bare_remote
from tests.support.redirector import Redirector

TOKEN = "s3cret-git-token"


def _policy(
    *,
    production: bool = True,
    networks: tuple[str, ...] = (),
    hosts: tuple[str, ...] = (),
    local: bool = False,
    protected: tuple[Path, ...] = (),
    resolver=resolve,
) -> EgressPolicy:
    addresses = AddressPolicy.build(
        production=production, networks=[ipaddress.ip_network(n) for n in networks], hosts=hosts
    )
    return EgressPolicy(
        addresses, allow_local_repositories=local, protected_dirs=protected, resolver=resolver
    )


def _published(tmp_path: Path, root: Path) -> Path:
    remote = make_bare_remote(root)
    colleague = WorkingClone(remote.as_uri(), tmp_path / "colleague")
    colleague.write("workflows/a.json", "{}")
    colleague.commit("one")
    colleague.push()
    return remote


@pytest.fixture
def served(tmp_path: Path) -> Iterator[GitHttpServer]:
    root = tmp_path / "served"
    root.mkdir()
    _published(tmp_path, root)
    with GitHttpServer(root, token=TOKEN) as server:
        yield server


def _fetch(tmp_path: Path, url: str, policy: EgressPolicy, auth: RemoteAuth | None = None) -> str:
    with GitRepository.open_or_clone(tmp_path / "cache", url, auth, egress=policy) as repo:
        head = repo.fetch("main")
    assert head is not None
    return head


@pytest.mark.parametrize("as_uri", [False, True], ids=["path", "file"])
def test_a_local_repository_is_refused_in_production_unless_allowed(
    tmp_path: Path, as_uri: bool
) -> None:
    remote = _published(tmp_path, tmp_path)
    url = remote.as_uri() if as_uri else str(remote)
    with pytest.raises(GitEgressRefused, match="CANONFLOW_ALLOW_LOCAL_REPOSITORIES=true"):
        _fetch(tmp_path, url, _policy())
    assert _fetch(tmp_path, url, _policy(local=True))
    assert _fetch(tmp_path, url, _policy(production=False))


def test_a_repository_inside_the_cache_root_is_refused_in_every_mode(tmp_path: Path) -> None:
    cache_root = tmp_path / "data" / "git-cache"
    other_tenant = _published(tmp_path, cache_root)  # as if another tenant's copy
    linked = tmp_path / "innocent-looking"
    linked.symlink_to(other_tenant)
    for url in (
        str(other_tenant),
        other_tenant.as_uri(),
        str(linked),
        f"{cache_root}/x/../remote.git",
    ):
        for policy in (
            _policy(local=True, protected=(cache_root,)),
            _policy(production=False, protected=(cache_root,)),
        ):
            with pytest.raises(GitEgressRefused, match="canonflow's own data"):
                _fetch(tmp_path, url, policy)


def test_a_loopback_daemon_is_refused_in_production_unless_its_network_is_allowed(
    tmp_path: Path,
) -> None:
    (tmp_path / "daemon").mkdir()
    with GitDaemon(tmp_path / "daemon") as daemon:
        _published(tmp_path, daemon.root)
        url = daemon.url("remote.git")
        with pytest.raises(GitEgressRefused, match=r"127\.0\.0\.1 is a loopback address"):
            _fetch(tmp_path, url, _policy())
        assert _fetch(tmp_path, url, _policy(networks=("127.0.0.0/8",)))


def test_a_push_is_checked_too(tmp_path: Path, served: GitHttpServer) -> None:
    url = served.url("remote.git")
    allowed = _policy(networks=("127.0.0.1/32",))
    with GitRepository.open_or_clone(
        tmp_path / "cache", url, RemoteAuth(token=TOKEN), egress=allowed
    ) as repo:
        repo.fetch("main")
        repo.commit_files(
            base_branch="main",
            branch="canonflow/x",
            files={"workflows/b.json": b"{}"},
            message="b",
            author=Signature("canonflow", "bot@canonflow.test"),
        )
    served.requests.clear()
    with GitRepository.open_or_clone(
        tmp_path / "cache", url, RemoteAuth(token=TOKEN), egress=_policy()
    ) as refusing:
        with pytest.raises(GitEgressRefused, match="cannot connect for a push"):
            refusing.check_push_access()
        with pytest.raises(GitEgressRefused, match="cannot push canonflow/x"):
            refusing.push("canonflow/x")
    assert served.requests == []


def test_a_name_that_resolves_to_a_refused_address_at_connect_time_is_refused(
    tmp_path: Path, served: GitHttpServer
) -> None:
    answers: dict[str, list[IPAddress]] = {
        "git.rebind.test": [ipaddress.ip_address("140.82.121.4")]
    }

    def resolver(host: str, port: int) -> list[IPAddress]:
        return answers[host]

    policy = _policy(resolver=resolver)
    url = served.url("remote.git").replace("127.0.0.1", "git.rebind.test")
    policy.checked_addresses("git.rebind.test", 80)  # allowed when entered
    answers["git.rebind.test"] = [ipaddress.ip_address("127.0.0.1")]
    with pytest.raises(GitEgressRefused, match=r"git\.rebind\.test resolves to 127\.0\.0\.1"):
        _fetch(tmp_path, url, policy, RemoteAuth(token=TOKEN))
    assert served.requests == []


@pytest.mark.parametrize("production", [True, False])
def test_a_redirect_to_another_host_is_not_followed(
    tmp_path: Path, served: GitHttpServer, production: bool
) -> None:
    with Redirector(served.url("")) as redirector:
        url = f"http://localhost:{redirector.port}/remote.git"
        policy = _policy(production=production, hosts=("localhost",))
        with pytest.raises(GitEgressRefused, match="redirect"):
            _fetch(tmp_path, url, policy, RemoteAuth(token=TOKEN))
        assert redirector.requests  # the allowed host was asked
    assert served.requests == []  # its redirect's target never was
