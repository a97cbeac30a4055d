"""The summary's kept counts (issue 19) equal the full scan after every kind of write on
plain rows (a random sequence, as the write flows do it: rows changed, then
`record_state_changes` on what they touched), survive an environment's deletion, and a
count gone wrong is found and repaired by `canonflow db summary-check`; both backends.
The write flows themselves are checked against real n8n and Git in
`tests/matrix/test_summary_flows.py` and `tests/catalogue/test_history_flow.py`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from canonflow.catalogue.states import StateCause, record_state_changes
from canonflow.config import Settings
from canonflow.core.enums import Role
from canonflow.core.status import MappingStatus
from canonflow.db.engine import transaction
from canonflow.db.models import CanonicalWorkflow, SummaryCount, Tenant, WorkflowEnvMap
from canonflow.matrix import service
from canonflow.runtime import Runtime
from tests.cli.helpers import cli_env, run_cli
from tests.factories import bearer, make_tenant, make_token
from tests.matrix.conftest import H1, H2, H3, Tenancy, make_tenancy
from tests.support.summary_counts import assert_counts_kept

HASHES = st.sampled_from([None, H1, H2, H3])
ENVS = ("dev", "prod")


def test_the_estate_counts_as_the_scan(runtime: Runtime, estate: Tenancy) -> None:
    assert_counts_kept(runtime, estate.tenant_id)
    assert_counts_kept(runtime, estate.other.tenant_id)  # type: ignore[attr-defined]
    with transaction(runtime.sessions) as session:
        staging = service.environments_of(session, estate.tenant_id, [estate.envs["staging"]])
        [kept] = service.summary(session, estate.tenant_id, staging)
    assert kept["statuses"] == {"linked": 3, "deleted": 1, "absent": 1}  # as test_summary


@dataclass
class Model:
    """What the random writes made: mappings (id, env, canonical) and canonical workflows."""

    canonicals: list[uuid.UUID] = field(default_factory=list)
    mappings: list[tuple[uuid.UUID, str, uuid.UUID | None]] = field(default_factory=list)

    def held(self, canonical: uuid.UUID, env: str) -> bool:
        return any(m[1] == env and m[2] == canonical for m in self.mappings)


STATUS = st.sampled_from([MappingStatus.LINKED] * 4 + list(MappingStatus))
WRITES = st.one_of(
    st.tuples(
        st.just("add"),
        st.integers(0, 3),
        st.sampled_from(ENVS),
        STATUS,
        HASHES,
        HASHES,
        HASHES,
        HASHES,
    ),
    st.tuples(st.just("hashes"), st.integers(0, 50), HASHES, HASHES, HASHES, HASHES),
    st.tuples(st.just("draft"), st.integers(0, 50), HASHES),  # n8n saved a draft, or published
    st.tuples(st.just("status"), st.integers(0, 50), STATUS),
    st.tuples(st.just("release"), st.integers(0, 50)),
    st.tuples(st.just("canonical"), st.integers(0, 5), st.booleans()),
    st.tuples(st.just("new_canonical")),
)
#: Each kind of write once at least, where it moves a cell's key and where it does not.
EVERY_KIND = [
    ("add", 0, "dev", MappingStatus.LINKED, H2, H1, H1, None),  # drift
    ("add", 0, "prod", MappingStatus.LINKED, H1, H1, H1, None),  # in sync
    ("add", 3, "dev", MappingStatus.UNTRACKED, H3, None, None, None),
    ("add", 1, "dev", MappingStatus.MISSING, H1, H1, H1, None),
    ("draft", 0, H3),  # drift with a draft: the state stays, the flag moves
    ("draft", 1, H3),  # in sync with a draft: draft_pending
    ("draft", 1, H1),  # published
    ("hashes", 0, H1, H2, H1, H3),  # out of date
    ("release", 3),  # the missing one lets go of its canonical: absent again, still missing
    ("canonical", 0, True),  # deleted in Git: orphaned in both environments
    ("canonical", 0, False),  # re-adopted
    ("status", 0, MappingStatus.IGNORED),
    ("status", 0, MappingStatus.LINKED),
    ("status", 1, MappingStatus.DELETED),
    ("new_canonical",),  # absent everywhere
    ("add", 3, "prod", MappingStatus.LINKED, H1, H1, None, None),  # the new one, in sync
]


def test_each_kind_of_write_keeps_the_counts(runtime: Runtime) -> None:
    t = make_tenancy(runtime, ENVS)
    model = Model([t.add_canonical(f"W{i}") for i in range(3)])
    for write in EVERY_KIND:
        _write(t, model, write)
        assert_counts_kept(runtime, t.tenant_id)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(writes=st.lists(WRITES, min_size=1, max_size=14))
def test_random_writes_keep_the_counts(runtime: Runtime, writes: list[tuple]) -> None:  # type: ignore[type-arg]
    t = make_tenancy(runtime, ENVS)
    model = Model([t.add_canonical(f"W{i}") for i in range(3)])
    for write in writes:
        _write(t, model, write)
        assert_counts_kept(runtime, t.tenant_id)


def _write(t: Tenancy, model: Model, write: tuple) -> None:  # type: ignore[type-arg]
    kind, *args = write
    with transaction(t.runtime.sessions) as session:
        if kind == "new_canonical":
            model.canonicals.append(_canonical(session, t.tenant_id))
            return
        if kind == "canonical":
            canonical = model.canonicals[args[0] % len(model.canonicals)]
            session.get_one(CanonicalWorkflow, canonical).is_deleted = args[1]
            session.flush()
            record_state_changes(
                session, t.tenant_id, StateCause.REPO_SYNC, canonical_ids=[canonical]
            )
            return
        if kind == "add":
            model.mappings.append(_add(session, t, model, *args))
            mapping_id = model.mappings[-1][0]
        elif not model.mappings:
            return
        else:
            mapping_id, env, canonical = model.mappings[args[0] % len(model.mappings)]
            row = session.get_one(WorkflowEnvMap, mapping_id)
            if kind == "hashes":
                row.env_content_hash, row.git_content_hash = args[1], args[2]
                row.base_content_hash, row.n8n_draft_hash = args[3], args[4]
            elif kind == "draft":
                row.n8n_draft_hash = args[1]
            elif kind == "status":
                row.status = args[1] if canonical or args[1] != MappingStatus.LINKED else row.status
            elif kind == "release" and row.status != MappingStatus.LINKED:
                row.canonical_id, row.released_canonical_id = None, canonical
                index = model.mappings.index((mapping_id, env, canonical))
                model.mappings[index] = (mapping_id, env, None)
            session.flush()
        record_state_changes(session, t.tenant_id, StateCause.ENV_SYNC, mapping_ids=[mapping_id])


def _canonical(session, tenant_id: uuid.UUID) -> uuid.UUID:  # type: ignore[no-untyped-def]
    row = CanonicalWorkflow(
        tenant_id=tenant_id,
        canonical_slug=f"w-{uuid.uuid4().hex[:8]}",
        name="W",
        content_hash=H1,
        workflow_definition={},
    )
    session.add(row)
    session.flush()
    return row.id


def _add(  # type: ignore[no-untyped-def]
    session, t: Tenancy, model: Model, which: int, env: str, status: MappingStatus,
    env_hash: str | None, git_hash: str | None, base_hash: str | None, draft: str | None,
) -> tuple[uuid.UUID, str, uuid.UUID | None]:  # fmt: skip
    canonical: uuid.UUID | None = model.canonicals[which % len(model.canonicals)]
    if which >= len(model.canonicals) or model.held(canonical, env):  # type: ignore[arg-type]
        canonical = None
    if canonical is None and status is MappingStatus.LINKED:
        status = MappingStatus.UNTRACKED
    row = WorkflowEnvMap(
        tenant_id=t.tenant_id,
        canonical_id=canonical,
        environment_id=t.envs[env],
        n8n_workflow_id=uuid.uuid4().hex,
        status=status,
        env_content_hash=env_hash,
        git_content_hash=git_hash,
        base_content_hash=base_hash,
        n8n_draft_hash=draft,
    )
    session.add(row)
    session.flush()
    return row.id, env, canonical


def test_deleting_an_environment_takes_its_counts(
    runtime: Runtime, client: TestClient, estate: Tenancy
) -> None:
    with transaction(runtime.sessions) as session:
        tenant = session.get_one(Tenant, estate.tenant_id)
        admin = bearer(make_token(session, tenant, role=Role.ADMIN))
    response = client.delete(f"/api/v1/environments/{estate.envs['dev']}", headers=admin)
    assert response.status_code == 204, response.text
    with transaction(runtime.sessions) as session:
        left = session.scalar(
            select(func.count()).where(SummaryCount.environment_id == estate.envs["dev"])
        )
    assert left == 0
    assert_counts_kept(runtime, estate.tenant_id)


def test_summary_check_finds_and_repairs_a_count_gone_wrong(
    runtime: Runtime, settings: Settings, estate: Tenancy
) -> None:
    with transaction(runtime.sessions) as session:
        make_tenant(session)  # a tenant with nothing at all checks too
    env = cli_env(settings)
    agreed = run_cli("db", "summary-check", env=env)
    assert (agreed.returncode, agreed.stdout.strip()) == (0, "the counts agree"), agreed.stderr
    with transaction(runtime.sessions) as session:  # a write that went around the recorder
        session.execute(
            update(SummaryCount)
            .where(SummaryCount.environment_id == estate.envs["prod"])
            .values(n=SummaryCount.n + 2)
        )
    found = run_cli("db", "summary-check", env=env)
    assert found.returncode == 1, found.stdout + found.stderr
    assert "/prod: kept" in found.stdout and "1 environment(s) differ" in found.stdout
    repaired = run_cli("db", "summary-check", "--repair", env=env)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert_counts_kept(runtime, estate.tenant_id)
