"""An environment sync whose lease another run took over (after a stall) stops at once and
stores nothing more (a real n8n)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from canonflow.db import leases
from canonflow.db.engine import transaction
from canonflow.db.models import SyncRun
from canonflow.runtime import Runtime
from canonflow.sync import environment
from canonflow.sync.environment import sync_environment, sync_lease_name
from tests.sync.conftest import EnvUnderTest

# A time to live so short that the lease has expired by the time anyone looks: another run
# can take it over at once, and every renewal writes (and so checks).
STALLED = timedelta(0)


def take_over(runtime: Runtime, name: str, tenant_id: Any) -> None:
    taker = leases.try_acquire(
        runtime.sessions, name=name, tenant_id=tenant_id, ttl=timedelta(minutes=5)
    )
    assert taker is not None, "the other run could not take the expired lease"


def last_run(runtime: Runtime) -> SyncRun:
    with transaction(runtime.sessions) as session:
        run = session.scalars(select(SyncRun).order_by(SyncRun.started_at.desc())).first()
        assert run is not None
        return run


def test_an_environment_sync_that_lost_its_lease_stores_nothing_more(
    dev_env: EnvUnderTest,
    create_in_n8n: Callable[..., dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for i in range(3):
        create_in_n8n(dev_env, f"Listed {i}")
    monkeypatch.setattr(environment, "LEASE_TTL", STALLED)
    name = sync_lease_name(dev_env.environment_id)
    with pytest.raises(leases.LeaseLost) as lost:
        sync_environment(
            dev_env.runtime.sessions,
            dev_env.runtime.secrets,
            tenant_id=dev_env.tenant_id,
            environment_id=dev_env.environment_id,
            on_page=lambda _page: take_over(dev_env.runtime, name, dev_env.tenant_id),
        )
    assert "taken over by another run" in lost.value.message
    assert dev_env.mappings() == {}  # the page it had listed was left to the new holder
    run = last_run(dev_env.runtime)
    assert (run.complete, run.error) == (False, lost.value.message)
