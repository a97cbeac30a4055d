"""Where onboarding stands: from the database and the local Git cache, never a remote.

The inventory's record makes a tenant onboarded (an empty environment does not hold that
up). The migration pull request counts as merged once its commit is in the configured
branch as the last fetch saw it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from canonflow.crypto import SecretBox
from canonflow.db.models import CanonicalWorkflow, Onboarding, WorkflowEnvMap
from canonflow.environments import repository as environments
from canonflow.git import GitError, GitRepository
from canonflow.linking.untracked import untracked_counts, untracked_page
from canonflow.onboarding.tasks import active_inventory
from canonflow.repo import service as repositories
from canonflow.tenancy.service import Principal

SAMPLE_NAMES = 5


@dataclass
class Completion:
    status: str  # not_started | inventory_running | onboarded
    complete: bool = False
    onboarded_at: datetime | None = None
    anchor: dict[str, Any] | None = None
    inventory_job_id: uuid.UUID | None = None
    canonical_workflows: int = 0
    environments: list[dict[str, Any]] = field(default_factory=list)
    pull_request: dict[str, Any] | None = None


def completion(
    session: Session, secrets: SecretBox, principal: Principal, cache_root: Path
) -> Completion:
    tenant_id = principal.tenant_id
    record = session.scalars(
        select(Onboarding).where(Onboarding.tenant_id == tenant_id)
    ).one_or_none()
    running = active_inventory(session, principal)
    status = "onboarded" if record else "inventory_running" if running else "not_started"
    result = Completion(status=status, inventory_job_id=running.id if running else None)
    result.canonical_workflows = (
        session.scalar(
            select(func.count()).where(
                CanonicalWorkflow.tenant_id == tenant_id, CanonicalWorkflow.is_deleted.is_(False)
            )
        )
        or 0
    )
    result.environments = _environments(session, tenant_id)
    if record is None:
        return result
    result.onboarded_at = record.onboarded_at
    result.inventory_job_id = result.inventory_job_id or record.inventory_job_id
    result.anchor = {"id": record.anchor_environment_id, "name": record.anchor_name}
    if record.pr_branch is not None:
        state = record.pr_state
        if state in ("open", "pushed") and _merged(session, secrets, record, cache_root):
            state = "merged"
        result.pull_request = {
            "branch": record.pr_branch,
            "commit": record.pr_commit,
            "url": record.pr_url,
            "number": record.pr_number,
            "state": state,
            "updated_at": record.pr_updated_at,
        }
    result.complete = result.pull_request is not None
    return result


def _environments(session: Session, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    untracked = untracked_counts(session, tenant_id)
    linked = {
        row[0]: row[1]
        for row in session.execute(
            select(WorkflowEnvMap.environment_id, func.count())
            .where(
                WorkflowEnvMap.tenant_id == tenant_id,
                WorkflowEnvMap.canonical_id.is_not(None),
                WorkflowEnvMap.is_deleted.is_(False),
            )
            .group_by(WorkflowEnvMap.environment_id)
        )
    }
    rows = []
    for environment in environments.list_all(session, tenant_id):
        count = untracked.get(environment.id, 0)
        sample = (
            untracked_page(
                session, tenant_id, environment_id=environment.id, limit=SAMPLE_NAMES, after=None
            )
            if count
            else []
        )
        rows.append(
            {
                "id": environment.id,
                "name": environment.name,
                "is_anchor": environment.is_anchor,
                "last_synced_at": environment.last_synced_at,
                "linked": linked.get(environment.id, 0),
                "untracked": count,
                "untracked_sample": [row.name for row in sample],
            }
        )
    return rows


def _merged(session: Session, secrets: SecretBox, record: Onboarding, cache_root: Path) -> bool:
    repository = repositories.get(session, record.tenant_id)
    if repository is None or record.pr_commit is None:
        return False
    access = repositories.access(secrets, repository)
    cache = access.cache_dir(cache_root)
    if not cache.exists():
        return False
    try:
        with GitRepository.open_or_clone(cache, access.url, access.auth) as git:
            head = git.head(access.branch)
            return head is not None and git.is_ancestor(record.pr_commit, head)
    except GitError:
        return False
