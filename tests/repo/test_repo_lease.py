"""A repo sync whose lease another run took over (after a stall) commits nothing (real Git)."""

from __future__ import annotations

import pytest

from canonflow.db import leases
from canonflow.db.engine import transaction
from canonflow.repo import service
from canonflow.repo import sync as repo_sync
from canonflow.repo.cache import cache_lease_name
from tests.repo.conftest import RepoUnderTest
from tests.sync.test_lease_lost import STALLED, last_run, take_over


def test_a_repo_sync_that_lost_its_lease_commits_nothing(
    repo: RepoUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(3):
        repo.write_workflow(f"workflows/flow-{i}.json", f"Flow {i}")
    repo.clone.commit("three")
    repo.clone.push()
    monkeypatch.setattr(repo_sync, "LEASE_TTL", STALLED)
    name = cache_lease_name(repo.tenant_id)
    with pytest.raises(leases.LeaseLost) as lost:
        repo_sync.sync_repository(
            repo.runtime.sessions,
            repo.runtime.secrets,
            tenant_id=repo.tenant_id,
            cache_root=repo.cache_root,
            max_file_bytes=1 << 20,
            progress=lambda _done, _total: take_over(repo.runtime, name, repo.tenant_id),
        )
    assert repo.canonicals() == {}
    assert last_run(repo.runtime).error == lost.value.message
    with transaction(repo.runtime.sessions) as session:
        assert service.get_or_raise(session, repo.tenant_id).last_synced_commit is None
