"""The drift trend on state changes inserted with explicit times: UTC day boundaries, an
environment added mid-period, opened/closed and the mean time to sync; both backends."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import delete, update

from canonflow.catalogue.states import StateCause, record_state_changes
from canonflow.core.status import MappingStatus
from canonflow.db.engine import transaction
from canonflow.db.models import Environment, StateChange, WorkflowEnvMap
from canonflow.runtime import Runtime
from tests.matrix.conftest import H1, H2, Tenancy, make_tenancy

URL = "/api/v1/workflows/drift-trend"


def _at(day: date, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm, ss), tzinfo=UTC)


def _change(
    t: Tenancy, mapping: uuid.UUID, env: str, frm: str | None, to: str, at: datetime, since: Any
) -> None:
    with transaction(t.runtime.sessions) as session:
        session.add(
            StateChange(
                tenant_id=t.tenant_id,
                mapping_id=mapping,
                canonical_id=None,
                environment_id=t.envs[env],
                from_state=frm,
                to_state=to,
                cause=StateCause.ENV_SYNC.value,
                at=at,
                since=since,
            )
        )


def _trend(client: TestClient, t: Tenancy, **params: Any) -> list[dict[str, Any]]:
    response = client.get(URL, params=params, headers=t.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _created(t: Tenancy, env: str, at: datetime) -> None:
    with transaction(t.runtime.sessions) as session:
        session.execute(
            update(Environment).where(Environment.id == t.envs[env]).values(created_at=at)
        )


def test_day_boundaries_and_an_environment_added_mid_period(
    client: TestClient, runtime: Runtime
) -> None:
    t = make_tenancy(runtime, ("prod", "staging"))
    today = datetime.now(UTC).date()
    d = [today - timedelta(days=n) for n in range(10)]  # d[0] today, d[9] nine days ago
    _created(t, "prod", _at(today - timedelta(days=60), 8))
    _created(t, "staging", _at(d[3], 12))  # added three days ago
    t.add_canonical("A")
    t.add_canonical("B")
    # now: prod A in sync, B in drift; staging A in sync
    a_prod = t.add_mapping("A", "prod")
    b_prod = t.add_mapping("B", "prod", env_hash=H2)
    a_staging = t.add_mapping("A", "staging")
    with transaction(runtime.sessions) as session:
        record_state_changes(session, t.tenant_id, StateCause.ENV_SYNC)
        session.execute(update(WorkflowEnvMap).values(derived_state_at=None))
    with transaction(runtime.sessions) as session:  # only the explicit history below
        session.execute(delete(StateChange))
    # prod A: drift at 23:59:59 on d[5], back in sync at 00:00:01 on d[4] (2 s later)
    _change(t, a_prod, "prod", "in_sync", "drift", _at(d[5], 23, 59, 59), _at(d[8], 0))
    _change(t, a_prod, "prod", "drift", "in_sync", _at(d[4], 0, 0, 1), _at(d[5], 23, 59, 59))
    # prod B: drift opened on d[1] at 00:00:00 sharp
    _change(t, b_prod, "prod", "in_sync", "drift", _at(d[1], 0), _at(d[9], 1))
    # staging A: appears on d[3], drifts on d[2], synced by a deploy on d[2] an hour later
    _change(t, a_staging, "staging", None, "in_sync", _at(d[3], 12, 30), None)
    _change(t, a_staging, "staging", "in_sync", "drift", _at(d[2], 9), _at(d[3], 12, 30))
    _change(t, a_staging, "staging", "drift", "in_sync", _at(d[2], 10), _at(d[2], 9))

    items = _trend(client, t, days=7)
    prod, staging = str(t.envs["prod"]), str(t.envs["staging"])
    days = sorted({i["day"] for i in items})
    assert days == [x.isoformat() for x in reversed(d[:7])]  # 7 UTC days, today included
    rows = {(i["day"], i["environment_id"]): i for i in items}
    assert {e for (_day, e) in rows} == {prod, staging}
    # staging has no rows before the day it was added
    assert sorted(day for day, e in rows if e == staging) == [x.isoformat() for x in d[3::-1]]

    def at(day: date, env: str) -> dict[str, Any]:
        return rows[(day.isoformat(), env)]

    assert at(d[6], prod)["counts"] == {"in_sync": 2}
    end_d5 = at(d[5], prod)  # A drifted one second before midnight
    assert end_d5["counts"] == {"drift": 1, "in_sync": 1}
    assert (end_d5["opened"], end_d5["closed"], end_d5["mean_time_to_sync_s"]) == (1, 0, None)
    end_d4 = at(d[4], prod)  # ... and was back two seconds later, on the next UTC day
    assert end_d4["counts"] == {"in_sync": 2}
    assert (end_d4["opened"], end_d4["closed"]) == (0, 1)
    assert end_d4["mean_time_to_sync_s"] == 2.0
    assert at(d[2], prod)["counts"] == {"in_sync": 2}
    assert at(d[1], prod)["counts"] == {"drift": 1, "in_sync": 1}
    assert at(d[1], prod)["opened"] == 1
    assert at(d[0], prod)["counts"] == {"drift": 1, "in_sync": 1}  # today: as stored
    assert at(d[3], staging)["counts"] == {"in_sync": 1}
    assert at(d[2], staging) == {
        "day": d[2].isoformat(),
        "environment_id": staging,
        "counts": {"in_sync": 1},
        "opened": 1,
        "closed": 1,
        "mean_time_to_sync_s": 3600.0,
    }

    only = _trend(client, t, days=7, environment_id=t.envs["staging"])
    assert [i["environment_id"] for i in only] == [staging] * 4
    response = client.get(URL, params={"environment_id": str(uuid.uuid4())}, headers=t.headers)
    assert response.status_code == 404
    assert client.get(URL, params={"days": 0}, headers=t.headers).status_code == 422


def test_offset_times_are_counted_on_their_utc_day(client: TestClient, runtime: Runtime) -> None:
    """A change at 01:30 at UTC+02:00 happened at 23:30 UTC the day before."""
    t = make_tenancy(runtime, ("prod",))
    today = datetime.now(UTC).date()
    _created(t, "prod", _at(today - timedelta(days=30), 0))
    t.add_canonical("A")
    mapping = t.add_mapping("A", "prod", MappingStatus.MISSING, env_hash=H1)
    with transaction(runtime.sessions) as session:
        record_state_changes(session, t.tenant_id, StateCause.ENV_SYNC)
        session.execute(delete(StateChange))
    local = datetime.combine(
        today - timedelta(days=1), time(1, 30), tzinfo=timezone(timedelta(hours=2))
    )
    _change(t, mapping, "prod", "in_sync", "missing", local, None)
    rows = {i["day"]: i for i in _trend(client, t, days=3)}
    two_days_ago = (today - timedelta(days=2)).isoformat()
    assert rows[two_days_ago]["counts"] == {"missing": 1}
    earlier = _trend(client, t, days=4)[0]
    assert earlier["counts"] == {"in_sync": 1}  # the end of the day before
