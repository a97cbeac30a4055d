"""What an environment sync found (`SyncResult`), and its record: the run's `sync_runs` row
and the environment's last sync and n8n major."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from canonflow.db.engine import transaction
from canonflow.db.models import Environment, SyncRun
from canonflow.db.types import utcnow

__all__ = ["SyncResult", "record_run"]


@dataclass
class SyncResult:
    run_id: uuid.UUID
    environment: str
    complete: bool = False
    seen: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    missing: int = 0
    auto_linked: int = 0
    archived: int = 0  # listed but archived: absent for status (n8n 2.x)
    n8n_major: int | None = None  # the n8n major version found, when known
    problems: list[dict[str, str]] = field(default_factory=list)
    not_marked_missing_because: str | None = None
    refs_fingerprint: str | None = None
    error: str | None = None
    duration_ms: int = 0

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__ | {"run_id": str(self.run_id)}


def record_run(sessions: sessionmaker[Session], result: SyncResult) -> None:
    """Store how the run ended on its `sync_runs` row, and on the environment what a
    complete listing told: when it was last synced, and its n8n major."""
    if not result.complete and result.not_marked_missing_because is None:
        result.not_marked_missing_because = (
            "the environment was not listed completely, so nothing was marked missing"
        )
    with transaction(sessions) as session:
        run = session.get(SyncRun, result.run_id)
        assert run is not None
        run.complete = result.complete
        run.seen, run.created, run.updated = result.seen, result.created, result.updated
        run.unchanged, run.missing = result.unchanged, result.missing
        run.duration_ms, run.error = result.duration_ms, result.error
        run.finished_at = utcnow()
        run.details = {
            "auto_linked": result.auto_linked,
            "archived": result.archived,
            "n8n_major": result.n8n_major,
            "problems": result.problems[:100],
            "not_marked_missing_because": result.not_marked_missing_because,
            "refs_fingerprint": result.refs_fingerprint,
        }
        environment = session.get(Environment, run.environment_id)
        if environment is not None and result.n8n_major is not None:
            environment.n8n_major = result.n8n_major
        if result.complete and environment is not None:
            environment.last_synced_at = run.finished_at
