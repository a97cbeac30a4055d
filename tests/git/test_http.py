"""http(s):// with a token, against `git http-backend` behind a loopback server that
wants HTTP Basic auth (as GitHub, Gitea/Forgejo and GitLab do for tokens)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pygit2
import pytest

from canonflow.git import GitAuthFailed, RemoteAuth, Signature
from tests.git.conftest import OpenRepository
from tests.support.git_remotes import GitHttpServer, WorkingClone, make_bare_remote, self_signed_tls

TOKEN = "ghp_s3cretTokenValue"
AUTHOR = Signature("canonflow", "bot@canonflow.test")


@pytest.fixture(scope="module")
def trusted_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ssl.SSLContext]:
    """A server certificate libgit2 trusts (added to its CA locations for this process)."""
    context, cert_file = self_signed_tls(tmp_path_factory.mktemp("trusted-tls"))
    pygit2.settings.set_ssl_cert_locations(str(cert_file), None)
    yield context
    defaults = ssl.get_default_verify_paths()
    if defaults.cafile or defaults.capath:
        pygit2.settings.set_ssl_cert_locations(defaults.cafile, defaults.capath)  # type: ignore[arg-type]


@pytest.fixture(params=["http", "https"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GitHttpServer]:
    tls = request.getfixturevalue("trusted_tls") if request.param == "https" else None
    root = tmp_path / "served"
    root.mkdir()
    colleague = WorkingClone(make_bare_remote(root).as_uri(), tmp_path / "colleague")
    colleague.write("workflows/a.json", "{}")
    colleague.commit("one")
    colleague.push()
    with GitHttpServer(root, token=TOKEN, tls=tls) as server:
        yield server


def test_a_token_fetches_and_pushes(server: GitHttpServer, open_repository: OpenRepository) -> None:
    repository = open_repository(server.url("remote.git"), auth=RemoteAuth(token=TOKEN))

    head = repository.fetch("main")
    assert head is not None
    sha = repository.commit_files(
        base_branch="main",
        branch="main",
        files={"workflows/b.json": b"{}"},
        message="b",
        author=AUTHOR,
    )
    repository.push("main")

    assert repository.is_ancestor(head, sha)
    assert repository.fetch("main") == sha
    assert ("POST", "/remote.git/git-receive-pack", 200) in server.requests


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        (RemoteAuth(token="wrong-" + TOKEN), "rejected the credentials"),
        (RemoteAuth(token=TOKEN, username="someone-else"), "rejected the credentials"),
        (None, "requires credentials and none are configured"),
    ],
    ids=["wrong token", "wrong user", "no token"],
)
def test_rejected_or_missing_credentials(
    server: GitHttpServer, open_repository: OpenRepository, auth: RemoteAuth | None, expected: str
) -> None:
    url = server.url("remote.git")
    repository = open_repository(url, auth=auth)

    with pytest.raises(GitAuthFailed) as caught:
        repository.fetch("main")

    assert caught.value.message == f"cannot fetch main from {url}: the remote {expected}"
    assert TOKEN not in f"{caught.value} {caught.value!r} {repository!r} {auth!r}"
    assert len(server.requests) <= 3  # asked once more at most, never in a loop


def test_an_untrusted_certificate_is_refused(
    tmp_path: Path, open_repository: OpenRepository
) -> None:
    context, _ = self_signed_tls(tmp_path / "untrusted-tls")
    with GitHttpServer(tmp_path, token=TOKEN, tls=context) as server:
        make_bare_remote(tmp_path)
        repository = open_repository(server.url("remote.git"), auth=RemoteAuth(token=TOKEN))

        with pytest.raises(GitAuthFailed, match=r"TLS certificate of 127\.0\.0\.1 is not trusted"):
            repository.fetch("main")

        assert server.requests == []  # the token was never sent
