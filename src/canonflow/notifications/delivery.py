"""The delivery job: post one event batch to each destination it names, signed, with
retries and exponential backoff per destination, every attempt logged. One destination
failing does not stop the others; a 4xx other than 408/429 is not retried."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from canonflow import egress
from canonflow.crypto import SecretBox
from canonflow.db.engine import transaction
from canonflow.db.models import NotificationDelivery, NotificationDestination, Tenant
from canonflow.db.types import utcnow
from canonflow.egress.http import egress_transport
from canonflow.egress.policy import EgressRefused, http_target
from canonflow.jobs.registry import JobContext, JobFailed
from canonflow.notifications import bodies, changes
from canonflow.notifications.catalog import CONFLICT_DETECTED, DRIFT_DETECTED
from canonflow.notifications.signing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    signature,
)

RETRIED_4XX = frozenset({408, 429})


@dataclass(frozen=True)
class Policy:
    attempts: int
    backoff_s: float
    timeout_s: float
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class Target:
    """One destination as the job sends to it (the secret opened only here)."""

    id: uuid.UUID
    url: str
    kind: str
    secret: str | None


def run_delivery(context: JobContext, secrets: SecretBox, policy: Policy) -> dict[str, Any]:
    params, tenant_id = context.params, context.tenant_id
    event = str(params["event"])
    with transaction(context.sessions) as session:
        envelope = _envelope(session, tenant_id, params)
        targets = _targets(session, secrets, tenant_id, params["destination_ids"])
    rendered = {
        "generic": bodies.generic_body(envelope),
        "slack": bodies.slack_body(envelope),
    }
    outcomes = []
    with httpx.Client(
        transport=egress_transport(egress.current()), timeout=policy.timeout_s
    ) as client:
        for done, target in enumerate(targets):
            sender = _Sender(context, client, policy, envelope, rendered[target.kind])
            outcomes.append(sender.deliver(target))
            context.report_progress(done + 1, len(targets))
    failed = [o for o in outcomes if o["status"] != "delivered"]
    result = {"event": event, "event_id": envelope["id"], "destinations": outcomes}
    if failed:
        raise JobFailed(
            f"{len(failed)} of {len(outcomes)} destination(s) did not take the {event} "
            "notification (see GET /api/v1/notifications/deliveries)",
            result=result,
        )
    return result


def _envelope(session: Session, tenant_id: uuid.UUID, params: dict[str, Any]) -> dict[str, Any]:
    tenant = session.get(Tenant, tenant_id)
    data = dict(params.get("data") or {})
    if params["event"] in (DRIFT_DETECTED, CONFLICT_DETECTED):
        data = changes.with_changed_paths(session, tenant_id, data)
    return {
        "id": params["event_id"],
        "event": params["event"],
        "tenant": tenant.slug if tenant is not None else str(tenant_id),
        "occurred_at": params["occurred_at"],
        "data": data,
    }


def _targets(
    session: Session, secrets: SecretBox, tenant_id: uuid.UUID, ids: list[str]
) -> list[Target]:
    """The named destinations that still exist (a PUT may have removed some meanwhile)."""
    rows = session.scalars(
        select(NotificationDestination)
        .where(
            NotificationDestination.tenant_id == tenant_id,
            NotificationDestination.id.in_([uuid.UUID(i) for i in ids]),
        )
        .order_by(NotificationDestination.position)
    )
    return [
        Target(row.id, row.url, row.kind, secrets.open(row.secret) if row.secret else None)
        for row in rows
    ]


class _Sender:
    def __init__(
        self,
        context: JobContext,
        client: httpx.Client,
        policy: Policy,
        envelope: dict[str, Any],
        body: bytes,
    ) -> None:
        self.context, self.client, self.policy = context, client, policy
        self.envelope, self.body = envelope, body
        self.digest = hashlib.sha256(body).hexdigest()

    def deliver(self, target: Target) -> dict[str, Any]:
        """Attempts until delivered, refused for good, or out of attempts."""
        attempt, status = 0, "failed"
        while attempt < self.policy.attempts:
            attempt += 1
            http_status, error, retry = self._attempt(target)
            last = not retry or attempt >= self.policy.attempts
            status = "delivered" if error is None else ("failed" if last else "retrying")
            self._log(target, attempt, status, http_status, error)
            if status != "retrying":
                break
            self.policy.sleep(self.policy.backoff_s * 2 ** (attempt - 1))
        return {"destination_id": str(target.id), "status": status, "attempts": attempt}

    def _attempt(self, target: Target) -> tuple[int | None, str | None, bool]:
        """(HTTP status, readable error or None when delivered, worth retrying)."""
        try:
            egress.current().check_url_on_entry(http_target(target.url))  # checked again now
        except (EgressRefused, ValueError) as exc:
            return None, f"refused by the egress policy: {getattr(exc, 'message', exc)}", False
        try:
            response = self.client.post(
                target.url, content=self.body, headers=self._headers(target)
            )
        except EgressRefused as exc:
            return None, f"refused by the egress policy: {exc.message}", False
        except httpx.HTTPError as exc:
            return None, _transport_error(exc), True
        code = response.status_code
        if 200 <= code < 300:
            return code, None, False
        retry = code >= 500 or code in RETRIED_4XX
        return code, f"the receiver answered HTTP {code}", retry

    def _headers(self, target: Target) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "canonflow-notifications/1",
            EVENT_HEADER: str(self.envelope["event"]),
            DELIVERY_HEADER: str(self.envelope["id"]),
        }
        if target.secret:
            headers[SIGNATURE_HEADER] = signature(target.secret, int(time.time()), self.body)
        return headers

    def _log(
        self,
        target: Target,
        attempt: int,
        status: str,
        http_status: int | None,
        error: str | None,
    ) -> None:
        with transaction(self.context.sessions) as session:
            session.add(
                NotificationDelivery(
                    tenant_id=self.context.tenant_id,
                    destination_id=target.id,
                    url=target.url,
                    event=str(self.envelope["event"]),
                    event_id=uuid.UUID(str(self.envelope["id"])),
                    job_id=self.context.job_id,
                    attempt=attempt,
                    status=status,
                    http_status=http_status,
                    error=error,
                    body_sha256=self.digest,
                    details={"bytes": len(self.body), "kind": target.kind},
                    delivered_at=utcnow() if status == "delivered" else None,
                )
            )


def _transport_error(exc: httpx.HTTPError) -> str:
    """What went wrong, in words that never carry the URL (a Slack URL is a credential)."""
    if isinstance(exc, httpx.TimeoutException):
        return "timed out waiting for the receiver"
    if isinstance(exc, httpx.ConnectError):
        return "could not connect to the receiver"
    return f"HTTP transport error ({type(exc).__name__})"
