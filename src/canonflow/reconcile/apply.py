"""The apply job (`canonical.reconcile.apply`): the planned writes, each re-checked just
before it is made. Deploys run `concurrency` at a time (n8n serves one write while the
next is read and prepared; an outcome and progress after each); deletes of orphaned
workflows follow, one by one; commits and re-adoptions go together in one Git commit.
n8n that stops answering ends the job: the writes in flight finish, none start, what was
applied is in the job's result and recorded on the mappings, so planning again finishes
the rest."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from canonflow.crypto import SecretBox
from canonflow.db import leases
from canonflow.db.engine import transaction
from canonflow.environments import service as environments
from canonflow.errors import AppError
from canonflow.jobs.registry import JobContext, JobFailed
from canonflow.n8n import N8nClient, N8nError
from canonflow.reconcile.committing import commit_items
from canonflow.reconcile.deleting import delete_items
from canonflow.reconcile.deploy_runner import DeployRunner
from canonflow.reconcile.deploying import Actor
from canonflow.reconcile.items import ApplyItem, Kind, Outcome, Result

RECONCILE_APPLY = "canonical.reconcile.apply"
APPLY_LEASE_TTL = timedelta(minutes=10)  # renewed after each batch; a crashed job's expires


class Clients:
    """One n8n client per environment, opened when first needed."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        secrets: SecretBox,
        tenant_id: uuid.UUID,
        stack: ExitStack,
    ) -> None:
        self._sessions, self._secrets, self._tenant_id = sessions, secrets, tenant_id
        self._stack = stack
        self._open: dict[uuid.UUID, N8nClient] = {}
        self._lock = threading.Lock()

    def __call__(self, environment_id: uuid.UUID) -> N8nClient:
        with self._lock:
            return self._client(environment_id)

    def _client(self, environment_id: uuid.UUID) -> N8nClient:
        if environment_id not in self._open:
            with transaction(self._sessions) as session:
                environment = environments.get_or_raise(session, self._tenant_id, environment_id)
                access = environments.access(session, self._secrets, environment)
            client = N8nClient(access.base_url, access.api_key)
            self._open[environment_id] = self._stack.enter_context(client)
        return self._open[environment_id]


def run_apply(
    context: JobContext, secrets: SecretBox, cache_root: Path, *, concurrency: int = 1
) -> dict[str, Any]:
    params = context.params
    items = [ApplyItem.from_dict(d) for d in params["items"]]
    actor = Actor(
        tenant_id=context.tenant_id,
        name=str(params.get("actor") or "canonflow"),
        token_id=uuid.UUID(params["actor_token_id"]) if params.get("actor_token_id") else None,
        reason=str(params.get("reason") or "reconcile"),
    )
    outcomes: list[Outcome] = []
    context.report_progress(0, len(items))
    with ExitStack() as stack:
        # one apply at a time per tenant, whatever raced past the check made when queued
        apply_lease = stack.enter_context(
            leases.held(
                context.sessions,
                name=f"reconcile-apply:{context.tenant_id}",
                tenant_id=context.tenant_id,
                ttl=APPLY_LEASE_TTL,
                busy_message="another apply is running: plan again once it ends",
            )
        )
        clients = Clients(context.sessions, secrets, context.tenant_id, stack)
        try:
            deploys = DeployRunner(context, secrets, cache_root, clients, actor, len(items))
            deploys.keep_alive = apply_lease.renew
            deploys.run([i for i in items if i.kind is Kind.DEPLOY], concurrency, outcomes)
            deletes = [i for i in items if i.kind is Kind.DELETE]
            delete_items(context, clients, actor, deletes, outcomes, len(items))
            apply_lease.renew()
            commits = [i for i in items if i.kind in (Kind.COMMIT, Kind.READOPT)]
            if commits:
                outcomes += commit_items(
                    context.sessions,
                    secrets,
                    cache_root=cache_root,
                    items=commits,
                    client_for=clients,
                    actor=actor,
                )
                context.report_progress(len(outcomes), len(items))
        except N8nError as exc:
            applied = sum(1 for o in outcomes if o.result is Result.APPLIED)
            raise JobFailed(
                f"{exc.message}; {applied} of {len(items)} applied before it failed: plan "
                "again to finish the rest",
                result=summary(outcomes, len(items)),
            ) from exc
        except AppError as exc:
            raise JobFailed(exc.message, result=summary(outcomes, len(items))) from exc
    return summary(outcomes, len(items))


def summary(outcomes: list[Outcome], total: int) -> dict[str, Any]:
    counts = Counter(o.result.value for o in outcomes)
    return {
        "total": total,
        "counts": dict(counts),
        "not_attempted": total - len(outcomes),
        "items": [o.as_dict() for o in outcomes],
    }
