"""The untracked and matrix pages over the environment `bench.env_sync` just synced.

Run by `bench.env_sync --pages` in a fresh child process on the database of its last
sync: p50 of the untracked list of that environment (first page, and a page in the middle
reached once by following cursors) while all its workflows are untracked; then every
workflow is linked to a canonical workflow of its own (the rows onboarding would make, in
bulk SQL), and p50 of the matrix (first page, middle page). At 5,000 and at 50,000
workflows the pages should cost the same: keyset pages on indexes, nothing that scans the
environment.

    uv run python -m bench.env_pages URL ENVIRONMENT_ID [--requests 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

UNTRACKED = "/api/v1/canonical/untracked"
MATRIX = "/api/v1/workflows/matrix"
LIMIT = 50
WARMUP = 3
CHUNK = 5000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("environment_id")
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    print(json.dumps(measure(args.url, uuid.UUID(args.environment_id), args.requests)))


def measure(url: str, environment_id: uuid.UUID, requests: int) -> dict[str, Any]:
    from bench.matrix import _build_app

    tenant_id, token = _viewer_token(url, environment_id)
    _analyze(url)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        app, _runtime = _build_app(url, Path(tmp))

        async def untracked() -> None:
            async with app.router.lifespan_context(app):
                results.update(await _pages(app, token, UNTRACKED, environment_id, requests))

        asyncio.run(untracked())
        started = time.perf_counter()
        results["linked"] = _link_all(url, tenant_id, environment_id)
        results["link_s"] = round(time.perf_counter() - started, 1)
        _analyze(url)

        async def matrix() -> None:
            async with app.router.lifespan_context(app):
                results.update(await _pages(app, token, MATRIX, None, requests))

        asyncio.run(matrix())
    return results


async def _pages(
    app: Any, token: str, path: str, environment_id: uuid.UUID | None, requests: int
) -> dict[str, float]:
    import httpx

    kind = "matrix" if path == MATRIX else "untracked"
    items = "workflows" if path == MATRIX else "items"
    base: dict[str, Any] = {"environment_id": str(environment_id)} if environment_id else {}
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench", headers=headers
    ) as client:
        first = await _p50(client, path, base | {"limit": LIMIT}, requests, items)
        total = 0
        params = base | {"limit": 500}
        while True:  # count them, then go to the middle
            body = (await client.get(path, params=params)).json()
            total += len(body[items])
            if not body["next_cursor"]:
                break
            params["cursor"] = body["next_cursor"]
        seen, params = 0, base | {}
        while seen < total // 2:
            params["limit"] = min(500, total // 2 - seen)
            body = (await client.get(path, params=params)).json()
            seen += len(body[items])
            params["cursor"] = body["next_cursor"]
        deep = await _p50(client, path, params | {"limit": LIMIT}, requests, items)
    return {f"{kind}_rows": total, f"{kind}_first_ms": first, f"{kind}_deep_ms": deep}


async def _p50(client: Any, path: str, params: dict[str, Any], count: int, items: str) -> float:
    times = []
    for n in range(WARMUP + count):
        started = time.perf_counter()
        response = await client.get(path, params=params)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.text
        assert len(response.json()[items]) == LIMIT
        if n >= WARMUP:
            times.append(elapsed)
    return round(statistics.median(times) * 1000, 2)


def _viewer_token(url: str, environment_id: uuid.UUID) -> tuple[uuid.UUID, str]:
    from tests.factories import make_token

    from canonflow.core.enums import Role
    from canonflow.db.engine import build_engine, build_sessionmaker, transaction
    from canonflow.db.models import Environment, Tenant

    engine = build_engine(url)
    with transaction(build_sessionmaker(engine)) as session:
        environment = session.get(Environment, environment_id)
        assert environment is not None
        tenant = session.get(Tenant, environment.tenant_id)
        assert tenant is not None
        token = make_token(session, tenant, role=Role.VIEWER, name="bench-pages")
        tenant_id = tenant.id
    engine.dispose()
    return tenant_id, token


def _link_all(url: str, tenant_id: uuid.UUID, environment_id: uuid.UUID) -> int:
    """Every mapping of the environment linked to a canonical of its own, in sync."""
    from sqlalchemy import bindparam, insert, select, update

    from canonflow.core.enums import WorkflowProvider
    from canonflow.core.status import MappingStatus
    from canonflow.db.engine import build_engine, build_sessionmaker, transaction
    from canonflow.db.models import CanonicalWorkflow, WorkflowEnvMap

    m = WorkflowEnvMap
    engine = build_engine(url)
    linked = 0
    with transaction(build_sessionmaker(engine)) as session:
        rows = session.execute(
            select(m.id, m.workflow_name, m.env_content_hash).where(
                m.tenant_id == tenant_id, m.environment_id == environment_id
            )
        ).all()
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            canonicals = [
                {
                    "id": uuid.uuid4(),
                    "tenant_id": tenant_id,
                    "canonical_slug": f"bench-{start + n:06d}",
                    "name": name,
                    "content_hash": digest,
                    "hash_version": 1,
                    "workflow_definition": {},
                    "git_file_path": f"workflows/bench-{start + n:06d}.json",
                    "provider": WorkflowProvider.N8N,
                }
                for n, (_id, name, digest) in enumerate(chunk)
            ]
            session.execute(insert(CanonicalWorkflow.__table__), canonicals)  # type: ignore[arg-type]
            session.execute(
                update(m.__table__)  # type: ignore[arg-type]
                .where(m.__table__.c.id == bindparam("key"))
                .values(
                    canonical_id=bindparam("canonical"),
                    git_content_hash=bindparam("digest"),
                    base_content_hash=bindparam("digest"),
                    status=MappingStatus.LINKED,
                ),
                [
                    {"key": row[0], "canonical": canonical["id"], "digest": row[2]}
                    for row, canonical in zip(chunk, canonicals, strict=True)
                ],
            )
            linked += len(chunk)
    engine.dispose()
    return linked


def _analyze(url: str) -> None:
    from canonflow.db.engine import build_engine

    engine = build_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM (ANALYZE)")
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    engine.dispose()


if __name__ == "__main__":
    main()
