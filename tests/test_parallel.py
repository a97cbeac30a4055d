"""Hashing off the main process, and what happens when a worker dies."""

from __future__ import annotations

import json
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import orjson

from canonflow.core.definitions import canonical_definition
from canonflow.core.hashing import content_hash, hash_documents
from canonflow.parallel import LazyProcessPool, cpu_pool
from canonflow.sync.batch import Selection
from canonflow.sync.hashing import HashedSelection, hash_selection
from tests.support.n8n_fixtures import make_workflow

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
    workflow = make_workflow("plain", 4) | {"id": "plain"}
    for define in (False, True):
        selection = Selection(to_hash=[(workflow, None)])
        broken: Future[list[tuple[str | None, str | None, bytes | None, str | None]]] = Future()
        broken.set_exception(BrokenProcessPool("worker died"))
        hashes, documents = HashedSelection(selection, {}, define, broken).outcomes()
        assert hashes == [(content_hash(workflow), None, None)]  # no draft pending
        assert list(documents) == ([workflow["id"]] if define else [])


def test_documents_made_in_a_worker_are_the_canonical_definition() -> None:
    """The Git document a worker makes while hashing is the one `canonical_definition`
    makes; a workflow that calls another gets none (its document depends on the slugs)."""
    workflow = make_workflow("plain", 6) | {"id": "plain"}
    caller = json.loads(FIXTURE.read_text())  # its error workflow and a sub-workflow
    with LazyProcessPool(max_workers=1) as pool:
        pool.start()
        selection = Selection(to_hash=[(workflow, None), (caller, None)])
        hashes, documents = hash_selection(pool, selection, {}, define=True).outcomes()
    definition = canonical_definition(workflow, {}, known_hash=hashes[0][0])
    assert hashes[0] == (content_hash(workflow), None, None)
    assert hashes[1][0] is not None
    assert list(documents) == [workflow["id"]]
    digest, document = documents[workflow["id"]]
    assert digest == definition.content_hash
    assert orjson.loads(document) == definition.document
    assert document == orjson.dumps(definition.document)
