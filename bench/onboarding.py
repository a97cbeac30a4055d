"""Benchmark: onboarding inventory of three real n8n instances holding 2,000 workflows each.

The anchor ("prod") holds `flow 0000`..`flow 1999` (5-30 nodes). "staging" and "dev" each
hold 2,000: 1,600 under an anchor workflow's name (800 with its identical body, 800 with
one node parameter edited), 200 with an anchor workflow's body under another name
(`copy of flow NNNN`, content-only matches, never among that environment's same-name
ones) and 200 unique workflows; staging and dev draw different anchor subsets.

Prints the inventory's wall time, its ratio to the floor (the three bare paginated
listings with the same client, summed), the link counts next to the ones the estate
implies, and the inventory's peak RSS. Target: ratio <= 1.3.

    uv run python -m bench.onboarding [--postgres] [--repeats 3] [--profile]

The n8n instances and their workflows are kept in ~/.cache/canonflow-bench/onboarding-<env>
between runs. Each listing and each inventory runs in a child process (each inventory on a
fresh database); all are the best of --repeats. --profile adds one inventory run in this
process under cProfile (top 30 by cumulative and by own time).
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from bench.env_sync import BENCH_HOME, _listing_floor, _peak_rss_mb

ANCHOR = "prod"
ENVIRONMENTS = (ANCHOR, "staging", "dev")  # the anchor first
PER_ENVIRONMENT = 2000
SAME_NAME = 1600  # half identical body, half edited
CONTENT_ONLY = 200
UNIQUE = 200
NODES = (5, 30)


# --- the estate ------------------------------------------------------------------------


@dataclass
class EnvironmentPlan:
    """Which anchor workflows (by index) an environment shares, and how."""

    identical: list[int] = field(default_factory=list)  # same name, same body
    edited: list[int] = field(default_factory=list)  # same name, one parameter changed
    copies: list[int] = field(default_factory=list)  # same body, another name
    unique_nodes: list[int] = field(default_factory=list)  # node counts of its own ones


def _plan() -> tuple[list[int], dict[str, EnvironmentPlan]]:
    """The estate's shape; deterministic, whatever random ids make_workflow adds."""
    rng = random.Random(7)
    anchor_nodes = [rng.randint(*NODES) for _ in range(PER_ENVIRONMENT)]
    plans = {}
    for env in ENVIRONMENTS[1:]:
        order = rng.sample(range(PER_ENVIRONMENT), PER_ENVIRONMENT)
        half = SAME_NAME // 2
        plans[env] = EnvironmentPlan(
            identical=sorted(order[:half]),
            edited=sorted(order[half:SAME_NAME]),
            copies=sorted(order[SAME_NAME : SAME_NAME + CONTENT_ONLY]),
            unique_nodes=[rng.randint(*NODES) for _ in range(UNIQUE)],
        )
    return anchor_nodes, plans


def _anchor_name(index: int) -> str:
    return f"flow {index:04d}"


def _edited(body: dict[str, Any], env: str) -> dict[str, Any]:
    """The same workflow with one node parameter changed (the first HTTP Request's URL)."""
    changed = copy.deepcopy(body)
    for node in changed["nodes"]:
        if node["type"] == "n8n-nodes-base.httpRequest":
            node["parameters"]["url"] = f"{node['parameters']['url']}?edited-in={env}"
            return changed
    raise ValueError(f"{body['name']!r} has no HTTP Request node to edit")


