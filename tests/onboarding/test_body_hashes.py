"""Body hashes read from the database and hashed in worker processes (in halves, ahead of
the link writes) give what one process gives from the same JSON."""

from __future__ import annotations

import uuid

import orjson

from canonflow.core.enums import EnvironmentKind
from canonflow.core.hashing import HASH_VERSION, body_hash, body_hash_documents
from canonflow.core.status import MappingStatus
from canonflow.db.engine import transaction
from canonflow.db.models import CanonicalWorkflow, Environment, WorkflowEnvMap
from canonflow.onboarding.environment_links import SPLIT_AT, BodyHashes
from canonflow.parallel import LazyProcessPool
from canonflow.runtime import Runtime
from tests.factories import make_tenant
from tests.support.n8n_fixtures import make_workflow

COUNT = SPLIT_AT + 50  # large enough to be split between the workers


def _rows(runtime: Runtime) -> tuple[list[uuid.UUID], list[uuid.UUID], list[dict[str, object]]]:
    bodies = [make_workflow(f"wf {i}", 2 + i % 5) | {"id": f"n{i}"} for i in range(COUNT)]
    with transaction(runtime.sessions) as session:
        tenant = make_tenant(session)
        environment = Environment(
            tenant_id=tenant.id,
            name="dev",
            kind=EnvironmentKind.DEVELOPMENT,
            base_url="http://127.0.0.1:9",
            api_key=runtime.secrets.seal("key"),
        )
        session.add(environment)
        session.flush()
        mappings = [
            WorkflowEnvMap(
                tenant_id=tenant.id,
                environment_id=environment.id,
                n8n_workflow_id=str(body["id"]),
                status=MappingStatus.UNTRACKED,
                workflow_name=str(body["name"]),
                workflow_data=body,
            )
            for body in bodies
        ]
        canonicals = [
            CanonicalWorkflow(
                tenant_id=tenant.id,
                canonical_slug=f"wf-{i}",
                name=f"other name {i}",
                hash_version=HASH_VERSION,
                workflow_definition=body | {"name": f"other name {i}"},
            )
            for i, body in enumerate(bodies[:SPLIT_AT])
        ]
        session.add_all(mappings + canonicals)
        session.flush()
        return [m.id for m in mappings], [c.id for c in canonicals], bodies


def test_hashed_ahead_in_workers_equals_hashed_here(runtime: Runtime) -> None:
    workflow_ids, canonical_ids, bodies = _rows(runtime)
    with LazyProcessPool(max_workers=2) as pool, transaction(runtime.sessions) as session:
        pool.start()
        assert pool.parallel
        hashes = BodyHashes.start(session, workflow_ids, canonical_ids, {}, pool).result()
        inline = BodyHashes.start(session, workflow_ids[:3], [], {}, None).result()
    expected = body_hash_documents([orjson.dumps(body) for body in bodies])
    assert [hashes[i] for i in workflow_ids] == expected
    # a canonical under another name has the body hash of the workflow it was made from
    assert [hashes[i] for i in canonical_ids] == expected[:SPLIT_AT]
    assert expected[0] == body_hash(bodies[0] | {"name": "renamed"})
    assert inline == {i: hashes[i] for i in workflow_ids[:3]}
    assert len(set(expected)) == COUNT  # the workflows differ: equal lists mean something


def test_nothing_asked_nothing_read(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        assert BodyHashes.start(session, [], [], {}, None).result() == {}
