"""`canonflow hash`: content hashes of workflow files, like sha256sum."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer

from canonflow.cli.common import EXIT_BAD_INPUT, CliError
from canonflow.core.hashing import hash_normalized
from canonflow.core.normalize import normalize
from canonflow.core.workflow_shape import InvalidWorkflow, parse_json


def hash_files(
    files: Annotated[list[str], typer.Argument(help="Workflow JSON files; '-' reads stdin.")],
    refs: Annotated[
        Path | None,
        typer.Option(
            help="JSON object mapping n8n workflow ids to canonical slugs, so that "
            "Execute Workflow and error-workflow references hash alike across environments."
        ),
    ] = None,
) -> None:
    """Print `<content hash>  <file>` for each workflow JSON file."""
    ref_map = _load_refs(refs) if refs else None
    failed = False
    for name in files:
        try:
            normalized = normalize(parse_json(_read(name)), ref_map)  # type: ignore[arg-type]
        except (InvalidWorkflow, OSError) as exc:
            failed = True
            _say(name, exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc))
            continue
        sys.stdout.write(f"{hash_normalized(normalized.document)}  {name}\n")
        if normalized.unresolved_refs:
            _say(name, "unresolved workflow references: " + ", ".join(normalized.unresolved_refs))
    if failed:
        raise typer.Exit(EXIT_BAD_INPUT)


def _say(name: str, message: str) -> None:
    sys.stderr.write(f"canonflow hash: {name}: {message}\n")


def _read(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    return Path(name).read_bytes()


def _load_refs(path: Path) -> dict[str, str]:
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise CliError(f"cannot read --refs {path}: {exc}", EXIT_BAD_INPUT) from exc
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise CliError(f"--refs {path} must be a JSON object of id → slug strings", EXIT_BAD_INPUT)
    return data
