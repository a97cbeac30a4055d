"""With ignore rules, the matrix's SQL state agrees with `core.sync_state.derive_cell_state`
on every combination of raw and ignored hashes (both backends)."""

from __future__ import annotations

import itertools

from fastapi.testclient import TestClient
from sqlalchemy import update

from canonflow.core.sync_state import CellHashes, derive_cell_state
from canonflow.db.engine import transaction
from canonflow.db.models import WorkflowEnvMap
from canonflow.runtime import Runtime
from tests.matrix.conftest import H1, H2, H3, make_tenancy

URL = "/api/v1/workflows/matrix"
RAW = [(H1, H2, H2), (H1, H2, H3), (H1, H1, H1), (H1, H2, None)]
IGNORED = [None, H1, H2]


def test_sql_state_with_ignored_hashes_matches_the_domain_rule(
    client: TestClient, runtime: Runtime
) -> None:
    t = make_tenancy(runtime, ("prod",))
    expected: dict[str, str] = {}
    combos = itertools.product(RAW, [None, "i1:f"], IGNORED, IGNORED, IGNORED, [None, H3])
    for i, ((env, git, base), fp, env_ig, git_ig, base_ig, draft) in enumerate(combos):
        name = f"c{i:03d}"
        t.add_canonical(name)
        mapping = t.add_mapping(
            name, "prod", env_hash=env, git_hash=git, base_hash=base, draft_hash=draft
        )
        with transaction(runtime.sessions) as session:
            session.execute(
                update(WorkflowEnvMap)
                .where(WorkflowEnvMap.id == mapping)
                .values(
                    ignore_fingerprint=fp,
                    env_ignored_hash=env_ig,
                    git_ignored_hash=git_ig,
                    base_ignored_hash=base_ig,
                )
            )
        cell = CellHashes(env, git, base, fp, env_ig, git_ig, base_ig)
        expected[name] = derive_cell_state(cell, draft_hash=draft).value
    page = client.get(URL, params={"limit": 500}, headers=t.headers).json()
    prod = str(t.envs["prod"])
    got = {row["name"]: row["environments"][prod]["state"] for row in page["workflows"]}
    assert got == expected
    assert len(set(expected.values())) >= 5  # the combinations reach the states
