"""The consistency check of the matrix summary's kept counts (issue 19): after a write,
the summary read from `summary_counts` is the one a full scan of the mappings gives."""

from __future__ import annotations

import uuid

from canonflow.db.engine import transaction
from canonflow.matrix import service
from canonflow.runtime import Runtime


def assert_counts_kept(runtime: Runtime, tenant_id: uuid.UUID) -> None:
    with transaction(runtime.sessions) as session:
        environments = service.environments_of(session, tenant_id)
        kept = service.summary(session, tenant_id, environments)
        scanned = service.scanned_summary(session, tenant_id, environments)
    assert kept == scanned
