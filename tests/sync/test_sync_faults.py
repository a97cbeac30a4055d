"""Environment sync when things go wrong: n8n dies mid-listing, two syncs at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from canonflow.core.status import MappingStatus
from canonflow.errors import Conflict, Unavailable
from canonflow.runtime import Runtime
from canonflow.sync.result import SyncResult
from tests.support.n8n import N8nInstance
from tests.support.n8n_fixtures import create_workflows
from tests.support.proxy import FaultProxy, ProxyRequest
from tests.sync.conftest import add_environment


@pytest.fixture(scope="module")
def crashable_n8n(n8n_factory: Callable[[], N8nInstance]) -> N8nInstance:
    """An instance of this module's own with 300 workflows (two pages of 250): tests kill it."""
    instance = n8n_factory()
    create_workflows(instance, 300, prefix="crash")
    return instance


def test_n8n_killed_between_two_pages_marks_nothing_missing_and_the_next_run_converges(
    runtime: Runtime, crashable_n8n: N8nInstance
) -> None:
    if not crashable_n8n.is_running():
        crashable_n8n.restart()
    with FaultProxy(crashable_n8n.base_url) as proxy:
        env = add_environment(runtime, crashable_n8n, base_url=proxy.base_url)
        complete = env.sync()
        assert (complete.complete, complete.created) == (True, 300)

        def kill_before_second_page(request: ProxyRequest) -> None:
            if "cursor=" in request.path:
                crashable_n8n.kill()

        proxy.on_request(kill_before_second_page)
        with pytest.raises(Unavailable) as caught:
            env.sync()
        assert caught.value.message.startswith("environment 'dev': ")
        failed = env.runs()[-1]
        assert failed.complete is False and failed.error and failed.missing == 0
        assert {row.status for row in env.mappings().values()} == {MappingStatus.UNTRACKED}

        proxy.on_request(None)
        crashable_n8n.restart()
        converged = env.sync()
    assert (converged.complete, converged.created, converged.missing) == (True, 0, 0)
    assert converged.unchanged == 300
    assert len(env.mappings()) == 300


def test_a_first_sync_cut_short_keeps_what_it_wrote_and_the_retry_completes(
    runtime: Runtime, crashable_n8n: N8nInstance
) -> None:
    if not crashable_n8n.is_running():
        crashable_n8n.restart()
    with FaultProxy(crashable_n8n.base_url) as proxy:
        env = add_environment(runtime, crashable_n8n, base_url=proxy.base_url)
        proxy.drop_after(1)  # the first page arrives, the connection dies on the second
        with pytest.raises(Unavailable):
            env.sync()
        partial = env.runs()[-1]
        assert partial.complete is False and 0 < partial.created < 300 and partial.missing == 0
        proxy.reset()
        retry = env.sync()
    assert retry.complete and retry.created == 300 - partial.created
    assert len(env.mappings()) == 300


def test_two_syncs_of_one_environment_at_once_one_is_refused(
    runtime: Runtime, crashable_n8n: N8nInstance
) -> None:
    if not crashable_n8n.is_running():
        crashable_n8n.restart()
    with FaultProxy(crashable_n8n.base_url) as proxy:
        env = add_environment(runtime, crashable_n8n, base_url=proxy.base_url)
        proxy.on_request(lambda _request: time.sleep(0.5))  # keep the winner busy a while
        start = threading.Barrier(2)
        outcomes: list[SyncResult | Exception] = []

        def run() -> None:
            start.wait()
            try:
                outcomes.append(env.sync())
            except Exception as exc:
                outcomes.append(exc)

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    done = [o for o in outcomes if isinstance(o, SyncResult)]
    assert len(refused) == 1 and len(done) == 1, outcomes
    assert "already running" in refused[0].message
    assert done[0].created == 300
    assert len(env.mappings()) == 300
