"""A read-only transaction holds no write lock and sees one snapshot."""

from __future__ import annotations

from sqlalchemy import func, select

from canonflow.db.engine import read_transaction, statement_reads, transaction
from canonflow.db.models import Tenant
from canonflow.runtime import Runtime
from tests.factories import make_tenant


def test_a_reader_does_not_block_a_writer_and_keeps_its_snapshot(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        make_tenant(session)
    with read_transaction(runtime.sessions) as reader:
        before = reader.scalar(select(func.count()).select_from(Tenant))
        with transaction(runtime.sessions) as writer:  # would wait 30 s on a held lock
            make_tenant(writer)
        assert reader.scalar(select(func.count()).select_from(Tenant)) == before
    with read_transaction(runtime.sessions) as later:
        assert later.scalar(select(func.count()).select_from(Tenant)) == before + 1


def test_statement_reads_send_no_begin_on_postgresql(runtime: Runtime, backend: str) -> None:
    """A matrix page's two statements: on PostgreSQL in autocommit (no BEGIN, no ROLLBACK
    round trip), each seeing what was committed before it; the pooled connection goes back
    to transactions afterwards."""
    with transaction(runtime.sessions) as session:
        make_tenant(session)
    postgres = backend == "postgresql"
    with statement_reads(runtime.sessions) as reader:
        before = reader.scalar(select(func.count()).select_from(Tenant))
        if postgres:  # now() is the transaction's start: equal only outside a transaction
            outside = reader.connection().exec_driver_sql("SELECT now() = statement_timestamp()")
            assert outside.scalar() is True
        with transaction(runtime.sessions) as writer:
            make_tenant(writer)
        after = reader.scalar(select(func.count()).select_from(Tenant))
    # PostgreSQL: each statement sees what committed before it; SQLite: one snapshot
    assert after == (before + 1 if postgres else before)
    with runtime.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT 1").scalar() == 1
        if postgres:
            assert connection.connection.dbapi_connection.autocommit is False
