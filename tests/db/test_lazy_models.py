"""`canonflow.db.models` maps a module's tables when one of its classes is first asked for.
A flush resolves every foreign key of the table it writes, so each module must bring the
tables its keys name: imported alone, in a fresh interpreter, every key resolves."""

from __future__ import annotations

import subprocess
import sys

import pytest

from canonflow.db import models

RESOLVE_EVERY_KEY = """
import sys
from canonflow.db.base import Base
import canonflow.db.models

getattr(canonflow.db.models, sys.argv[1])
for table in Base.metadata.tables.values():
    for key in table.foreign_keys:
        key.column  # raises NoReferencedTableError when the referred table is not mapped
print(len(Base.metadata.tables))
"""


@pytest.mark.parametrize("name", sorted(models._MODULE_OF))
def test_a_model_imported_alone_brings_the_tables_its_foreign_keys_name(name: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", RESOLVE_EVERY_KEY, name], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 0


def test_asking_for_one_model_maps_only_its_module_and_what_its_keys_name() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from canonflow.db.models import Tenant; "
            "print(sorted(m for m in sys.modules if m.startswith('canonflow.db.models.')))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "['canonflow.db.models.tenancy']"


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="Nothing"):
        _ = models.Nothing  # type: ignore[attr-defined]
