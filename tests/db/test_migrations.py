"""The migrated schema is exactly the models' schema, on both backends."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text

from canonflow.core.status import MappingStatus
from canonflow.db.base import Base
from canonflow.db.engine import transaction
from canonflow.db.migrate import alembic_config, current_revision, head_revision, upgrade
from canonflow.db.models import CanonicalWorkflow, Environment, WorkflowEnvMap
from canonflow.runtime import Runtime
from tests.factories import make_tenant

EXPECTED_TABLES = {
    "tenants",
    "api_tokens",
    "environments",
    "git_repositories",
    "canonical_workflows",
    "workflow_env_map",
    "background_jobs",
    "sync_runs",
    "status_events",
    "audit_log",
    "credential_bindings",
    "snapshots",
    "leases",
    "onboardings",
}


def test_migrated_schema_has_no_autogenerate_diff(runtime: Runtime) -> None:
    with runtime.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_every_design_table_exists(runtime: Runtime) -> None:
    tables = set(inspect(runtime.engine).get_table_names())
    assert tables - {"alembic_version"} == EXPECTED_TABLES


def test_partial_unique_index_on_canonical_and_environment(runtime: Runtime) -> None:
    indexes = {ix["name"]: ix for ix in inspect(runtime.engine).get_indexes("workflow_env_map")}
    index = indexes["uq_workflow_env_map_canonical_environment"]
    assert index["unique"]
    assert index["column_names"] == ["canonical_id", "environment_id"]


def test_upgrade_is_idempotent(runtime: Runtime) -> None:
    upgrade(runtime.engine)
    upgrade(runtime.engine)
    assert current_revision(runtime.engine) == head_revision()


COMPRESSION_QUERY = text(
    "SELECT attrelid::regclass::text || '.' || attname, attcompression "
    "FROM pg_attribute WHERE attname IN "
    "('workflow_data', 'workflow_definition', 'workflow', 'details') "
    "AND attrelid::regclass::text IN "
    "('workflow_env_map', 'canonical_workflows', 'snapshots', 'audit_log')"
)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_workflow_json_is_compressed_with_lz4_on_postgresql(runtime: Runtime) -> None:
    """The test cluster's PostgreSQL is built with lz4 (as Debian's is): the workflow JSON
    columns use it (`attcompression` 'l'); other columns keep the default (''). Going down
    a revision gives the default back; going up again sets lz4 again."""
    assert _compression(runtime) == {
        "workflow_env_map.workflow_data": "l",
        "canonical_workflows.workflow_definition": "l",
        "snapshots.workflow": "l",
        "audit_log.details": "",
    }
    command.downgrade(alembic_config(runtime.engine), "0007")
    assert set(_compression(runtime).values()) == {""}
    upgrade(runtime.engine)
    assert _compression(runtime)["workflow_env_map.workflow_data"] == "l"


def _compression(runtime: Runtime) -> dict[str, str]:
    with runtime.engine.connect() as connection:
        return dict(connection.execute(COMPRESSION_QUERY).all())


def test_0009_round_trips_with_data(runtime: Runtime) -> None:
    """Down to 0008 and up again with mappings in the table: the facts 0009 adds are
    derived from what the rows hold (presence from the status, the hash version from the
    hash's prefix)."""
    with transaction(runtime.sessions) as session:
        tenant = make_tenant(session)
        sealed = runtime.secrets.seal("k")
        environment = Environment(
            tenant_id=tenant.id, name="dev", base_url="http://n8n", api_key=sealed
        )
        canonical = CanonicalWorkflow(
            tenant_id=tenant.id, canonical_slug="billing", name="Billing", workflow_definition={}
        )
        session.add_all([environment, canonical])
        session.flush()
        for status, digest in (
            (MappingStatus.LINKED, "v1:" + "a" * 64),
            (MappingStatus.MISSING, "v1:" + "b" * 64),
            (MappingStatus.UNTRACKED, "v0:older-rules"),
        ):
            session.add(
                WorkflowEnvMap(
                    tenant_id=tenant.id,
                    environment_id=environment.id,
                    canonical_id=canonical.id if status is MappingStatus.LINKED else None,
                    released_canonical_id=canonical.id,
                    n8n_workflow_id=status.value,
                    status=status,
                    env_content_hash=digest,
                    env_hash_version=7,
                    present=True,
                )
            )
    command.downgrade(alembic_config(runtime.engine), "0008")
    columns = {c["name"] for c in inspect(runtime.engine).get_columns("workflow_env_map")}
    assert not {"present", "env_hash_version", "released_canonical_id"} & columns
    upgrade(runtime.engine)
    with transaction(runtime.sessions) as session:
        found = {
            row.n8n_workflow_id: (row.present, row.env_hash_version, row.released_canonical_id)
            for row in session.scalars(select(WorkflowEnvMap))
        }
    assert found == {
        "linked": (True, 1, None),
        "missing": (False, 1, None),
        "untracked": (True, None, None),
    }
