"""Benchmark: how long a `canonflow` command takes from launch to exit.

Each command runs N times as the real `canonflow` script in a fresh process against a
migrated SQLite database holding one tenant with one environment; the figure is the median
wall time and the median CPU time (user + system) of the child. The floor is a bare
interpreter importing what every database command must load (`typer`, `pydantic_settings`,
`sqlalchemy.orm`); the ratio is the command's median wall time over the floor's.

Bytecode: by default the compiled modules are cached in a directory of the bench's own
(warmed by one untimed run per command), as after a normal install. `--cold` compiles every
module on every run instead (`PYTHONDONTWRITEBYTECODE` with an empty cache): what a checkout
whose bytecode cannot be written pays.

Target: `token list` and `matrix --limit 1` <= 0.6 s.

    uv run python -m bench.cli_startup [--runs 7] [--cold] [--src PATH]

`--src` runs the commands from another checkout's `src/` (e.g. a `git worktree` of an older
commit) with this environment's packages, for a before/after figure.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS: tuple[tuple[str, ...], ...] = (
    ("--help",),
    ("token", "list", "--tenant", "bench"),
    ("matrix", "--limit", "1", "--tenant", "bench"),
    ("env", "list", "--tenant", "bench"),
    ("untracked", "--tenant", "bench"),
)
FLOOR = "import typer, pydantic_settings, sqlalchemy.orm"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--cold", action="store_true", help="compile every module every run")
    parser.add_argument("--src", type=Path, help="another checkout's src/ directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="canonflow-cli-bench-") as tmp:
        env = _environment(Path(tmp), cold=args.cold, src=args.src)
        _prepare(env)
        mode = "cold (no cached bytecode)" if args.cold else "cached bytecode"
        print(f"{args.runs} runs each, median; {mode}; source {args.src or 'this checkout'}")
        bare_wall, bare_cpu = _measure([sys.executable, "-c", "pass"], env, args.runs)
        floor_wall, floor_cpu = _measure([sys.executable, "-c", FLOOR], env, args.runs)
        print(f"{'':<44} {'wall':>7} {'cpu':>7} {'/floor':>7}")
        _row("interpreter alone", bare_wall, bare_cpu, floor_wall)
        _row("floor: " + FLOOR.removeprefix("import "), floor_wall, floor_cpu, floor_wall)
        for command in COMMANDS:
            wall, cpu = _measure([_canonflow(), *command], env, args.runs)
            _row("canonflow " + " ".join(command), wall, cpu, floor_wall)


def _row(label: str, wall: float, cpu: float, floor: float) -> None:
    print(f"{label:<44} {wall * 1000:4.0f} ms {cpu * 1000:4.0f} ms {wall / floor:7.2f}")


def _environment(tmp: Path, *, cold: bool, src: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CANONFLOW_", "PYTHON"))}
    env |= {
        "CANONFLOW_DATA_DIR": str(tmp / "data"),
        "CANONFLOW_LOG_LEVEL": "WARNING",
        "CANONFLOW_N8N_API_KEY": "bench-key",
        "PYTHONPYCACHEPREFIX": str(tmp / "pycache"),
        "COLUMNS": "120",
    }
    if cold:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    if src is not None:
        env["PYTHONPATH"] = str(src.resolve())
    return env


def _prepare(env: dict[str, str]) -> None:
    """Migrate, add the tenant and an environment; one untimed run of each command."""
    for command in (
        ("db", "upgrade"),
        ("tenant", "create", "bench"),
        ("env", "add", "dev", "--url", "http://127.0.0.1:9", "--tenant", "bench"),
        *COMMANDS,
    ):
        done = subprocess.run([_canonflow(), *command], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"canonflow {' '.join(command)} failed: {done.stderr.strip()}")


def _measure(argv: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(argv, env=env, check=True, capture_output=True)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def _canonflow() -> str:
    return str(Path(sys.executable).with_name("canonflow"))


if __name__ == "__main__":
    main()
