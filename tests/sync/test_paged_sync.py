"""Environment sync reads the environment's mappings a page at a time (issue 19: a
50,000-workflow environment in the memory of a page): the rows of each listed page, the
references its workflows name, the missing marking in keyset pages, the reference
fingerprint streamed. Small pages here make every boundary count."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import update

from canonflow.core.hashing import content_hash
from canonflow.core.status import MappingStatus
from canonflow.db.engine import transaction
from canonflow.db.models import CanonicalWorkflow, Environment, WorkflowEnvMap
from canonflow.runtime import Runtime
from canonflow.sync import environment, mappings
from canonflow.sync.candidates import auto_link_candidates
from canonflow.sync.environment import refs_fingerprint
from tests.factories import make_tenant
from tests.support.n8n_fixtures import make_workflow
from tests.sync.conftest import EnvUnderTest

Create = Callable[..., dict[str, Any]]


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(environment, "PAGE_SIZE", 2)  # listed 2 at a time
    monkeypatch.setattr(environment, "MISSING_PAGE", 2)  # mappings read 2 at a time


def test_missing_marking_reads_the_environment_in_pages(
    dev_env: EnvUnderTest, create_in_n8n: Create, small_pages: None
) -> None:
    made = [create_in_n8n(dev_env, f"Paged {i}") for i in range(7)]
    first = dev_env.sync()
    assert (first.complete, first.seen, first.created, first.missing) == (True, 7, 7, 0)
    ignored = made[1]["id"]
    with transaction(dev_env.runtime.sessions) as session:
        session.execute(
            update(WorkflowEnvMap)
            .where(WorkflowEnvMap.n8n_workflow_id == ignored)
            .values(status=MappingStatus.IGNORED)
        )
    gone = {made[i]["id"] for i in (0, 1, 3, 6)}  # across several keyset pages
    with dev_env.n8n_http() as http:
        for n8n_id in gone:
            http.delete(f"/workflows/{n8n_id}").raise_for_status()

    second = dev_env.sync()
    assert (second.seen, second.missing, second.created) == (3, 3, 0)
    rows = dev_env.mappings()
    for wf in made:
        row = rows[wf["id"]]
        if wf["id"] == ignored:  # stays ignored, and knows its workflow is gone
            assert (row.status, row.present) == (MappingStatus.IGNORED, False)
        elif wf["id"] in gone:
            assert (row.status, row.present) == (MappingStatus.MISSING, False)
        else:
            assert (row.status, row.present) == (MappingStatus.UNTRACKED, True)
    stamps = {key: row.updated_at for key, row in rows.items()}

    third = dev_env.sync()
    assert (third.missing, third.updated, third.created, third.unchanged) == (0, 0, 0, 3)
    assert {key: row.updated_at for key, row in dev_env.mappings().items()} == stamps


def test_a_sync_cut_short_after_a_page_marks_nothing_and_the_retry_converges(
    dev_env: EnvUnderTest, create_in_n8n: Create, small_pages: None
) -> None:
    made = [create_in_n8n(dev_env, f"Cut {i}") for i in range(5)]
    dev_env.sync()
    with dev_env.n8n_http() as http:
        http.delete(f"/workflows/{made[4]['id']}").raise_for_status()
    renamed = made[0] | {"name": "Cut renamed"}
    with dev_env.n8n_http() as http:
        body = {k: renamed[k] for k in ("name", "nodes", "connections", "settings")}
        http.put(f"/workflows/{made[0]['id']}", json=body).raise_for_status()

    seen_pages: list[int] = []

    def stop_after_first_page(workflows: list[dict[str, Any]]) -> None:
        seen_pages.append(len(workflows))
        if len(seen_pages) == 2:
            raise RuntimeError("the sync is cut short")

    with pytest.raises(RuntimeError, match="cut short"):
        environment.sync_environment(
            dev_env.runtime.sessions,
            dev_env.runtime.secrets,
            tenant_id=dev_env.tenant_id,
            environment_id=dev_env.environment_id,
            on_page=stop_after_first_page,
        )
    assert all(row.status is MappingStatus.UNTRACKED for row in dev_env.mappings().values())

    retry = dev_env.sync()
    assert (retry.complete, retry.seen, retry.missing) == (True, 4, 1)
    rows = dev_env.mappings()
    assert rows[made[4]["id"]].status is MappingStatus.MISSING
    assert rows[made[0]["id"]].workflow_name == "Cut renamed"
    assert sum(row.status is MappingStatus.UNTRACKED for row in rows.values()) == 4


def test_references_resolve_page_by_page(
    dev_env: EnvUnderTest, create_in_n8n: Create, small_pages: None
) -> None:
    callee = create_in_n8n(dev_env, "Callee")
    fillers = [create_in_n8n(dev_env, f"Filler {i}") for i in range(3)]
    body = make_workflow("Caller", 2)
    body["nodes"][1] = {
        "id": "c0ffee00-0000-4000-8000-000000000001",
        "name": body["nodes"][1]["name"],  # the connections name it
        "type": "n8n-nodes-base.executeWorkflow",
        "typeVersion": 1,
        "position": [220, 0],
        "parameters": {"workflowId": callee["id"]},
    }
    with dev_env.n8n_http() as http:
        response = http.post("/workflows", json=body)
        response.raise_for_status()
        caller = response.json()
    dev_env.sync()
    assert dev_env.mappings()[caller["id"]].env_content_hash == content_hash(caller)

    with transaction(dev_env.runtime.sessions) as session:
        row = CanonicalWorkflow(
            tenant_id=dev_env.tenant_id,
            canonical_slug="callee",
            name="Callee",
            content_hash="v1:callee",
            workflow_definition={},
        )
        session.add(row)
        session.flush()
        session.execute(
            update(WorkflowEnvMap)
            .where(WorkflowEnvMap.n8n_workflow_id == callee["id"])
            .values(canonical_id=row.id, status=MappingStatus.LINKED)
        )
    second = dev_env.sync()  # the reference map moved: every workflow is hashed again
    assert second.complete and len(fillers) == 3
    expected = content_hash(caller, {callee["id"]: "callee"})
    assert expected != content_hash(caller)
    assert dev_env.mappings()[caller["id"]].env_content_hash == expected


def test_the_streamed_reference_fingerprint_is_the_maps(runtime: Runtime) -> None:
    # Mixed case and digits: Python's order is code point order, not a locale's.
    ids = ["abc", "ABD", "a0c", "Zz9", "zZ9", "0aa", "_x"]
    with transaction(runtime.sessions) as session:
        tenant = make_tenant(session)
        env = Environment(
            tenant_id=tenant.id,
            name="dev",
            base_url="http://127.0.0.1:9",
            api_key=runtime.secrets.seal("key"),
        )
        session.add(env)
        session.flush()
        empty = mappings.reference_fingerprint(session, tenant.id, env.id)
        assert empty == refs_fingerprint({})
        for n, n8n_id in enumerate(ids):
            canonical = CanonicalWorkflow(
                tenant_id=tenant.id,
                canonical_slug=f"slug-{n}",
                name=f"Flow {n}",
                content_hash=f"v1:{n}",
                workflow_definition={},
            )
            session.add(canonical)
            session.flush()
            session.add(
                WorkflowEnvMap(
                    tenant_id=tenant.id,
                    environment_id=env.id,
                    canonical_id=canonical.id,
                    n8n_workflow_id=n8n_id,
                    status=MappingStatus.LINKED,
                )
            )
        session.flush()
        refs = mappings.reference_slugs(session, tenant.id, env.id)
        streamed = mappings.reference_fingerprint(session, tenant.id, env.id, chunk=3)
    assert len(refs) == len(ids)
    assert streamed == refs_fingerprint(refs)


def test_auto_link_candidates_are_those_that_can_match(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        tenant, other = make_tenant(session), make_tenant(session)
        env = Environment(
            tenant_id=tenant.id,
            name="dev",
            base_url="http://127.0.0.1:9",
            api_key=runtime.secrets.seal("key"),
        )
        session.add(env)
        session.flush()

        def canonical(owner: Any, slug: str, name: str, digest: str) -> CanonicalWorkflow:
            row = CanonicalWorkflow(
                tenant_id=owner.id,
                canonical_slug=slug,
                name=name,
                content_hash=digest,
                workflow_definition={},
            )
            session.add(row)
            session.flush()
            return row

        def mapping(n8n_id: str, name: str, digest: str, **values: Any) -> WorkflowEnvMap:
            values.setdefault("status", MappingStatus.UNTRACKED)
            row = WorkflowEnvMap(
                tenant_id=tenant.id,
                environment_id=env.id,
                n8n_workflow_id=n8n_id,
                workflow_name=name,
                env_content_hash=digest,
                **values,
            )
            session.add(row)
            session.flush()
            return row

        by_name = canonical(tenant, "billing", "Billing", "v1:b")
        by_hash = canonical(tenant, "invoices", "Invoices", "v1:i")
        canonical(tenant, "lonely", "Lonely", "v1:l")  # nothing shares its name or hash
        canonical(other, "scratch", "Scratch", "v1:s")  # another tenant's
        held = canonical(tenant, "held", "Held", "v1:h")
        mapping("w1", "Billing", "v1:x")
        mapping("w2", "Billing", "v1:y")  # the same name twice: ambiguous, both read
        mapping("w3", "Renamed invoices", "v1:i")
        mapping("w4", "Scratch", "v1:s")  # matches only the other tenant's
        mapping("w5", "Held", "v1:h", canonical_id=held.id, status=MappingStatus.LINKED)
        mapping("w6", "Held", "v1:z")  # its canonical is held here by a live mapping

        untracked, canonicals = auto_link_candidates(session, tenant.id, env.id)
    assert sorted(name for _id, name, _hash in canonicals) == ["Billing", "Invoices"]
    assert {row[0] for row in canonicals} == {by_name.id, by_hash.id}
    assert sorted((name, digest) for _id, name, digest in untracked) == [
        ("Billing", "v1:x"),
        ("Billing", "v1:y"),
        ("Renamed invoices", "v1:i"),
    ]
