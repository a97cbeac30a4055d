"""Hashing off the main process, and what happens when a worker dies."""

from __future__ import annotations

import json
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from canonflow.core.hashing import content_hash, hash_documents
from canonflow.parallel import LazyProcessPool, cpu_pool
from canonflow.sync.batch import Selection
from canonflow.sync.environment import _outcomes

FIXTURE = Path(__file__).parent / "core" / "fixtures" / "order_intake.dev.json"


def test_worker_processes_hash_like_the_main_process() -> None:
    raw = FIXTURE.read_bytes()
    with cpu_pool(jobs=10, min_jobs=1, max_workers=2) as pool:
        remote = pool.submit(hash_documents, [raw, b"{"]).result()
    assert remote[0] == (content_hash(json.loads(raw)), None)
    assert remote[1][0] is None and remote[1][1].startswith("not valid JSON")


def test_a_lazy_pool_runs_inline_until_started() -> None:
    with LazyProcessPool(max_workers=1) as pool:
        assert not pool.parallel
        assert pool.submit(sum, [1, 2]).result() == 3
        pool.start()
        assert pool.parallel
        assert pool.submit(sum, [3, 4]).result() == 7


def test_a_dead_worker_falls_back_to_hashing_in_process() -> None:
    workflow = json.loads(FIXTURE.read_text())
    selection = Selection(to_hash=[(workflow, None)])
    broken: Future[list[tuple[str | None, str | None]]] = Future()
    broken.set_exception(BrokenProcessPool("worker died"))
    assert _outcomes(selection, broken, {}) == [(content_hash(workflow), None)]
