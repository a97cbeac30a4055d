"""The migration pull request: every canonical workflow as a file on a branch, pushed, and
a pull request through the forge API (or, with no forge, the pushed branch as the result).

Run again while its pull request is open, it adds a commit to the same branch instead of
opening a second pull request. Once the pull request is merged or closed, the next run
starts a new branch.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from canonflow import audit
from canonflow.crypto import SecretBox
from canonflow.db.engine import transaction
from canonflow.db.models import CanonicalWorkflow, Onboarding
from canonflow.db.types import utcnow
from canonflow.errors import Conflict, Unavailable
from canonflow.forge import ForgeClient, ForgeError, PullRequest, PullRequestExists
from canonflow.repo import service as repositories
from canonflow.repo.cache import cache_in_use
from canonflow.repo.service import ForgeAccess, RepoAccess
from canonflow.repo.writeback import write_back
from canonflow.tenancy.service import Principal

BRANCH_PREFIX = "canonflow/onboarding-"
LISTED_IN_BODY = 100


@dataclass
class MigrationPullRequest:
    provider: str
    branch: str
    commit: str
    files: int
    state: str  # open | merged | closed | pushed (no forge)
    url: str | None = None
    number: int | None = None
    opened_now: bool = False
    notes: list[str] = field(default_factory=list)


def create_migration_pr(
    sessions: sessionmaker[Session],
    secrets: SecretBox,
    principal: Principal,
    *,
    cache_root: Path,
    now: datetime | None = None,
) -> MigrationPullRequest:
    with transaction(sessions) as session:
        record = _onboarding(session, principal.tenant_id)
        access = repositories.access(
            secrets, repositories.get_or_raise(session, principal.tenant_id)
        )
        canonicals = _live_canonicals(session, principal.tenant_id)
        previous = (record.pr_branch, record.pr_state, record.pr_number, record.pr_url)
    if not canonicals:
        raise Conflict("there are no canonical workflows to write: run the inventory first")
    current = _open_pull_request(access.forge, previous)
    branch = previous[0] if current is not None or previous[1] == "pushed" else None
    branch = branch or f"{BRANCH_PREFIX}{(now or utcnow()).strftime('%Y%m%d-%H%M%S')}"
    with cache_in_use(sessions, principal.tenant_id):
        written = write_back(
            sessions,
            secrets,
            tenant_id=principal.tenant_id,
            cache_root=cache_root,
            canonical_ids=[c.id for c in canonicals],
            branch=branch,
            message=f"canonflow: onboard {len(canonicals)} workflows",
        )
    result = MigrationPullRequest(
        provider=access.forge.provider.value if access.forge else "none",
        branch=branch,
        commit=written.commit,
        files=len(written.files),
        state="pushed",
    )
    _save(sessions, principal, result)  # the branch is pushed: a rerun reuses it
    if access.forge is not None:
        pull = current or _open(access, access.forge, branch, canonicals, result)
        result.url, result.number, result.state = pull.url, pull.number, pull.state
        _save(sessions, principal, result)
    return result


def _open_pull_request(
    forge: ForgeAccess | None, previous: tuple[str | None, str | None, int | None, str | None]
) -> PullRequest | None:
    """The pull request of the last run, if it is still open."""
    branch, state, number, _url = previous
    if forge is None or branch is None or number is None or state != "open":
        return None
    with _client(forge) as client:
        try:
            pull = client.get_pull_request(number)
        except ForgeError as exc:
            raise Unavailable(exc.message) from exc
    return pull if pull.state == "open" else None


def _open(
    access: RepoAccess,
    forge: ForgeAccess,
    branch: str,
    canonicals: list[_Listed],
    result: MigrationPullRequest,
) -> PullRequest:
    with _client(forge) as client:
        try:
            pull = client.create_pull_request(
                head=branch,
                base=access.branch,
                title=f"canonflow: onboard {len(canonicals)} workflows",
                body=_body(canonicals, access.workflows_dir),
            )
            result.opened_now = True
            return pull
        except PullRequestExists:
            found = _find(client, branch, access.branch)
            if found is not None:
                result.notes.append("a pull request for this branch was already open")
                return found
            raise Unavailable(f"a pull request for {branch} exists but cannot be found") from None
        except ForgeError as exc:
            raise Unavailable(f"{exc.message} (the branch {branch} is pushed)") from exc


def _find(client: ForgeClient, head: str, base: str) -> PullRequest | None:
    try:
        return client.find_open_pull_request(head=head, base=base)
    except ForgeError as exc:
        raise Unavailable(exc.message) from exc


def _client(forge: ForgeAccess) -> ForgeClient:
    assert forge.api_url is not None and forge.repository is not None
    return ForgeClient(forge.provider, forge.api_url, forge.repository, forge.token)


def _body(canonicals: list[_Listed], workflows_dir: str) -> str:
    lines = [
        f"canonflow onboarding: {len(canonicals)} workflows as files under `{workflows_dir}/`.",
        "Merge it, then run a repo sync: every file matches its canonical workflow.",
        "",
    ]
    lines += [f"- `{c.canonical_slug}`: {c.name}" for c in canonicals[:LISTED_IN_BODY]]
    if len(canonicals) > LISTED_IN_BODY:
        lines.append(f"- ... and {len(canonicals) - LISTED_IN_BODY} more")
    return "\n".join(lines)


def _onboarding(session: Session, tenant_id: uuid.UUID) -> Onboarding:
    record = session.scalars(
        select(Onboarding).where(Onboarding.tenant_id == tenant_id)
    ).one_or_none()
    if record is None:
        raise Conflict(
            "the tenant is not onboarded yet: run the inventory first "
            "(POST /api/v1/canonical/onboard/inventory)"
        )
    return record


@dataclass(frozen=True)
class _Listed:
    id: uuid.UUID
    canonical_slug: str
    name: str


def _live_canonicals(session: Session, tenant_id: uuid.UUID) -> list[_Listed]:
    rows = session.execute(
        select(CanonicalWorkflow.id, CanonicalWorkflow.canonical_slug, CanonicalWorkflow.name)
        .where(CanonicalWorkflow.tenant_id == tenant_id, CanonicalWorkflow.is_deleted.is_(False))
        .order_by(CanonicalWorkflow.canonical_slug)
    )
    return [_Listed(*row) for row in rows]


def _save(
    sessions: sessionmaker[Session], principal: Principal, result: MigrationPullRequest
) -> None:
    with transaction(sessions) as session:
        record = _onboarding(session, principal.tenant_id)
        record.pr_branch, record.pr_commit, record.pr_state = (
            result.branch,
            result.commit,
            result.state,
        )
        record.pr_url, record.pr_number, record.pr_updated_at = result.url, result.number, utcnow()
        audit.record_by(
            session,
            principal,
            action="onboarding.pull_request",
            target_type="onboarding",
            target_id=str(record.id),
            details={
                "branch": result.branch,
                "commit": result.commit,
                "state": result.state,
                "url": result.url,
            },
        )
