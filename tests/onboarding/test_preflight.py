"""Preflight's repository checks against real remotes."""

from __future__ import annotations

from pathlib import Path

from canonflow.db.engine import transaction
from canonflow.onboarding.preflight import preflight
from canonflow.repo import service as repositories
from canonflow.repo.schemas import RepositoryPut
from tests.onboarding.conftest import Estate
from tests.support.git_remotes import GitDaemon, make_bare_remote


def _point_repository(estate: Estate, url: str) -> None:
    with transaction(estate.runtime.sessions) as session:
        repositories.put(session, estate.runtime.secrets, estate.principal, RepositoryPut(url=url))


def test_a_read_only_remote_is_not_ready(estate: Estate, tmp_path: Path) -> None:
    remote = make_bare_remote(tmp_path / "served")
    with GitDaemon(remote.parent, writable=False) as daemon:
        _point_repository(estate, daemon.url(remote.name))
        report = preflight(
            estate.runtime.sessions, estate.runtime.secrets, estate.principal, estate.cache_root
        )
    assert not report.ready
    [error] = report.errors
    assert error.startswith("the repository is not usable: cannot connect for a push to git://")
    assert error.endswith("(check its URL and credentials)")


def test_an_unreachable_remote_is_not_ready(estate: Estate, tmp_path: Path) -> None:
    _point_repository(estate, f"file://{tmp_path}/nowhere.git")
    report = preflight(
        estate.runtime.sessions, estate.runtime.secrets, estate.principal, estate.cache_root
    )
    assert not report.ready and len(report.errors) == 1
    assert "the repository is not usable" in report.errors[0]
    assert "2 environment connection(s)" in report.checked


def test_a_repository_in_use_by_a_sync_is_not_touched(estate: Estate) -> None:
    """The local copy is one job's at a time: the check says so instead of fetching."""
    from canonflow.repo.cache import cache_in_use
    from canonflow.repo.check import check_repository

    with cache_in_use(estate.runtime.sessions, estate.tenant_id):
        report = preflight(
            estate.runtime.sessions, estate.runtime.secrets, estate.principal, estate.cache_root
        )
        with transaction(estate.runtime.sessions) as session:
            access = repositories.access(
                estate.runtime.secrets, repositories.get_or_raise(session, estate.tenant_id)
            )
        checked = check_repository(estate.runtime.sessions, access, estate.cache_root)
    assert report.errors == [
        "the repository could not be checked: the repository's local copy is in use "
        "(a sync or a write): try again shortly"
    ]
    assert not checked.ok and "in use" in checked.detail
    assert not estate.cache_root.exists()  # nothing was fetched
