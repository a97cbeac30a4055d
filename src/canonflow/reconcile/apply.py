"""The apply job (`canonical.reconcile.apply`): the planned writes, each re-checked just
before it is made. Deploys go one by one (an outcome each, progress after each); commits go
together in one Git commit. n8n that stops answering ends the job: what was applied is in
the job's result and recorded on the mappings, so planning again finishes the rest."""

from __future__ import annotations

import uuid
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from canonflow.crypto import SecretBox
from canonflow.db.engine import transaction
from canonflow.environments import service as environments
from canonflow.errors import AppError, Unavailable
from canonflow.jobs.registry import JobContext
from canonflow.n8n import N8nClient, N8nError, N8nRejected
from canonflow.reconcile.committing import commit_items
from canonflow.reconcile.deploying import Actor, deploy_item
from canonflow.reconcile.items import ApplyItem, Kind, Outcome, Result
from canonflow.reconcile.planning import TargetFacts, target_facts
from canonflow.reconcile.sources import definition_for

RECONCILE_APPLY = "canonical.reconcile.apply"


class _Clients:
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

    def __call__(self, environment_id: uuid.UUID) -> N8nClient:
        if environment_id not in self._open:
            with transaction(self._sessions) as session:
                environment = environments.get_or_raise(session, self._tenant_id, environment_id)
                access = environments.access(session, self._secrets, environment)
            client = N8nClient(access.base_url, access.api_key)
            self._open[environment_id] = self._stack.enter_context(client)
        return self._open[environment_id]


def run_apply(context: JobContext, secrets: SecretBox, cache_root: Path) -> dict[str, Any]:
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
        clients = _Clients(context.sessions, secrets, context.tenant_id, stack)
        try:
            _deploys(context, secrets, cache_root, items, clients, actor, outcomes)
            commits = [i for i in items if i.kind is Kind.COMMIT]
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
            raise Unavailable(
                f"{exc.message}; {applied} of {len(items)} applied before it failed: plan "
                "again to finish the rest",
                details=summary(outcomes, len(items)),
            ) from exc
        except AppError as exc:
            raise type(exc)(exc.message, details=summary(outcomes, len(items))) from exc
    return summary(outcomes, len(items))


def _deploys(
    context: JobContext,
    secrets: SecretBox,
    cache_root: Path,
    items: list[ApplyItem],
    clients: _Clients,
    actor: Actor,
    outcomes: list[Outcome],
) -> None:
    facts: dict[uuid.UUID, TargetFacts] = {}
    for item in items:
        if item.kind is not Kind.DEPLOY:
            continue
        if item.environment_id not in facts:
            with transaction(context.sessions) as session:
                facts[item.environment_id] = target_facts(session, item.environment_id)
        definition = definition_for(
            context.sessions, secrets, item, tenant_id=context.tenant_id, cache_root=cache_root
        )
        try:
            outcome = deploy_item(
                context.sessions,
                clients(item.environment_id),
                facts[item.environment_id],
                item,
                definition,
                actor,
            )
        except N8nRejected as exc:  # this workflow only: n8n refused its body
            outcome = Outcome(item, Result.FAILED, exc.message)
        outcomes.append(outcome)
        context.report_progress(len(outcomes), len(items))


def summary(outcomes: list[Outcome], total: int) -> dict[str, Any]:
    counts = Counter(o.result.value for o in outcomes)
    return {
        "total": total,
        "counts": dict(counts),
        "not_attempted": total - len(outcomes),
        "items": [o.as_dict() for o in outcomes],
    }
