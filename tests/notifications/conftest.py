"""Notification tests: retries fast (a small backoff), a real receiver on loopback."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from canonflow.config import Settings
from canonflow.core.enums import JobStatus
from canonflow.db.engine import transaction
from canonflow.db.models import BackgroundJob, NotificationDelivery
from canonflow.notifications.events import NOTIFY_DELIVER
from canonflow.runtime import Runtime
from tests.notifications.receiver import Receiver
from tests.reconcile.conftest import estate, linked  # noqa: F401 (fixtures, for the n8n tests)

SECRET = "whsec-test-0123456789"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"notify_backoff_s": 0.01, "notify_attempts": 3})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


def delivery_jobs(runtime: Runtime, tenant_id: uuid.UUID | None = None) -> list[BackgroundJob]:
    with transaction(runtime.sessions) as session:
        query = select(BackgroundJob).where(BackgroundJob.type == NOTIFY_DELIVER)
        if tenant_id is not None:
            query = query.where(BackgroundJob.tenant_id == tenant_id)
        return list(session.scalars(query.order_by(BackgroundJob.created_at)))


def wait_deliveries(runtime: Runtime, tenant_id: uuid.UUID | None = None) -> list[BackgroundJob]:
    """Wait for every delivery job queued so far; returns them, finished."""
    jobs = delivery_jobs(runtime, tenant_id)
    for job in jobs:
        runtime.runner.wait(job.id, timeout=120)
    finished = delivery_jobs(runtime, tenant_id)
    assert all(j.status in (JobStatus.SUCCEEDED, JobStatus.FAILED) for j in finished)
    return finished


def delivery_log(runtime: Runtime, tenant_id: uuid.UUID) -> list[NotificationDelivery]:
    with transaction(runtime.sessions) as session:
        return list(
            session.scalars(
                select(NotificationDelivery)
                .where(NotificationDelivery.tenant_id == tenant_id)
                .order_by(NotificationDelivery.created_at, NotificationDelivery.attempt)
            )
        )


def destination(
    url: str, *events: str, secret: str | None = SECRET, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"url": url, "kind": "generic", "events": list(events)} | extra
    if secret is not None:
        body["secret"] = secret
    return body
