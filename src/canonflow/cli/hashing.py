"""`canonflow hash`: content hashes of workflow files, like sha256sum."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from canonflow.cli.common import EXIT_BAD_INPUT, err_console
from canonflow.core.hashing import content_hash
from canonflow.core.workflow_shape import InvalidWorkflow, parse_workflow


def hash_files(
    files: Annotated[list[str], typer.Argument(help="Workflow JSON files; '-' reads stdin.")],
) -> None:
    """Print `<content hash>  <file>` for each workflow JSON file."""
    failed = False
    for name in files:
        try:
            digest = content_hash(parse_workflow(_read(name)))
        except (InvalidWorkflow, OSError) as exc:
            failed = True
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            err_console.print(f"canonflow hash: {name}: {reason}", highlight=False, markup=False)
            continue
        sys.stdout.write(f"{digest}  {name}\n")
    if failed:
        raise typer.Exit(EXIT_BAD_INPUT)


def _read(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    return Path(name).read_bytes()
