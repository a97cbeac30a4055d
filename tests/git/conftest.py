"""Fixtures for the Git adapter tests: real bare remotes served over a local path,
file:// and git:// (a `git daemon` shared by the session; every test has its own remote)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from canonflow.git import GitRepository, RemoteAuth
from tests.support.git_remotes import GitDaemon, WorkingClone, make_bare_remote

TRANSPORTS = ("path", "file", "git")


@dataclass(frozen=True)
class Remote:
    """A bare remote and the URL the adapter reaches it by."""

    path: Path
    url: str
    transport: str

    def clone(self, directory: Path) -> WorkingClone:
        """A colleague's working clone (over file://, whatever the adapter's transport)."""
        return WorkingClone(self.path.as_uri(), directory)


@pytest.fixture(scope="session")
def git_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitDaemon]:
    with GitDaemon(tmp_path_factory.mktemp("git-daemon")) as daemon:
        yield daemon


def _remote(transport: str, tmp_path: Path, request: pytest.FixtureRequest) -> Remote:
    if transport == "git":
        daemon: GitDaemon = request.getfixturevalue("git_daemon")
        name = f"{uuid.uuid4().hex}.git"
        return Remote(make_bare_remote(daemon.root, name), daemon.url(name), transport)
    path = make_bare_remote(tmp_path)
    return Remote(path, str(path) if transport == "path" else path.as_uri(), transport)


@pytest.fixture(params=TRANSPORTS)
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> Remote:
    """A new empty remote, once per transport."""
    return _remote(request.param, tmp_path, request)


@pytest.fixture
def file_remote(request: pytest.FixtureRequest, tmp_path: Path) -> Remote:
    """A new empty remote over file://, for tests where the transport does not matter."""
    return _remote("file", tmp_path, request)


OpenRepository = Callable[..., GitRepository]


@pytest.fixture
def open_repository(tmp_path: Path) -> Iterator[OpenRepository]:
    """`open_repository(url, cache_name="cache", auth=None)`; closed after the test."""
    opened: list[GitRepository] = []

    def open_(url: str, cache_name: str = "cache", auth: RemoteAuth | None = None) -> GitRepository:
        repository = GitRepository.open_or_clone(tmp_path / cache_name, url, auth)
        opened.append(repository)
        return repository

    yield open_
    for repository in opened:
        repository.close()


@pytest.fixture
def colleague(remote: Remote, tmp_path: Path) -> WorkingClone:
    """A working clone of `remote`."""
    return remote.clone(tmp_path / "colleague")


@pytest.fixture
def repository(remote: Remote, open_repository: OpenRepository) -> GitRepository:
    """The adapter on `remote`, through the transport under test."""
    return open_repository(remote.url)
