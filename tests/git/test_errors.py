"""Failures map to the adapter's errors, with one readable line and no secret in it."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from canonflow.git import (
    GitError,
    GitInvalidRepository,
    GitRepository,
    GitUnreachable,
    RemoteAuth,
    Signature,
)
from canonflow.git._remote import redact_url
from tests.git.conftest import OpenRepository, Remote
from tests.support.git_remotes import GitDaemon
from tests.support.n8n import free_port


def closed_port() -> int:
    port = free_port()
    with socket.socket() as probe:  # nothing listens there
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    return port


def unreachable_urls(tmp_path: Path, daemon: GitDaemon) -> dict[str, str]:
    return {
        "missing path": str(tmp_path / "missing.git"),
        "missing file:// path": (tmp_path / "missing.git").as_uri(),
        "closed port": f"git://127.0.0.1:{closed_port()}/repo.git",
        "not served by the daemon": daemon.url("missing.git"),
    }


@pytest.mark.parametrize(
    "case", ["missing path", "missing file:// path", "closed port", "not served by the daemon"]
)
def test_an_unreachable_remote(
    case: str, tmp_path: Path, git_daemon: GitDaemon, open_repository: OpenRepository
) -> None:
    url = unreachable_urls(tmp_path, git_daemon)[case]
    repository = open_repository(url)  # no network yet

    with pytest.raises(GitUnreachable) as caught:
        repository.fetch("main")

    message = caught.value.message
    assert message.startswith(f"cannot fetch main from {url}: ")
    assert "\n" not in message
    assert str(caught.value) == message


def test_a_directory_that_is_not_a_repository(
    tmp_path: Path, open_repository: OpenRepository
) -> None:
    not_a_repository = tmp_path / "plain"
    not_a_repository.mkdir()

    with pytest.raises(GitInvalidRepository, match="could not find repository"):
        open_repository(str(not_a_repository)).fetch("main")


def test_a_password_in_the_url_never_shows(open_repository: OpenRepository) -> None:
    url = f"http://alice:s3cret-token@127.0.0.1:{closed_port()}/repo.git"
    repository = open_repository(url, auth=RemoteAuth(token="other-secret"))

    with pytest.raises(GitUnreachable) as caught:
        repository.fetch("main")

    for text in (caught.value.message, repr(repository), repr(caught.value)):
        assert "s3cret-token" not in text
        assert "other-secret" not in text
    assert f"http://alice@127.0.0.1:{url.rsplit(':', 1)[1].split('/')[0]}/repo.git" in str(
        caught.value
    )


def test_the_cache_config_never_holds_credentials(
    open_repository: OpenRepository, tmp_path: Path
) -> None:
    open_repository("https://alice:s3cret-token@git.example.test/team/flows.git")

    config = (tmp_path / "cache" / "config").read_text()
    assert "https://alice@git.example.test/team/flows.git" in config
    assert "s3cret" not in config


def test_auth_repr_hides_secrets() -> None:
    auth = RemoteAuth(
        token="tok-123", username="bot", ssh_private_key="-----BEGIN KEY", ssh_passphrase="pw"
    )

    text = repr(auth)

    assert text == (
        "RemoteAuth(token='***', username='bot', ssh_private_key='***', ssh_passphrase='***')"
    )
    assert repr(RemoteAuth()).startswith("RemoteAuth(token=None")


def test_an_empty_cache_directory_is_used(tmp_path: Path) -> None:
    (tmp_path / "cache").mkdir()

    with GitRepository.open_or_clone(tmp_path / "cache", "/nowhere.git") as repository:
        assert repository.head("main") is None
    assert (tmp_path / "cache" / "HEAD").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["cache"]  # no staging left behind


def test_a_cache_directory_holding_something_else(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "notes.txt").write_text("not a repository")

    with pytest.raises(GitInvalidRepository, match="is not a usable Git repository"):
        GitRepository.open_or_clone(cache, "/nowhere.git")


def test_a_cache_with_a_broken_config(tmp_path: Path, open_repository: OpenRepository) -> None:
    open_repository("/nowhere.git").close()
    (tmp_path / "cache" / "config").write_text("[core\n\tbare = ")

    with pytest.raises(GitInvalidRepository, match="is not a usable Git repository"):
        GitRepository.open_or_clone(tmp_path / "cache", "/nowhere.git")


def test_a_corrupted_object(
    tmp_path: Path, file_remote: Remote, open_repository: OpenRepository
) -> None:
    repository = open_repository(file_remote.url)
    assert repository.fetch("main") is None
    author = Signature("a", "a@example.test")
    sha = repository.commit_files(
        base_branch="main", branch="main", files={"a.json": b"{}"}, message="m", author=author
    )
    blob_id = repository.list_files(sha, "")[0].blob_id
    loose = tmp_path / "cache" / "objects" / blob_id[:2] / blob_id[2:]
    loose.chmod(0o644)
    loose.write_bytes(b"not zlib")

    with pytest.raises(GitInvalidRepository, match=f"cannot read blob '{blob_id}'"):
        repository.read_blob(blob_id)


def test_a_closed_repository_refuses_work(open_repository: OpenRepository) -> None:
    repository = open_repository("/nowhere.git")
    repository.close()
    repository.close()  # twice is fine

    with pytest.raises(GitError, match="closed"):
        repository.head("main")
    assert "closed" in repr(repository)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://bot:tok@git.example.test/a/b.git", "https://bot@git.example.test/a/b.git"),
        ("https://git.example.test/a.git?access_token=tok", "https://git.example.test/a.git"),
        ("ssh://git@git.example.test:2222/a/b.git", "ssh://git@git.example.test:2222/a/b.git"),
        ("http://u:tok@[::1]:8080/r.git", "http://u@[::1]:8080/r.git"),
        ("git@github.com:owner/repo.git", "git@github.com:owner/repo.git"),
        ("/srv/git/repo.git", "/srv/git/repo.git"),
    ],
)
def test_urls_are_shown_without_credentials(url: str, shown: str) -> None:
    assert redact_url(url) == shown
