"""Body hashes split between this process and a worker give what one process gives."""

from __future__ import annotations

import orjson

from canonflow.core.hashing import body_hash, body_hash_documents
from canonflow.onboarding.environment_links import SPLIT_AT, _body_hashes
from canonflow.parallel import LazyProcessPool
from tests.support.n8n_fixtures import make_workflow


def test_split_hashing_matches_and_ignores_the_name() -> None:
    bodies = [make_workflow(f"wf {i}", 2 + i % 5) for i in range(SPLIT_AT + 50)]
    texts: list[str | None] = [orjson.dumps(b).decode() for b in bodies] + [None, "{not json"]
    with LazyProcessPool(max_workers=1) as pool:
        pool.start()
        assert pool.parallel
        split = _body_hashes(texts, None, pool)
    assert split == body_hash_documents([t.encode() if t else b"" for t in texts])
    assert split[-2:] == [None, None]
    assert split[0] == body_hash(bodies[0] | {"name": "renamed"})
