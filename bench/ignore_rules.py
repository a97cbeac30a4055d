"""Benchmark: applying the ignore rules to a 5,000-cell tenant (SQLite file, or PostgreSQL
with `--url`): the time `policy.service.apply_rules` (the job a PUT queues) takes for a
global rule (every cell recomputed), the same list again (nothing recomputed), a rule
narrowed to a few workflows and no rule (cleared set-based).

One tenant, `--workflows` canonical workflows (20 nodes each, from the test fixtures'
generator) x 2 environments; every `--drift`-th env copy differs in `settings.timezone`.

    uv run python -m bench.ignore_rules [--workflows 2500] [--drift 10] [--url URL]
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from pathlib import Path
from typing import Any


def _seed(url: str, workflows: int, drift: int) -> tuple[Any, Any]:
    from cryptography.fernet import Fernet
    from tests.support.n8n_fixtures import make_workflow

    from canonflow.catalogue.states import StateCause, record_state_changes
    from canonflow.core.hashing import content_hash
    from canonflow.crypto import SecretBox
    from canonflow.db.engine import build_engine, build_sessionmaker, transaction
    from canonflow.db.migrate import upgrade
    from canonflow.db.models import CanonicalWorkflow, Environment, WorkflowEnvMap
    from canonflow.tenancy.service import create_tenant

    engine = build_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    upgrade(engine)
    sessions = build_sessionmaker(engine)
    sealed = SecretBox(Fernet.generate_key().decode()).seal("x")
    base = make_workflow("w", 20)
    with transaction(sessions) as session:
        tenant = create_tenant(session, slug="bench-ignore")
        envs = []
        for name in ("dev", "prod"):
            env = Environment(
                tenant_id=tenant.id, name=name, base_url=f"http://127.0.0.1:9/{name}",
                api_key=sealed,
            )  # fmt: skip
            session.add(env)
            envs.append(env)
        session.flush()
        for n in range(workflows):
            git = {**copy.deepcopy(base), "name": f"w{n}"}
            digest = content_hash(git)
            canonical = CanonicalWorkflow(
                tenant_id=tenant.id, canonical_slug=f"w-{n}", name=f"w{n}",
                content_hash=digest, workflow_definition=git,
            )  # fmt: skip
            session.add(canonical)
            session.flush()
            for k, env in enumerate(envs):
                data = copy.deepcopy(git)
                if (n + k) % drift == 0:
                    data["settings"]["timezone"] = "Europe/Paris"
                session.add(
                    WorkflowEnvMap(
                        tenant_id=tenant.id, canonical_id=canonical.id, environment_id=env.id,
                        n8n_workflow_id=f"{k}-{n}", status="linked",
                        env_content_hash=content_hash(data), git_content_hash=digest,
                        base_content_hash=digest, workflow_data=data,
                    )
                )  # fmt: skip
        record_state_changes(session, tenant.id, StateCause.ENV_SYNC)
        tenant_id = tenant.id
    return sessions, tenant_id


def _put(sessions: Any, tenant_id: Any, rules: list[dict[str, Any]]) -> tuple[float, Any]:
    """Store the rules (as a PUT does), then time their application (the PUT's job)."""
    from canonflow.db.engine import transaction
    from canonflow.policy.schemas import IgnoreRuleIn
    from canonflow.policy.service import apply_rules, store_rules

    with transaction(sessions) as session:
        store_rules(session, tenant_id, [IgnoreRuleIn(**r) for r in rules])
    started = time.perf_counter()
    applied = apply_rules(sessions, tenant_id)
    return time.perf_counter() - started, applied


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", type=int, default=2500)
    parser.add_argument("--drift", type=int, default=10)
    parser.add_argument("--url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        sessions, tenant_id = _seed(url, args.workflows, args.drift)
        cells = args.workflows * 2
        print(f"{cells} cells, every {args.drift}th env copy drifted in settings.timezone")
        cases = [
            ("global rule", [{"path": "settings.timezone"}]),
            ("same list again", [{"path": "settings.timezone"}]),
            ("narrowed to w-1*", [{"path": "settings.timezone", "workflows": ["w-1?"]}]),
            ("no rule", []),
        ]
        for label, rules in cases:
            seconds, written = _put(sessions, tenant_id, rules)
            print(
                f"{label:>18}: {seconds * 1000:8.0f} ms  recomputed "
                f"{written['cells_recomputed']:5d}  state changes {written['state_changes']:5d}"
            )


if __name__ == "__main__":
    main()
