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
