"""A read-only transaction holds no write lock and sees one snapshot."""

from __future__ import annotations

from sqlalchemy import func, select

from canonflow.db.engine import read_transaction, transaction
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
