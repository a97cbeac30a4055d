"""The principal cache: a revocation refuses the token on the very next request, whoever
revokes it; the cache never serves another tenant and the role is checked from it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from canonflow.app import create_app
from canonflow.config import Settings
from canonflow.core.enums import Role
from canonflow.db.engine import build_engine, build_sessionmaker, transaction
from canonflow.db.models import ApiToken
from canonflow.db.types import utcnow
from canonflow.runtime import Runtime
from canonflow.tenancy import service
from canonflow.tenancy.principal_cache import LISTENER_NAME, REVOKED_CHANNEL, PrincipalCache
from canonflow.tenancy.service import Principal
from canonflow.tenancy.tokens import hash_token
from tests.cli.helpers import cli_env, run_cli
from tests.factories import bearer, make_tenant

ME = "/api/v1/me"
WAIT_S = 10.0


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime=runtime)) as client:
        if runtime.principals.enabled:  # PostgreSQL: serve from the cache from now on
            assert runtime.principals.connected.wait(WAIT_S)
        yield client


def _issue(runtime: Runtime, slug: str, role: Role = Role.VIEWER) -> tuple[uuid.UUID, str]:
    with transaction(runtime.sessions) as session:
        tenant = service.get_tenant_or_raise(session, slug)
        issued = service.issue_token(session, tenant=tenant, role=role, name="t", actor="test")
        return issued.token.id, issued.secret


@pytest.fixture
def acme(runtime: Runtime) -> str:
    with transaction(runtime.sessions) as session:
        make_tenant(session, slug="acme")
    return "acme"


def _cached(runtime: Runtime, secret: str) -> Principal | None:
    return runtime.principals.get(hash_token(secret))


def _warm(client: TestClient, runtime: Runtime, secret: str) -> None:
    """Two requests: the first reads the token and (PostgreSQL) caches it."""
    for _ in range(2):
        assert client.get(ME, headers=bearer(secret)).status_code == 200
    if runtime.principals.enabled:
        assert _cached(runtime, secret) is not None
    else:  # SQLite keeps no cache: every request reads the token
        assert _cached(runtime, secret) is None


def _eventually(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_revoked_in_this_process_is_refused_on_the_next_request(
    client: TestClient, runtime: Runtime, acme: str
) -> None:
    token_id, secret = _issue(runtime, acme)
    _warm(client, runtime, secret)
    with transaction(runtime.sessions) as session:
        tenant = service.get_tenant_or_raise(session, acme)
        service.revoke_token(session, tenant=tenant, token_id=token_id, actor="test")
    response = client.get(ME, headers=bearer(secret))
    assert response.status_code == 401
    assert _cached(runtime, secret) is None


def test_revoked_by_the_cli_is_refused_on_the_next_request(
    client: TestClient, runtime: Runtime, settings: Settings, acme: str
) -> None:
    token_id, secret = _issue(runtime, acme)
    _warm(client, runtime, secret)
    revoked = run_cli("token", "revoke", str(token_id), "--tenant", acme, env=cli_env(settings))
    assert revoked.returncode == 0, revoked.stderr
    assert client.get(ME, headers=bearer(secret)).status_code == 401


def test_revoked_through_another_engine_drops_the_entry_by_notification(
    client: TestClient, runtime: Runtime, database_url: str, acme: str
) -> None:
    """Another process's revocation reaches this one only by its notification: a second
    engine, and the local drop undone, leave the listener as the only way the entry goes."""
    token_id, secret = _issue(runtime, acme)
    _warm(client, runtime, secret)
    engine = build_engine(database_url)
    try:
        with transaction(build_sessionmaker(engine)) as session:
            tenant = service.get_tenant_or_raise(session, acme)
            service.revoke_token(session, tenant=tenant, token_id=token_id, actor="test")
            refill = runtime.principals.generation
            principal = Principal(tenant.id, acme, token_id, "t", Role.VIEWER, utcnow())
            runtime.principals.put(hash_token(secret), principal, refill)  # as if not dropped
            assert (_cached(runtime, secret) is not None) == runtime.principals.enabled
    finally:
        engine.dispose()
    _eventually(lambda: _cached(runtime, secret) is None)
    assert client.get(ME, headers=bearer(secret)).status_code == 401


def test_a_listener_that_is_down_serves_nothing(
    client: TestClient, runtime: Runtime, database_url: str, acme: str
) -> None:
    """Fail closed: once the listener's connection is gone the cache is empty, so a token
    revoked without any notification (a plain UPDATE) is refused at once."""
    if not runtime.principals.enabled:
        pytest.skip("SQLite keeps no cache")
    token_id, secret = _issue(runtime, acme)
    _warm(client, runtime, secret)
    before = runtime.principals.generation
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as connection:
        killed = connection.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) FROM ("
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s "
            "AND datname = current_database() OFFSET 0) AS l",
            (LISTENER_NAME,),
        ).fetchone()
    assert killed == (1,)
    _eventually(lambda: runtime.principals.generation != before)
    with transaction(runtime.sessions) as session:
        session.execute(update(ApiToken).where(ApiToken.id == token_id).values(revoked_at=utcnow()))
    assert client.get(ME, headers=bearer(secret)).status_code == 401
    _eventually(runtime.principals.connected.is_set)  # and it comes back


def test_a_notification_drops_only_its_token(runtime: Runtime, database_url: str) -> None:
    """The listener itself, without the app: a notification naming one hash drops that entry
    and no other; `put` after a drop keeps nothing read before it."""
    if not runtime.principals.enabled:
        pytest.skip("SQLite keeps no cache")
    cache = PrincipalCache(database_url.replace("+psycopg", ""))
    try:
        cache.start()
        assert cache.connected.wait(WAIT_S)
        principal = Principal(uuid.uuid4(), "t", uuid.uuid4(), "n", Role.ADMIN)
        cache.put("one", principal, cache.generation)
        cache.put("two", principal, cache.generation)
        stale = cache.generation
        with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as connection:
            connection.execute("SELECT pg_notify(%s, 'one')", (REVOKED_CHANNEL,))
        _eventually(lambda: cache.get("one") is None)
        assert cache.get("two") == principal
        cache.put("one", principal, stale)  # read before the drop: not kept
        assert cache.get("one") is None
    finally:
        cache.close()
    assert cache.get("two") is None  # closed: serves nothing


def test_the_cache_never_serves_another_tenant(
    client: TestClient, runtime: Runtime, acme: str
) -> None:
    with transaction(runtime.sessions) as session:
        make_tenant(session, slug="globex")
    _, acme_secret = _issue(runtime, acme)
    _, globex_secret = _issue(runtime, "globex")
    for _ in range(3):
        for secret, tenant in ((acme_secret, "acme"), (globex_secret, "globex")):
            response = client.get(ME, headers=bearer(secret))
            assert response.status_code == 200
            assert response.json()["tenant"] == tenant
            cached = _cached(runtime, secret)
            assert cached is None or cached.tenant_slug == tenant


def test_the_role_is_enforced_from_the_cached_principal(
    client: TestClient, runtime: Runtime, acme: str
) -> None:
    _, viewer = _issue(runtime, acme, Role.VIEWER)
    _, operator = _issue(runtime, acme, Role.OPERATOR)
    _warm(client, runtime, viewer)
    _warm(client, runtime, operator)
    missing = f"/api/v1/jobs/{uuid.uuid4()}/cancel"
    assert client.post(missing, headers=bearer(viewer)).status_code == 403
    assert client.post(missing, headers=bearer(operator)).status_code == 404


def test_last_use_is_recorded_with_the_cache(
    client: TestClient, runtime: Runtime, acme: str
) -> None:
    """A cached principal whose last use is over a minute old is recorded again, and the
    cache then keeps the new time (no write on every request)."""
    token_id, secret = _issue(runtime, acme)
    _warm(client, runtime, secret)
    old = utcnow() - timedelta(minutes=5)
    with transaction(runtime.sessions) as session:
        session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=old))
        tenant_id = service.get_tenant_or_raise(session, acme).id
    stale = Principal(tenant_id, acme, token_id, "t", Role.VIEWER, old)
    runtime.principals.put(hash_token(secret), stale, runtime.principals.generation)
    assert client.get(ME, headers=bearer(secret)).status_code == 200
    with transaction(runtime.sessions) as session:
        used = session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == token_id))
    assert used is not None and used > old + timedelta(minutes=4)
    cached = _cached(runtime, secret)
    if runtime.principals.enabled:
        assert cached is not None and cached.last_used_at == used
