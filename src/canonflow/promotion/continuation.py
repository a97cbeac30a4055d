"""A promotion waiting for its pull request, after a repo sync: merged (its commit is in
the configured branch as the sync fetched it) -> its deploy phase is queued; closed
unmerged (as the forge says) -> cancelled, nothing deployed."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from canonflow.crypto import SecretBox
from canonflow.db.engine import transaction
from canonflow.db.models import Promotion
from canonflow.forge import ForgeClient, ForgeError
from canonflow.git import GitError, GitRepository
from canonflow.jobs.registry import JobRegistry
from canonflow.promotion.schemas import PromotionState
from canonflow.promotion.service import enqueue_phase, finish
from canonflow.repo import service as repositories
from canonflow.repo.service import RepoAccess

log = logging.getLogger(__name__)


def continue_waiting(
    sessions: sessionmaker[Session],
    secrets: SecretBox,
    registry: JobRegistry,
    *,
    tenant_id: uuid.UUID,
    cache_root: Path,
) -> dict[str, list[str]]:
    """Move on the tenant's promotions waiting for their merge; which moved, and how."""
    moved: dict[str, list[str]] = {"deploying": [], "cancelled": []}
    with transaction(sessions) as session:
        repository = repositories.get(session, tenant_id)
        waiting = list(
            session.execute(
                select(Promotion.id, Promotion.commit, Promotion.pr_number).where(
                    Promotion.tenant_id == tenant_id,
                    Promotion.state == PromotionState.WAITING_FOR_MERGE.value,
                )
            )
        )
        if repository is None or not waiting:
            return moved
        access = repositories.access(secrets, repository)
    for promotion_id, commit, number in waiting:
        if commit and _merged(access, cache_root, commit):
            _move(sessions, registry, tenant_id, promotion_id, PromotionState.DEPLOYING)
            moved["deploying"].append(str(promotion_id))
        elif number is not None and _closed(access, number):
            _move(sessions, registry, tenant_id, promotion_id, PromotionState.CANCELLED)
            moved["cancelled"].append(str(promotion_id))
    return moved


def _move(
    sessions: sessionmaker[Session],
    registry: JobRegistry,
    tenant_id: uuid.UUID,
    promotion_id: uuid.UUID,
    to: PromotionState,
) -> None:
    with transaction(sessions) as session:
        promotion = session.scalars(
            select(Promotion)
            .where(Promotion.tenant_id == tenant_id, Promotion.id == promotion_id)
            .with_for_update()
        ).one()
        if promotion.state != PromotionState.WAITING_FOR_MERGE.value:
            return  # another sync moved it meanwhile
        if to is PromotionState.CANCELLED:
            finish(
                session, registry, promotion, to, f"pull request {promotion.pr_url} closed unmerged"
            )
            return
        promotion.state = PromotionState.DEPLOYING.value
        enqueue_phase(session, registry, promotion, "deploy")


def _merged(access: RepoAccess, cache_root: Path, commit: str) -> bool:
    cache = access.cache_dir(cache_root)
    if not cache.exists():
        return False
    try:
        with GitRepository.open_or_clone(cache, access.url, access.auth) as git:
            head = git.head(access.branch)
            return head is not None and git.has_commit(commit) and git.is_ancestor(commit, head)
    except GitError:
        return False


def _closed(access: RepoAccess, number: int) -> bool:
    forge = access.forge
    if forge is None or forge.api_url is None or forge.repository is None:
        return False
    try:
        with ForgeClient(forge.provider, forge.api_url, forge.repository, forge.token) as client:
            return client.get_pull_request(number).state == "closed"
    except ForgeError as exc:  # asked again after the next sync
        log.warning("promotion: pull request #%s: %s", number, exc.message)
        return False
