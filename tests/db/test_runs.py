"""A recorded run keeps a readable error: a typed error's message, never raw exception text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from canonflow.db.engine import transaction
from canonflow.db.leases import HeldLease
from canonflow.db.runs import Exclusive, run_recorded
from canonflow.errors import Invalid
from canonflow.runtime import Runtime
from tests.factories import make_tenant


@dataclass
class Outcome:
    error: str | None = None
    duration_ms: int = 0


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (Invalid("workflows_dir is empty"), "workflows_dir is empty"),
        (KeyError("internal_key_0x7f"), "unexpected error (KeyError); see the server log"),
    ],
    ids=["typed", "unexpected"],
)
def test_a_failed_run_records_a_readable_error(
    runtime: Runtime, error: Exception, expected: str
) -> None:
    with transaction(runtime.sessions) as session:
        tenant = make_tenant(session)
    recorded: list[str | None] = []

    def work(_lease: HeldLease) -> None:
        raise error

    def record(_sessions: sessionmaker[Session], result: Outcome) -> None:
        recorded.append(result.error)

    exclusive = Exclusive("test:run", tenant.id, timedelta(minutes=1), "busy")
    with pytest.raises(type(error)):
        run_recorded(
            runtime.sessions,
            exclusive=exclusive,
            result=Outcome(),
            work=work,
            record=record,
            remote_errors=(),
            remote="n8n",
        )
    assert recorded == [expected]
