"""n8n's own command line on a running instance's database (it works while n8n runs)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.support.n8n import N8nInstance, n8n_bin, n8n_environment
from tests.support.postgres import free_port


def import_workflow(instance: N8nInstance, workflow: dict[str, Any]) -> None:
    """Import a workflow keeping its id (a restore from backup): the API cannot do that."""
    path = instance.data_dir / f"import-{workflow['id']}.json"
    path.write_text(json.dumps(workflow))
    env = n8n_environment(free_port(), instance.data_dir)
    result = subprocess.run(
        [str(n8n_bin()), "import:workflow", f"--input={path}"],
        env=env,
        cwd=Path(instance.data_dir),
        capture_output=True,
        text=True,
        timeout=120,
    )
    path.unlink()
    if result.returncode != 0:
        raise RuntimeError(f"n8n import:workflow failed: {result.stdout}{result.stderr}")
