"""Benchmark: the normalize + hash pipeline, from raw workflow JSON bytes to the `v1:` hash.

Prints CPU time (process_time) and wall time as MB/s and workflows/s for small (5 nodes,
~4 KiB), medium (30 nodes, ~31 KiB) and large (200 nodes, ~290 KiB) workflows as n8n lists
them (`bench/_workflows.py`: resource locators, credentials, nulls, floats, unicode), beside
the floor (`orjson.loads` + `orjson.dumps(OPT_SORT_KEYS)` + SHA-256 of the same bytes) and
the pipeline before issue 19 (`tests/core/hash_reference.py`), all in one run, with the
ratios. Target: 2x the previous pipeline's workflows per CPU-second.

    uv run python -m bench.hashing [--seconds 2]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import time
from collections.abc import Callable

import orjson

from bench._workflows import padding_for, workflow_bytes

SIZES = (("small", 5, 4), ("medium", 30, 31), ("large", 200, 290))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="CPU time per measure")
    args = parser.parse_args()
    from tests.core.hash_reference import reference_hash_documents

    from canonflow.core.hashing import hash_documents

    with open("/proc/loadavg") as loadavg:
        print(f"load average: {loadavg.read().strip()}")
    print(f"{'size':8} {'pipeline':10} {'wf/s CPU':>10} {'MB/s CPU':>9} {'wf/s wall':>10} "
          f"{'/floor':>7} {'/before':>8}")  # fmt: skip
    for label, nodes, kib in SIZES:
        padding = padding_for(nodes, kib * 1024)
        raws = [workflow_bytes(seed, nodes, padding) for seed in range(20)]
        if [h for h, _ in hash_documents(raws)] != reference_hash_documents(raws):
            raise SystemExit("the pipeline's hashes differ from the reference")
        size = sum(map(len, raws)) / len(raws)
        pipelines = {"floor": _floor, "before": reference_hash_documents, "after": hash_documents}
        rates = {name: _rate(run, raws, args.seconds) for name, run in pipelines.items()}
        for name, (cpu, wall) in rates.items():
            print(f"{label:8} {name:10} {cpu:10,.0f} {cpu * size / 1e6:9.1f} {wall:10,.0f} "
                  f"{cpu / rates['floor'][0]:7.2f} {cpu / rates['before'][0]:8.2f}")  # fmt: skip
        print(f"{label:8} ({size / 1024:.1f} KiB) after/before, CPU: "
              f"{rates['after'][0] / rates['before'][0]:.2f}x (target 2.00x)")  # fmt: skip


def _floor(raws: list[bytes]) -> None:
    for raw in raws:
        hashlib.sha256(orjson.dumps(orjson.loads(raw), option=orjson.OPT_SORT_KEYS)).hexdigest()


def _rate(
    run: Callable[[list[bytes]], object], raws: list[bytes], seconds: float
) -> tuple[float, float]:
    """Workflows per CPU-second and per wall-second: the best of 3 rounds."""
    best_cpu = best_wall = 0.0
    gc.collect()
    for _ in range(3):
        count, cpu_start, wall_start = 0, time.process_time(), time.perf_counter()
        while time.process_time() - cpu_start < seconds / 3:
            run(raws)
            count += len(raws)
        best_cpu = max(best_cpu, count / (time.process_time() - cpu_start))
        best_wall = max(best_wall, count / (time.perf_counter() - wall_start))
    return best_cpu, best_wall


if __name__ == "__main__":
    main()
