"""Job types declared once: name, queue, lock key, queueing key, retry policy, timeout.

Both engines read the same `JobSpec`: the in-process runner (SQLite) and procrastinate
(PostgreSQL). Keys are templates over the job's params plus `tenant_id`, so a spec is data.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Origin(StrEnum):
    """Who asked: a person's "sync now" starts ahead of the scheduler's work."""

    INTERACTIVE = "interactive"
    SCHEDULED = "scheduled"


#: The queue every interactive job goes to, whatever its type's own queue.
INTERACTIVE_QUEUE = "interactive"
PRIORITY = {Origin.INTERACTIVE: 10, Origin.SCHEDULED: 0}


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts` runs in all; transient failures wait `base_delay_s * factor**n` between."""

    attempts: int = 1
    base_delay_s: float = 1.0
    factor: float = 2.0

    def delay_s(self, failed_attempts: int) -> float:
        return self.base_delay_s * self.factor ** max(failed_attempts - 1, 0)


NO_RETRY = RetryPolicy()
TRANSIENT_RETRY = RetryPolicy(attempts=3)


@dataclass(frozen=True)
class JobSpec:
    name: str
    queue: str = "default"
    #: at most one job with this key runs at a time (None: no lock)
    lock: str | None = None
    #: at most one job with this key waits at a time; another enqueue answers that one
    queueing: str | None = None
    retry: RetryPolicy = NO_RETRY
    timeout_s: float = 3600.0
    #: counts against the tenant's `max_concurrent_syncs`
    capped: bool = False
    #: a job whose worker died is run again (it is idempotent) rather than failed
    rerun_when_stalled: bool = False

    def lock_key(self, tenant_id: uuid.UUID, params: dict[str, Any]) -> str | None:
        return _render(self.lock, tenant_id, params)

    def queueing_key(self, tenant_id: uuid.UUID, params: dict[str, Any]) -> str | None:
        return _render(self.queueing, tenant_id, params)

    def queue_for(self, origin: Origin) -> str:
        return INTERACTIVE_QUEUE if origin is Origin.INTERACTIVE else self.queue


def _render(template: str | None, tenant_id: uuid.UUID, params: dict[str, Any]) -> str | None:
    if template is None:
        return None
    return template.format(tenant_id=tenant_id, **params)
