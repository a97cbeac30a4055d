"""The migrated schema is exactly the models' schema, on both backends."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text

from canonflow.core.status import MappingStatus
from canonflow.db.base import Base
from canonflow.db.engine import transaction
from canonflow.db.migrate import (
    MIGRATIONS_DIR,
    alembic_config,
    current_revision,
    head_revision,
    include_name,
    upgrade,
)
from canonflow.db.models import (
    CanonicalWorkflow,
    Environment,
    StateChange,
    WorkflowEnvMap,
    load_all,
)
from canonflow.runtime import Runtime
from tests.factories import make_tenant, make_token
from tests.support.world import seed_world

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
    "state_changes",
    "leases",
    "onboardings",
    "workflow_templates",
    "notification_destinations",
    "notification_deliveries",
    "promotions",
    "ignore_rules",
    "approvals",
    "summary_counts",
}


def test_migrated_schema_has_no_autogenerate_diff(runtime: Runtime) -> None:
    load_all()
    assert set(Base.metadata.tables) == EXPECTED_TABLES
    with runtime.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": include_name}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_every_design_table_exists(runtime: Runtime) -> None:
    tables = set(inspect(runtime.engine).get_table_names())
    ours = {table for table in tables if include_name(table, "table")}
    assert ours - {"alembic_version"} == EXPECTED_TABLES
    engine_tables = tables - ours  # procrastinate's, on PostgreSQL only
    expected = {"jobs", "workers", "events", "periodic_defers"}
    assert engine_tables == (
        {f"procrastinate_{name}" for name in expected}
        if runtime.engine.dialect.name == "postgresql"
        else set()
    )


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


def _revisions() -> list[str]:
    """Every revision, oldest first."""
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return [
        script.revision
        for script in reversed(list(ScriptDirectory.from_config(config).walk_revisions()))
    ]


def _seed_two_tenants(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        for slug in ("round-trip-a", "round-trip-b"):
            tenant = make_tenant(session, slug=slug)
            make_token(session, tenant)
            seed_world(session, tenant.id, runtime.secrets)


def _row_counts(runtime: Runtime) -> dict[str, int]:
    tables = set(inspect(runtime.engine).get_table_names()) - {"alembic_version"}
    with runtime.engine.connect() as connection:
        return {
            table: connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
            for table in tables
        }


def test_every_migration_goes_down_and_up_again_with_data_in_the_tables(
    runtime: Runtime,
) -> None:
    """One step down and up again at every revision, with rows of every kind in the
    tables, then down to base and up to head: each step succeeds, every table a step keeps
    keeps all its rows (no cascade, no loss), and the schema at the end is the models'."""
    _seed_two_tenants(runtime)
    config = alembic_config(runtime.engine)
    for revision in reversed(_revisions()[1:]):
        before = _row_counts(runtime)
        assert before["tenants"] == 2
        command.downgrade(config, "-1")
        kept = _row_counts(runtime)
        assert {t: before[t] for t in kept if t in before} == {
            t: kept[t] for t in kept if t in before
        }
        command.upgrade(config, revision)
        after = _row_counts(runtime)
        assert {t: after[t] for t in kept if t in before} == {
            t: before[t] for t in kept if t in before
        }
        command.downgrade(config, "-1")  # and on down, with the data still there
    command.downgrade(config, "base")
    assert set(inspect(runtime.engine).get_table_names()) <= {"alembic_version"}
    upgrade(runtime.engine)
    assert current_revision(runtime.engine) == head_revision()
    test_migrated_schema_has_no_autogenerate_diff(runtime)
    _seed_two_tenants(runtime)  # the schema takes new rows again
    assert _row_counts(runtime)["workflow_env_map"] == 2


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


