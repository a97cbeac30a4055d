"""The local cache: a bare repository on disk, created atomically, reused when present."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path

import pygit2
from pygit2.enums import RepositoryOpenFlag

from canonflow.git._remote import redact_url
from canonflow.git.errors import GitInvalidRepository

ORIGIN = "origin"
TRACKING_PREFIX = f"refs/remotes/{ORIGIN}/"


def open_or_create(cache_dir: Path) -> pygit2.Repository:
    """The bare repository at `cache_dir`, created if the directory is missing or empty."""
    try:
        missing = not cache_dir.exists() or not any(cache_dir.iterdir())
    except OSError as exc:
        raise GitInvalidRepository(f"the cache {cache_dir} cannot be used: {exc}") from exc
    if missing:
        _create(cache_dir)
    try:
        repo = pygit2.Repository(str(cache_dir), RepositoryOpenFlag.NO_SEARCH)
    except pygit2.GitError as exc:
        raise GitInvalidRepository(
            f"the cache {cache_dir} is not a usable Git repository: {exc}"
        ) from exc
    if not repo.is_bare:
        repo.free()
        raise GitInvalidRepository(f"the cache {cache_dir} is not a bare Git repository")
    return repo


def _create(cache_dir: Path) -> None:
    """Initialise a bare repository beside `cache_dir` and move it into place, so a crash
    never leaves a half-made cache; if another process won the race, keep its cache."""
    staging: Path | None = None
    try:
        cache_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{cache_dir.name}.", dir=cache_dir.parent))
        pygit2.init_repository(str(staging), bare=True).free()
        with contextlib.suppress(FileNotFoundError):
            cache_dir.rmdir()  # an empty directory (checked by the caller)
        try:
            staging.rename(cache_dir)
        except OSError:
            if not cache_dir.exists():
                raise
    except (OSError, pygit2.GitError) as exc:
        raise GitInvalidRepository(f"cannot create the cache {cache_dir}: {exc}") from exc
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def refuse_redirects(repo: pygit2.Repository) -> None:
    """libgit2 follows a redirect to another host on the first request by default: that
    host was never checked by the egress policy. `false` refuses every off-site redirect
    (a redirect within the same host is still followed)."""
    config = repo.config
    if "http.followRedirects" not in config or config["http.followRedirects"] != "false":
        config["http.followRedirects"] = "false"


def point_origin(repo: pygit2.Repository, url: str) -> None:
    """Record `url` (without credentials) as origin; if it changed, forget what was known
    about the old remote's branches (its objects stay: a mirror of the same history is
    then fetched quickly)."""
    shown = redact_url(url)
    names = set(repo.remotes.names())
    if ORIGIN not in names:
        repo.remotes.create(ORIGIN, shown, f"+refs/heads/*:{TRACKING_PREFIX}*")
        return
    if repo.remotes[ORIGIN].url == shown:
        return
    repo.remotes.set_url(ORIGIN, shown)
    for name in list(repo.references):
        if name.startswith(TRACKING_PREFIX):
            repo.references.delete(name)