def _environment_bodies(
    env: str, plan: EnvironmentPlan, anchor: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    from tests.support.n8n_fixtures import make_workflow

    bodies = [anchor[i] for i in plan.identical]  # the very same dict: the same content
    bodies += [_edited(anchor[i], env) for i in plan.edited]
    bodies += [{**anchor[i], "name": f"copy of {_anchor_name(i)}"} for i in plan.copies]
    bodies += [
        make_workflow(f"{env} only {k:04d}", nodes) for k, nodes in enumerate(plan.unique_nodes)
    ]
    return bodies


# --- the n8n instances -----------------------------------------------------------------


def _data_dir(env: str) -> Path:
    return BENCH_HOME / f"onboarding-{env}"


def _start_all() -> dict[str, Any]:
    from tests.support.n8n import start_many

    names = [_data_dir(env).name for env in ENVIRONMENTS]
    return dict(zip(ENVIRONMENTS, start_many(len(names), BENCH_HOME, names=names), strict=True))


def _listing(instance: Any) -> list[dict[str, Any]]:
    from tests.support.n8n_fixtures import admin_client

    items: list[dict[str, Any]] = []
    with admin_client(instance) as http:
        params: dict[str, Any] = {"limit": 250}
        while True:
            page = http.get("/workflows", params=params).json()
            items += page["data"]
            if not page["nextCursor"]:
                return items
            params["cursor"] = page["nextCursor"]


def _populate(instances: dict[str, Any]) -> None:
    """Create the estate where it is missing. An instance with the wrong count is wiped and
    recreated; the others' workflows derive from the anchor's, so a recreated anchor means
    all three are recreated, and a kept anchor lends its stored bodies to the others."""
    from tests.support.n8n import start_many
    from tests.support.n8n_fixtures import bulk_create, make_workflow

    counts = {env: len(_listing(instance)) for env, instance in instances.items()}
    wrong = [env for env in ENVIRONMENTS if counts[env] != PER_ENVIRONMENT]
    if not wrong:
        return
    if ANCHOR in wrong:
        wrong = list(ENVIRONMENTS)
    for env in wrong:
        print(f"{env}: {counts[env]} workflows, recreating its n8n", file=sys.stderr)
        instances[env].stop()
        shutil.rmtree(_data_dir(env))
    names = [_data_dir(env).name for env in wrong]
    instances.update(zip(wrong, start_many(len(names), BENCH_HOME, names=names), strict=True))

    anchor_nodes, plans = _plan()
    if ANCHOR in wrong:
        anchor = [make_workflow(_anchor_name(i), n) for i, n in enumerate(anchor_nodes)]
    else:
        stored = {w["name"]: w for w in _listing(instances[ANCHOR])}
        keys = ("name", "nodes", "connections", "settings")
        anchor = [{k: stored[_anchor_name(i)][k] for k in keys} for i in range(PER_ENVIRONMENT)]
    for env in wrong:
        bodies = anchor if env == ANCHOR else _environment_bodies(env, plans[env], anchor)
        started = time.perf_counter()
        bulk_create(instances[env], bodies)
        print(
            f"{env}: created {len(bodies)} workflows in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )


# --- measuring -------------------------------------------------------------------------


def main() -> None:
    args = _parse()
    if args.child:
        _child(args)
        return
    instances: dict[str, Any] = {}
    try:
        instances = _start_all()
        _populate(instances)
        floors = {env: _listing_floor(instances[env], args.repeats) for env in ENVIRONMENTS}
        if args.postgres:
            from tests.support.postgres import running_cluster

            with running_cluster() as cluster:
                args.database_url = cluster.url()
                _measure(args, instances, floors)
        else:
            _measure(args, instances, floors)
    finally:
        for instance in instances.values():
            instance.stop()


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL database to use (emptied first)")
    parser.add_argument("--postgres", action="store_true", help="on a private PostgreSQL")
    parser.add_argument("--repeats", type=int, default=3, help="best of N, like the floor")
    parser.add_argument("--profile", action="store_true", help="and one run under cProfile")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--tenant-id", help=argparse.SUPPRESS)
    return parser.parse_args()


def _measure(args: argparse.Namespace, instances: dict[str, Any], floors: dict[str, float]) -> None:
    runs = []
    for _ in range(args.repeats):  # each repeat on a fresh database
        with tempfile.TemporaryDirectory() as tmp:
            url = args.database_url or f"sqlite:///{tmp}/bench.db"
            key = Fernet.generate_key().decode()
            tenant_id = _setup_database(url, key, instances)
            runs.append(_run_child(url, key, tenant_id))
    _report(floors, min(runs, key=lambda run: run["seconds"]), url)
    if args.profile:
        with tempfile.TemporaryDirectory() as tmp:
            url = args.database_url or f"sqlite:///{tmp}/bench.db"
            key = Fernet.generate_key().decode()
            _profile(url, key, _setup_database(url, key, instances))


def _setup_database(url: str, key: str, instances: dict[str, Any]) -> str:
    from canonflow.core.enums import EnvironmentKind
    from canonflow.crypto import SecretBox
    from canonflow.db.engine import build_engine, build_sessionmaker, transaction
    from canonflow.db.migrate import upgrade
    from canonflow.db.models import Environment
    from canonflow.tenancy.service import create_tenant

    kinds = {
        "prod": EnvironmentKind.PRODUCTION,
        "staging": EnvironmentKind.STAGING,
        "dev": EnvironmentKind.DEVELOPMENT,
    }
    engine = build_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    upgrade(engine)
    box = SecretBox(key)
    with transaction(build_sessionmaker(engine)) as session:
        tenant = create_tenant(session, slug="bench")
        for env in ENVIRONMENTS:
            session.add(
                Environment(
                    tenant_id=tenant.id,
                    name=env,
                    kind=kinds[env],
                    base_url=instances[env].base_url,
                    api_key=box.seal(instances[env].api_key),
                    batch_size=250,
                    is_anchor=env == ANCHOR,
                )
            )
        session.flush()
        tenant_id = str(tenant.id)
    engine.dispose()
    return tenant_id


def _run_child(url: str, key: str, tenant_id: str) -> dict[str, Any]:
    output = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.onboarding",
            "--child",
            "--url",
            url,
            f"--key={key}",  # a Fernet key may begin with "-"
            "--tenant-id",
            tenant_id,
        ],
        capture_output=True,
        text=True,
    )
    if output.returncode:
        sys.exit(f"the inventory run failed:\n{output.stderr}")
    return json.loads(output.stdout.strip().splitlines()[-1])


