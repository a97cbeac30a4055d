"""One recorded, exclusive sync run: the shape shared by environment and repo syncs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from canonflow.db import leases
from canonflow.db.leases import HeldLease
from canonflow.errors import Unavailable
from canonflow.failures import readable_message


class RunResult(Protocol):
    error: str | None
    duration_ms: int


R = TypeVar("R", bound=RunResult)


@dataclass(frozen=True)
class Exclusive:
    """The lease a run holds, and what a second run is told."""

    name: str
    tenant_id: uuid.UUID
    ttl: timedelta
    busy_message: str


def run_recorded(
    sessions: sessionmaker[Session],
    *,
    exclusive: Exclusive,
    result: R,
    work: Callable[[HeldLease], None],
    record: Callable[[sessionmaker[Session], R], None],
    remote_errors: tuple[type[Exception], ...],
    remote: str,
) -> None:
    """Hold the lease, do the work, and record the run whatever happens. A remote's error
    (n8n, Git) becomes `Unavailable("<remote>: <message>")`; others keep their message."""
    started = time.monotonic()
    try:
        with leases.held(
            sessions,
            name=exclusive.name,
            tenant_id=exclusive.tenant_id,
            ttl=exclusive.ttl,
            busy_message=exclusive.busy_message,
        ) as lease:
            work(lease)
    except remote_errors as exc:
        result.error = f"{remote}: {getattr(exc, 'message', exc)}"
        raise Unavailable(result.error) from exc
    except Exception as exc:
        result.error = readable_message(exc)  # the job that runs this logs the exception
        raise
    finally:
        result.duration_ms = int((time.monotonic() - started) * 1000)
        record(sessions, result)
