"""Metrics read from the database at scrape time: true whichever process or machine ran
the work, since every process shares the database. One short read transaction per scrape.

The mappings per tenant and state, and the sync runs by outcome, are the costly reads
(every mapping's derived state, every run joined to its environment: 0.4 s and 0.1 s on
PostgreSQL at 400,000 mappings and 100,000 runs, more on SQLite; bench/README.md), so a
collector keeps them for `KEPT_S`: a scraper every 15 s pays for them once a minute, and
they lag a sync by at most that long. The jobs (and the queue) are one scan, read on
every scrape.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker

from canonflow.core.enums import JobStatus
from canonflow.db.engine import read_transaction
from canonflow.db.types import utcnow
from canonflow.metrics import queries

KEPT_S = 60.0

T = TypeVar("T")


class DatabaseCollector(Collector):
    """Jobs by type and status, the queue, sync runs by outcome, mappings by state."""

    def __init__(self, sessions: sessionmaker[Session], *, kept_s: float = KEPT_S) -> None:
        self.sessions = sessions
        self._syncs: _Kept[list[tuple[str, str, str, int]]] = _Kept(kept_s)
        self._mappings: _Kept[list[tuple[str, str, int]]] = _Kept(kept_s)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with read_transaction(self.sessions) as session:
            jobs = queries.jobs_by_type_and_status(session)
            syncs = self._syncs.get(lambda: queries.sync_runs_by_outcome(session))
            mappings = self._mappings.get(lambda: queries.mappings_by_tenant_and_state(session))
        yield _jobs(jobs)
        queued = [(count, oldest) for _, status, count, oldest in jobs if status == "queued"]
        yield from _queue(
            sum(count for count, _ in queued), min((at for _, at in queued if at), default=None)
        )
        yield _labelled(
            "canonflow_sync_runs",
            "Recorded sync runs by kind, environment kind and outcome.",
            ["sync_kind", "environment_kind", "outcome"],
            syncs,
        )
        yield _labelled(
            "canonflow_mappings",
            "Workflows per tenant by state: a linked one by its derived sync state, "
            "others by stored status (deleted ones are not counted).",
            ["tenant", "state"],
            mappings,
        )


def _jobs(rows: list[tuple[str, str, int, datetime | None]]) -> GaugeMetricFamily:
    """Every status of every job type seen, zero when none (so a rate has a series)."""
    counts = {(job_type, status): count for job_type, status, count, _ in rows}
    types = sorted({job_type for job_type, _ in counts})
    family = GaugeMetricFamily(
        "canonflow_jobs", "Background jobs by type and status.", labels=["type", "status"]
    )
    for job_type in types:
        for status in JobStatus:
            family.add_metric([job_type, status.value], counts.get((job_type, status.value), 0))
    return family


def _queue(depth: int, oldest: datetime | None) -> Iterator[GaugeMetricFamily]:
    yield GaugeMetricFamily("canonflow_job_queue_depth", "Jobs waiting to start.", value=depth)
    age = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
    yield GaugeMetricFamily(
        "canonflow_job_oldest_queued_age_seconds",
        "How long the oldest queued job has waited (0 when none waits).",
        value=max(0.0, age),
    )


def _labelled(
    name: str, documentation: str, labels: list[str], rows: Sequence[tuple[Any, ...]]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for *values, count in rows:
        family.add_metric([str(v) for v in values], count)
    return family


class _Kept(Generic[T]):
    """A value read again once it is older than `ttl_s`; one reader at a time (a second
    scrape waits for the first one's read instead of running it again)."""

    def __init__(self, ttl_s: float) -> None:
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._value: tuple[float, T] | None = None

    def get(self, read: Callable[[], T]) -> T:
        with self._lock:
            now = time.monotonic()
            if self._value is None or now - self._value[0] >= self._ttl_s:
                self._value = (now, read())
            return self._value[1]
