"""`canonflow hash`: files and stdin, like sha256sum; bad input is one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

from canonflow.core.hashing import content_hash
from tests.cli.helpers import run_cli

DEV_REFS = {"Fu1fDevWf0000001": "fulfilment", "Er7DevFlow000001": "error-alerts"}
PROD_REFS = {"Fu1fPrdWf0000009": "fulfilment", "Er7PrdFlow000009": "error-alerts"}
FIXTURES = Path(__file__).parents[1] / "core" / "fixtures"
DEV, PROD = FIXTURES / "order_intake.dev.json", FIXTURES / "order_intake.prod.json"


def test_hashes_files_like_sha256sum(tmp_path: Path) -> None:
    copy = tmp_path / "copy.json"
    copy.write_bytes(DEV.read_bytes())
    result = run_cli("hash", str(DEV), str(copy))
    assert result.returncode == 0, result.stderr
    expected = content_hash(json.loads(DEV.read_text()))
    assert result.stdout.splitlines() == [f"{expected}  {DEV}", f"{expected}  {copy}"]
    assert expected.startswith("v1:") and len(expected) == 3 + 64


def test_copies_from_two_instances_hash_equal_with_their_refs(tmp_path: Path) -> None:
    dev_refs, prod_refs = tmp_path / "dev-refs.json", tmp_path / "prod-refs.json"
    dev_refs.write_text(json.dumps(DEV_REFS))
    prod_refs.write_text(json.dumps(PROD_REFS))
    dev = run_cli("hash", "--refs", str(dev_refs), str(DEV))
    prod = run_cli("hash", "--refs", str(prod_refs), str(PROD))
    assert dev.returncode == prod.returncode == 0
    assert dev.stdout.split()[0] == prod.stdout.split()[0]
    assert dev.stderr == prod.stderr == ""


def test_without_refs_environment_ids_differ_and_partial_refs_are_reported(
    tmp_path: Path,
) -> None:
    assert (
        run_cli("hash", str(DEV)).stdout.split()[0] != run_cli("hash", str(PROD)).stdout.split()[0]
    )
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"Fu1fPrdWf0000009": "fulfilment"}))
    result = run_cli("hash", "--refs", str(partial), str(PROD))
    assert result.returncode == 0
    assert result.stderr.strip() == (
        f"canonflow hash: {PROD}: unresolved workflow references: Er7PrdFlow000009"
    )


def test_dash_reads_stdin() -> None:
    result = run_cli("hash", "-", stdin=DEV.read_bytes())
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{content_hash(json.loads(DEV.read_text()))}  -\n"


def test_bad_files_are_reported_one_line_each_and_exit_2(tmp_path: Path) -> None:
    malformed = tmp_path / "broken.json"
    malformed.write_text('{"nodes": [')
    not_a_workflow = tmp_path / "package.json"
    not_a_workflow.write_text('{"name": "left-pad", "version": "1.0.0"}')
    missing = tmp_path / "absent.json"
    result = run_cli("hash", str(malformed), str(DEV), str(not_a_workflow), str(missing))
    assert result.returncode == 2
    assert result.stdout.splitlines() == [f"{content_hash(json.loads(DEV.read_text()))}  {DEV}"]
    errors = result.stderr.splitlines()
    assert len(errors) == 3
    assert errors[0].startswith(f"canonflow hash: {malformed}: not valid JSON")
    assert errors[1].startswith(f"canonflow hash: {not_a_workflow}: not an n8n workflow")
    assert errors[2] == f"canonflow hash: {missing}: No such file or directory"


def test_malformed_stdin_exits_2() -> None:
    result = run_cli("hash", "-", stdin=b"not json at all")
    assert result.returncode == 2
    assert result.stderr.startswith("canonflow hash: -: not valid JSON")
    assert len(result.stderr.splitlines()) == 1