def _inventory(url: str, key: str, tenant_id: str) -> tuple[float, Any]:
    import uuid

    from canonflow.crypto import SecretBox
    from canonflow.db.engine import build_engine, build_sessionmaker
    from canonflow.onboarding.inventory import run_inventory

    engine = build_engine(url)
    try:
        started = time.perf_counter()
        result = run_inventory(
            build_sessionmaker(engine), SecretBox(key), tenant_id=uuid.UUID(tenant_id)
        )
        return time.perf_counter() - started, result
    finally:
        engine.dispose()


def _child(args: argparse.Namespace) -> None:
    seconds, result = _inventory(args.url, args.key, args.tenant_id)
    keys = (
        "environment",
        "seen",
        "linked_by_name",
        "linked_by_content_hash",
        "linked_renamed_copies",
        "untracked",
    )
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mb": _peak_rss_mb(),
                "canonicals_created": result.canonicals_created,
                "anchor_linked": result.anchor_linked,
                "collisions": len(result.collisions),
                "environments": [{k: e[k] for k in keys} for e in result.environments],
            }
        )
    )


def _profile(url: str, key: str, tenant_id: str) -> None:
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    seconds, _result = _inventory(url, key, tenant_id)
    profiler.disable()
    print(f"\nprofiled inventory (in process, under cProfile): {seconds:.2f} s")
    for order in ("cumulative", "tottime"):
        print(f"\n--- top 30 by {order}")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats(order).print_stats(30)


def _expected() -> dict[str, dict[str, int]]:
    others = {
        "seen": PER_ENVIRONMENT,
        "linked_by_name": SAME_NAME,
        "linked_by_content_hash": CONTENT_ONLY,
        "linked_renamed_copies": CONTENT_ONLY,  # the name is part of the content hash
        "untracked": UNIQUE,
    }
    anchor = {  # every anchor workflow gets its canonical and is linked when it is made
        "seen": PER_ENVIRONMENT,
        "linked_by_name": 0,
        "linked_by_content_hash": 0,
        "linked_renamed_copies": 0,
        "untracked": 0,
    }
    return {env: anchor if env == ANCHOR else others for env in ENVIRONMENTS}


def _report(floors: dict[str, float], run: dict[str, Any], url: str) -> None:
    backend = url.split(":", 1)[0].split("+", 1)[0]
    floor = sum(floors.values())
    ratio = run["seconds"] / floor
    verdict = "ok" if ratio <= 1.3 else "ABOVE TARGET"
    each = " + ".join(f"{env} {floors[env]:.2f}" for env in ENVIRONMENTS)
    mismatches = 0

    def versus(measured: int, expected: int) -> str:
        nonlocal mismatches
        mismatches += measured != expected
        mark = "" if measured == expected else " (!)"
        return f"{measured:,} / {expected:,}{mark}"

    print(
        f"onboarding inventory, {len(ENVIRONMENTS)} environments x {PER_ENVIRONMENT:,} "
        f"workflows of {NODES[0]}-{NODES[1]} nodes, database {backend}"
    )
    print(f"  floor: 3 bare listings (250/page)  {each} = {floor:.2f} s")
    print(
        f"  inventory                         {run['seconds']:.2f} s  ratio {ratio:4.2f} "
        f"(target <= 1.3) {verdict}; peak RSS {run['peak_mb']:.0f} MB"
    )
    print("  measured / expected:")
    print(
        f"    canonicals created {versus(run['canonicals_created'], PER_ENVIRONMENT)}; "
        f"anchor workflows linked {versus(run['anchor_linked'], PER_ENVIRONMENT)}; "
        f"slug collisions {versus(run['collisions'], 0)}"
    )
    expected = _expected()
    for env in run["environments"]:
        want = expected.get(env["environment"], {})
        cells = {k: versus(env[k], want.get(k, -1)) for k in want}
        print(
            f"    {env['environment']:<8} seen {cells['seen']}; "
            f"linked by name {cells['linked_by_name']}; "
            f"by content hash {cells['linked_by_content_hash']} "
            f"(renamed copies {cells['linked_renamed_copies']}); "
            f"untracked {cells['untracked']}"
        )
    print("  link counts: " + ("as expected" if not mismatches else f"{mismatches} MISMATCHES"))


if __name__ == "__main__":
    main()
