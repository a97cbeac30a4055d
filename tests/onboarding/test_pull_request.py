"""The migration pull request: a real bare Git remote receives the branch; the forge API is
the local stand-in of `tests.support.forge_server` (no hosted forge can run here)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from canonflow.core.enums import ForgeProvider
from canonflow.core.git_layout import render_workflow_file
from canonflow.core.hashing import digest_documents
from canonflow.core.sync_state import SyncState, derive_sync_state
from canonflow.db.engine import transaction
from canonflow.errors import Conflict, Unavailable
from canonflow.forge import ForgeClient
from canonflow.onboarding.completion import completion
from canonflow.onboarding.pull_request import MigrationPullRequest, create_migration_pr
from canonflow.repo import service as repositories
from canonflow.repo.schemas import ForgeSettings, RepositoryPut
from canonflow.repo.sync import sync_repository
from tests.onboarding.conftest import Estate
from tests.support.forge_server import FakeForge

T1 = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
T2 = datetime(2026, 11, 28, 9, 30, 0, tzinfo=UTC)


def _seed_main(estate: Estate) -> None:
    estate.clone.write("README.md", "workflows live here\n")
    estate.clone.commit("initial")
    estate.clone.git("push", "--quiet", "origin", "HEAD:main")


def _use_forge(estate: Estate, forge: FakeForge | None, token: str | None = None) -> None:
    settings = (
        ForgeSettings(provider=ForgeProvider.NONE)
        if forge is None
        else ForgeSettings(
            provider=forge.provider,
            api_url=forge.api_url,
            repository="team/workflows",
            token=token or forge.token,
        )
    )
    with transaction(estate.runtime.sessions) as session:
        repositories.put(
            session,
            estate.runtime.secrets,
            estate.principal,
            RepositoryPut(url=estate.remote_url, branch="main", forge=settings),
        )


def _open_pr(estate: Estate, now: datetime = T1) -> MigrationPullRequest:
    return create_migration_pr(
        estate.runtime.sessions,
        estate.runtime.secrets,
        estate.principal,
        cache_root=estate.cache_root,
        now=now,
    )


@pytest.fixture(params=[ForgeProvider.GITHUB, ForgeProvider.GITEA])
def forge(request: pytest.FixtureRequest) -> Iterator[FakeForge]:
    with FakeForge(request.param) as server:
        yield server


def test_branch_files_pull_request_merge_and_repo_sync(
    overlapping: Estate, forge: FakeForge
) -> None:
    overlapping.inventory()
    _seed_main(overlapping)
    _use_forge(overlapping, forge)
    before = {slug: (c.id, c.content_hash) for slug, c in overlapping.canonicals().items()}

    result = _open_pr(overlapping)
    assert result.branch == "canonflow/onboarding-20261127-120000"
    assert (result.state, result.number, result.opened_now, result.files) == ("open", 1, True, 7)
    assert result.url and result.url.endswith("/1")
    [post] = [r for r in forge.requests if r["method"] == "POST"]
    assert (post["json"]["head"], post["json"]["base"]) == (result.branch, "main")
    assert "customer-onboarding" in post["json"]["body"]

    clone = overlapping.clone
    clone.git("fetch", "--quiet", "origin")
    for slug, canonical in overlapping.canonicals().items():
        text = clone.git("show", f"origin/{result.branch}:workflows/{slug}.json")
        raw = (text + "\n").encode()
        assert raw == render_workflow_file(canonical.workflow_definition)
        assert digest_documents([raw])[0].content_hash == canonical.content_hash

    again = _open_pr(overlapping, now=T2)  # the PR is open: same branch, no second PR
    assert (again.branch, again.number, again.opened_now) == (result.branch, 1, False)
    assert len([r for r in forge.requests if r["method"] == "POST"]) == 1

    forge.merge(1)
    clone.git("merge", "--quiet", "--no-ff", "-m", "merge onboarding", f"origin/{result.branch}")
    clone.git("push", "--quiet", "origin", "HEAD:main")
    synced = sync_repository(
        overlapping.runtime.sessions,
        overlapping.runtime.secrets,
        tenant_id=overlapping.tenant_id,
        cache_root=overlapping.cache_root,
        max_file_bytes=1 << 20,
    )
    assert (synced.created, synced.updated, synced.skipped) == (0, 7, [])
    after = overlapping.canonicals()
    assert {slug: (c.id, c.content_hash) for slug, c in after.items()} == before
    assert all(c.git_blob_id and c.git_commit == synced.commit for c in after.values())
    for row in overlapping.mappings("prod").values():
        assert (
            derive_sync_state(row.env_content_hash, row.git_content_hash, row.base_content_hash)
            is SyncState.IN_SYNC
        )

    with transaction(overlapping.runtime.sessions) as session:
        report = completion(
            session, overlapping.runtime.secrets, overlapping.principal, overlapping.cache_root
        )
    assert report.status == "onboarded" and report.complete
    assert report.pull_request is not None and report.pull_request["state"] == "merged"

    later = _open_pr(overlapping, now=T2)  # merged: a new branch and a new pull request
    assert later.branch == "canonflow/onboarding-20261128-093000"
    assert (later.number, later.opened_now) == (2, True)


def test_a_refused_token_keeps_the_pushed_branch_for_the_rerun(overlapping: Estate) -> None:
    overlapping.inventory()
    _seed_main(overlapping)
    with FakeForge(ForgeProvider.GITHUB) as forge:
        _use_forge(overlapping, forge, token="revoked-token")
        with pytest.raises(Unavailable) as refused:
            _open_pr(overlapping)
        assert "401" in refused.value.message and "revoked-token" not in refused.value.message
        assert "canonflow/onboarding-20261127-120000" in refused.value.message
        overlapping.clone.git("fetch", "--quiet", "origin")
        assert "origin/canonflow/onboarding-20261127-120000" in overlapping.clone.git(
            "branch", "-r"
        )

        _use_forge(overlapping, forge)
        fixed = _open_pr(overlapping, now=T2)
        assert fixed.branch == "canonflow/onboarding-20261127-120000"
        assert (fixed.state, fixed.opened_now) == ("open", True)


@pytest.mark.parametrize("provider", [ForgeProvider.GITHUB, ForgeProvider.GITEA])
def test_a_pull_request_opened_elsewhere_for_the_branch_is_adopted(
    overlapping: Estate, provider: ForgeProvider
) -> None:
    """GitHub answers 422 "A pull request already exists", Gitea 409: the open one is used."""
    overlapping.inventory()
    _seed_main(overlapping)
    with FakeForge(provider) as forge:
        branch = "canonflow/onboarding-20261127-120000"
        with ForgeClient(forge.provider, forge.api_url, "team/workflows", forge.token) as client:
            existing = client.create_pull_request(head=branch, base="main", title="t", body="b")
        _use_forge(overlapping, forge)
        result = _open_pr(overlapping)
    assert (result.number, result.opened_now) == (existing.number, False)
    assert result.notes == ["a pull request for this branch was already open"]


def test_without_a_forge_the_pushed_branch_is_the_result(overlapping: Estate) -> None:
    overlapping.inventory()
    _use_forge(overlapping, None)
    result = _open_pr(overlapping)  # the remote is empty: the branch starts the history
    assert (result.provider, result.state, result.url) == ("none", "pushed", None)
    again = _open_pr(overlapping, now=T2)
    assert again.branch == result.branch and again.commit == result.commit


def test_before_the_inventory_there_is_nothing_to_open(estate: Estate) -> None:
    with pytest.raises(Conflict, match="inventory"):
        _open_pr(estate)