def test_0010_round_trips_schedules_with_data(runtime: Runtime) -> None:
    """Down to 0009 and up again: intervals survive both ways, an environment that had
    none (before schedules) gets the hourly default, the scheduler's state starts empty, and
    the scheduler's lease of no tenant goes (0009 requires a tenant)."""
    from datetime import timedelta

    from canonflow.db.leases import try_acquire
    from canonflow.db.models import GitRepository, Lease
    from canonflow.db.types import utcnow

    with transaction(runtime.sessions) as session:
        tenant = make_tenant(session)
        sealed = runtime.secrets.seal("k")
        session.add_all(
            [
                Environment(
                    tenant_id=tenant.id,
                    name=name,
                    base_url="http://n8n",
                    api_key=sealed,
                    sync_interval_s=interval,
                    paused=True,
                    next_sync_at=utcnow(),
                )
                for name, interval in (("dev", 900), ("prod", 0), ("old", 3600))
            ]
            + [GitRepository(tenant_id=tenant.id, url="https://g/r.git", sync_interval_s=120)]
        )
    assert try_acquire(runtime.sessions, name="scheduler.tick", tenant_id=None, ttl=timedelta(1))

    command.downgrade(alembic_config(runtime.engine), "0009")
    assert not {"paused", "next_sync_at"} & {
        c["name"] for c in inspect(runtime.engine).get_columns("environments")
    }
    with runtime.engine.begin() as connection:
        assert connection.execute(text("SELECT count(*) FROM leases")).scalar_one() == 0
        rows = connection.execute(text("SELECT name, sync_interval_s FROM environments"))
        kept = {row[0]: row[1] for row in rows}
        assert kept == {"dev": 900, "prod": 0, "old": 3600}
        connection.execute(
            text("UPDATE environments SET sync_interval_s = NULL WHERE name = 'old'")
        )
    upgrade(runtime.engine)

    with transaction(runtime.sessions) as session:
        found = {
            e.name: (e.sync_interval_s, e.paused, e.next_sync_at)
            for e in session.scalars(select(Environment))
        }
        repository = session.scalars(select(GitRepository)).one()
        assert (repository.sync_interval_s, repository.paused) == (3600, False)
        assert session.scalars(select(Lease)).all() == []
    assert found == {
        "dev": (900, False, None),
        "prod": (0, False, None),
        "old": (3600, False, None),
    }


def test_0015_round_trips_publication_facts_with_data(runtime: Runtime) -> None:
    """Down to 0014 and up again with a mapping holding a draft hash and an environment
    knowing its n8n major: going down drops the columns and keeps the rows (a
    `draft_pending` state, unknown to 0014, becomes in sync there, and its recorded
    changes none); coming up, they are empty (the next sync hashes every workflow once
    again, since `n8n_active` is unknown), and an empty draft hash derives no new state."""
    with transaction(runtime.sessions) as session:
        tenant = make_tenant(session)
        environment = Environment(
            tenant_id=tenant.id,
            name="dev",
            base_url="http://n8n",
            api_key=runtime.secrets.seal("k"),
            n8n_major=2,
        )
        canonical = CanonicalWorkflow(
            tenant_id=tenant.id, canonical_slug="billing", name="Billing", workflow_definition={}
        )
        session.add_all([environment, canonical])
        session.flush()
        digest = "v1:" + "a" * 64
        session.add(
            WorkflowEnvMap(
                tenant_id=tenant.id,
                environment_id=environment.id,
                canonical_id=canonical.id,
                n8n_workflow_id="w1",
                status=MappingStatus.LINKED,
                env_content_hash=digest,
                git_content_hash=digest,
                base_content_hash=digest,
                n8n_draft_hash="v1:" + "d" * 64,
                n8n_active=True,
                n8n_active_version_id="v-7",
                derived_state="draft_pending",
            )
        )
        session.flush()
        mapping = session.scalars(select(WorkflowEnvMap)).one()
        session.add_all(
            StateChange(
                tenant_id=tenant.id,
                mapping_id=mapping.id,
                canonical_id=canonical.id,
                environment_id=environment.id,
                from_state=before,
                to_state=after,
                cause="env_sync",
            )
            for before, after in (("drift", "in_sync"), ("in_sync", "draft_pending"))
        )
    command.downgrade(alembic_config(runtime.engine), "0014")
    with runtime.engine.begin() as connection:  # 0014 knows no draft_pending: in sync there
        states = connection.execute(text("SELECT derived_state FROM workflow_env_map"))
        assert states.scalars().all() == ["in_sync"]
        changes = connection.execute(text("SELECT from_state, to_state FROM state_changes"))
        assert [tuple(row) for row in changes] == [("drift", "in_sync")]
    mapping_columns = {c["name"] for c in inspect(runtime.engine).get_columns("workflow_env_map")}
    assert not {"n8n_draft_hash", "n8n_active", "n8n_active_version_id"} & mapping_columns
    environment_columns = {c["name"] for c in inspect(runtime.engine).get_columns("environments")}
    assert "n8n_major" not in environment_columns
    with runtime.engine.begin() as connection:
        assert connection.execute(text("SELECT count(*) FROM workflow_env_map")).scalar_one() == 1
    upgrade(runtime.engine)
    with transaction(runtime.sessions) as session:
        row = session.scalars(select(WorkflowEnvMap)).one()
        assert (row.n8n_draft_hash, row.n8n_active, row.n8n_active_version_id) == (None,) * 3
        assert row.derived_state == "in_sync"  # as the downgrade left it, until a flow records
        assert session.scalars(select(Environment.n8n_major)).one() is None
    test_migrated_schema_has_no_autogenerate_diff(runtime)
