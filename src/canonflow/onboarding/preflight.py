"""Onboarding preflight: can an inventory and a migration pull request work right now?

Every failed check says what to do. Remote checks (each n8n environment, the Git remote,
the forge) run in parallel, outside any transaction.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from canonflow.crypto import SecretBox
from canonflow.db.engine import transaction
from canonflow.db.models import Tenant
from canonflow.environments import repository as environments
from canonflow.environments import service as environment_service
from canonflow.environments.connection import check_connection
from canonflow.environments.service import EnvironmentAccess
from canonflow.errors import Conflict
from canonflow.git import GitError, GitRepository
from canonflow.onboarding.tasks import active_inventory
from canonflow.repo import service as repositories
from canonflow.repo.cache import cache_in_use
from canonflow.repo.service import RepoAccess
from canonflow.tenancy.service import Principal

MAX_PARALLEL_CHECKS = 8
BLOCKED_PLANS = frozenset({"suspended"})


@dataclass
class Preflight:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.errors


def preflight(
    sessions: sessionmaker[Session], secrets: SecretBox, principal: Principal, cache_root: Path
) -> Preflight:
    report = Preflight()
    with transaction(sessions) as session:
        accesses = _local_checks(session, secrets, principal, report)
        repo = repositories.get(session, principal.tenant_id)
        repo_access = repositories.access(secrets, repo) if repo is not None else None
    if repo_access is None:
        report.errors.append(
            "no Git repository is configured: PUT /api/v1/repository (or `canonflow repo set`)"
        )
    with ThreadPoolExecutor(MAX_PARALLEL_CHECKS) as pool:
        environment_checks = list(pool.map(_check_environment, accesses))
        if repo_access is not None:
            report.errors += _check_repository(sessions, repo_access, cache_root, report)
    report.errors += [problem for problem in environment_checks if problem]
    report.checked.append(f"{len(accesses)} environment connection(s)")
    return report


def _local_checks(
    session: Session, secrets: SecretBox, principal: Principal, report: Preflight
) -> list[EnvironmentAccess]:
    everything = environments.list_all(session, principal.tenant_id)
    anchors = [e for e in everything if e.is_anchor]
    if not everything:
        report.errors.append(
            "no environments: add one (POST /api/v1/environments or `canonflow env add`)"
        )
    elif len(anchors) != 1:
        report.errors.append(
            "no anchor environment: mark the one whose workflows are the truth (usually "
            "prod) with is_anchor: true (PATCH /api/v1/environments/{id})"
        )
    elif len(everything) == 1:
        report.warnings.append(
            "only the anchor environment exists: the inventory will link nothing else"
        )
    job = active_inventory(session, principal)
    if job is not None:
        report.errors.append(
            f"an onboarding inventory is already {job.status.value} (job {job.id}): "
            "wait for it (GET /api/v1/jobs/{id})"
        )
    tenant = session.get(Tenant, principal.tenant_id)
    if tenant is not None and not _entitled(tenant):
        report.errors.append(
            f"the {tenant.plan!r} plan does not include onboarding: ask your administrator "
            "to enable it for this tenant"
        )
    report.checked += ["environments and anchor", "running inventories", "plan"]
    return [environment_service.access(session, secrets, e) for e in everything]


def _entitled(tenant: Tenant) -> bool:
    return tenant.plan not in BLOCKED_PLANS and tenant.entitlements.get("onboarding") is not False


def _check_environment(access: EnvironmentAccess) -> str | None:
    result = check_connection(access, retries=0)
    if result.ok:
        return None
    return (
        f"environment {access.name!r} is not reachable with its API key: {result.detail} "
        "(fix it with PATCH /api/v1/environments/{id} or `canonflow env test`)"
    )


def _check_repository(
    sessions: sessionmaker[Session], access: RepoAccess, cache_root: Path, report: Preflight
) -> list[str]:
    report.checked.append("repository reachable and writable")
    try:
        with (
            cache_in_use(sessions, access.tenant_id),
            GitRepository.open_or_clone(
                access.cache_dir(cache_root), access.url, access.auth
            ) as git,
        ):
            head = git.fetch(access.branch)
            git.check_push_access()
    except GitError as exc:
        return [f"the repository is not usable: {exc.message} (check its URL and credentials)"]
    except Conflict as exc:
        return [f"the repository could not be checked: {exc.message}"]
    if head is None:
        report.warnings.append(
            f"the repository is empty: the pull request will target a new {access.branch!r}"
        )
    if access.forge is None:
        report.warnings.append(
            "no forge is configured: the migration is pushed as a branch, no pull request is "
            "opened (set forge in PUT /api/v1/repository to open one)"
        )
    return []
