"""Repo sync (Git → canonical workflows), DESIGN section 6.

Fetch; when the last synced commit is an ancestor of the new head, apply only the tree diff;
otherwise (first sync, force-push, history rewrite) scan the whole directory, and a rewritten
history is a warning of the run (old head, new head). A canonical workflow hashed by older
rules makes the run a full scan too, whose files are hashed again. A bad file is reported
with its path and reason and skipped; every other file still syncs. One run at a time per
tenant. A run that fails changes nothing it should not: canonical rows and
`last_synced_commit` move together, in the run's last transaction.

**Prune guard**: a run that would mark more than `prune_guard_percent` of the live canonical
workflows deleted, or all of them (an empty or wrong directory), changes nothing and fails,
unless it was confirmed (`confirm_prune`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from canonflow import gc_pause
from canonflow.core.enums import SyncKind
from canonflow.core.git_files import (
    CandidateFile,
    FilePlan,
    KnownCanonical,
    deleted_canonicals,
    git_backed,
    plan_files,
    prune_refusal,
)
from canonflow.crypto import SecretBox
from canonflow.db.engine import transaction
from canonflow.db.leases import HeldLease
from canonflow.db.models import SyncRun
from canonflow.db.runs import Exclusive, run_recorded
from canonflow.db.types import utcnow
from canonflow.errors import Conflict
from canonflow.git import Change, GitError, GitRepository
from canonflow.repo import canonicals, service, templates
from canonflow.repo.cache import LEASE_TTL, cache_lease_name
from canonflow.repo.service import RepoAccess
from canonflow.sync.agreement import record_agreement

ProgressCallback = Callable[[int, int | None], None]
HOW_TO_CONFIRM = (
    "nothing was changed; if the files are meant to be gone, sync again confirming it: "
    "`canonflow sync repo --confirm-prune`, or POST /api/v1/canonical/sync-repo with "
    '{"confirm_prune": true}'
)


@dataclass(frozen=True)
class PruneGuard:
    """How many deletions a run may make unconfirmed (a share of the live canonical
    workflows, never all of them), and whether this run was confirmed."""

    percent: float = 20.0
    confirmed: bool = False


@dataclass
class RepoSyncResult:
    run_id: uuid.UUID
    mode: str = "none"  # none | diff | full
    commit: str | None = None
    previous_commit: str | None = None
    complete: bool = False
    files_seen: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    renamed: int = 0
    deleted: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    error: str | None = None
    duration_ms: int = 0
    #: templates under `<workflows_dir>/_templates/`: seen, created, updated, deleted
    templates: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"run_id": str(self.run_id)}


def sync_repository(
    sessions: sessionmaker[Session],
    secrets: SecretBox,
    *,
    tenant_id: uuid.UUID,
    cache_root: Path,
    max_file_bytes: int,
    job_id: uuid.UUID | None = None,
    progress: ProgressCallback | None = None,
    prune_guard: PruneGuard | None = None,
) -> RepoSyncResult:
    """Run one repo sync and record it in `sync_runs`. Raises on failure (a tripped prune
    guard is a `Conflict` that names the count and how to confirm)."""
    with transaction(sessions) as session:
        access = service.access(secrets, service.get_or_raise(session, tenant_id))
        run = SyncRun(tenant_id=tenant_id, kind=SyncKind.REPOSITORY, job_id=job_id)
        session.add(run)
        session.flush()
        result = RepoSyncResult(run_id=run.id, previous_commit=access.last_synced_commit)
    run_recorded(
        sessions,
        exclusive=Exclusive(
            name=cache_lease_name(tenant_id),
            tenant_id=tenant_id,
            ttl=LEASE_TTL,
            busy_message="a sync of this tenant's repository is already running",
        ),
        result=result,
        work=lambda lease: _Run(
            sessions, access, result, max_file_bytes, progress, prune_guard or PruneGuard(), lease
        ).execute(cache_root),
        record=_record_run,
        remote_errors=(GitError,),
        remote=f"repository {access.url}",
    )
    return result


class _Run:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        access: RepoAccess,
        result: RepoSyncResult,
        max_file_bytes: int,
        progress: ProgressCallback | None,
        prune_guard: PruneGuard,
        lease: HeldLease,
    ) -> None:
        self.sessions, self.access, self.result = sessions, access, result
        self.max_file_bytes = max_file_bytes
        self.shown = progress or (lambda _done, _total: None)
        self.prune_guard, self.lease = prune_guard, lease

    def progress(self, done: int, total: int | None) -> None:
        self.lease.renew()  # LeaseLost stops the run before it writes anything
        self.shown(done, total)

    def execute(self, cache_root: Path) -> None:
        with (
            GitRepository.open_or_clone(
                self.access.cache_dir(cache_root), self.access.url, self.access.auth
            ) as git,
            gc_pause.paused(),
        ):
            head = git.fetch(self.access.branch)
            self.result.commit = head
            last = self.access.last_synced_commit
            with transaction(self.sessions) as session:
                known = canonicals.known(session, self.access.tenant_id)
            # a file Git holds whose canonical was hashed by older rules: read them all again
            rehash = any(k.hashed_by_older_rules for k in git_backed(known))
            if head is None:
                self.result.complete = True
                return
            if head != last or rehash:
                self._apply_workflows(git, head, last, known, rehash)
            self._sync_templates(git, head)
        self.result.complete = True

    def _apply_workflows(
        self,
        git: GitRepository,
        head: str,
        last: str | None,
        known: list[KnownCanonical],
        rehash: bool,
    ) -> None:
        follows = last is not None and git.has_commit(last) and git.is_ancestor(last, head)
        if last is not None and not follows:
            self._warn_rewritten(last, head)
        if last is not None and follows and not rehash:
            changes = git.diff(last, head, self.access.workflows_dir)
            self._apply_diff(git, changes, head, known)
        else:
            self._apply_full(git, head, known)

    def _sync_templates(self, git: GitRepository, head: str) -> None:
        """Templates are read at every run (a listing of one small directory): a run
        whose workflows did not change still picks up a template the table lacks."""
        with transaction(self.sessions) as session:
            known = templates.stored(session, self.access.tenant_id)
        found = templates.read(
            git, head, self.access.workflows_dir, known, max_bytes=self.max_file_bytes
        )
        self.result.skipped.extend(found.skipped)
        if not found.changed and {k.path for k in known} <= found.present:
            self.result.templates = templates.TemplateOutcome(seen=found.seen).as_dict()
            return  # nothing to write: no transaction
        with transaction(self.sessions) as session:
            self.lease.hold_in(session)
            outcome = templates.apply(session, self.access.tenant_id, found, head=head)
        self.result.templates = outcome.as_dict()

    def _warn_rewritten(self, old_head: str, new_head: str) -> None:
        self.result.warnings.append(
            {
                "kind": "history_rewritten",
                "old_head": old_head,
                "new_head": new_head,
                "detail": f"the branch no longer contains {old_head[:12]} (a force-push or "
                "rewritten history): the whole directory was scanned again",
            }
        )

    def _apply_full(self, git: GitRepository, head: str, known: list[KnownCanonical]) -> None:
        self.result.mode = "full"
        files = git.list_files(head, self.access.workflows_dir)
        candidates = [CandidateFile(f.path, f.blob_id, f.size) for f in files]
        plan = plan_files(candidates, known, max_bytes=self.max_file_bytes)
        present = {f.path for f in files}
        reassigned = {owner for _c, _slug, owner in plan.apply if owner is not None}
        gone = [cid for cid in deleted_canonicals(known, present) if cid not in reassigned]
        self._guard_prune(len(gone), known)
        self._write(git, head, plan, deleted=gone, renames={})

    def _apply_diff(
        self, git: GitRepository, changes: list[Change], head: str, known: list[KnownCanonical]
    ) -> None:
        self.result.mode = "diff"
        by_path = {k.path: k for k in known if k.path}
        renames: dict[uuid.UUID, str] = {}
        candidates: list[CandidateFile] = []
        gone_paths: list[str] = []
        sizes = {f.path: f.size for f in git.list_files(head, self.access.workflows_dir)}
        for change in changes:
            if change.kind == "deleted" and change.old_path:
                gone_paths.append(change.old_path)
                continue
            assert change.new_path is not None and change.blob_id is not None
            if change.kind == "renamed" and change.old_path in by_path:
                old = by_path[change.old_path]
                if canonicals.renamed_is_same(git, old, change.blob_id):
                    renames[old.id] = change.new_path
                else:  # a different workflow took the old one's place: delete + add
                    gone_paths.append(change.old_path)
            candidates.append(
                CandidateFile(change.new_path, change.blob_id, sizes.get(change.new_path, 0))
            )
        known = canonicals.with_renames(known, renames)
        plan = plan_files(candidates, known, max_bytes=self.max_file_bytes, gone_paths=gone_paths)
        reassigned = {owner for _c, _slug, owner in plan.apply if owner is not None}
        gone = [
            by_path[p].id for p in gone_paths if p in by_path and by_path[p].id not in reassigned
        ]
        self._guard_prune(len(gone), known)
        self._write(git, head, plan, deleted=gone, renames=renames)

    def _guard_prune(self, deleting: int, known: list[KnownCanonical]) -> None:
        """Refuse, before anything is written, to delete too many canonical workflows."""
        live = len(git_backed(known))
        why = prune_refusal(deleting, live, guard_percent=self.prune_guard.percent)
        if why is None or self.prune_guard.confirmed:
            return
        raise Conflict(
            f"repository sync refused: {why}; {HOW_TO_CONFIRM}",
            details={"would_delete": deleting, "live": live},
        )

    def _write(
        self,
        git: GitRepository,
        head: str,
        plan: FilePlan,
        *,
        deleted: list[uuid.UUID],
        renames: dict[uuid.UUID, str],
    ) -> None:
        total = len(plan.apply) + len(plan.unchanged) + len(plan.skipped)
        self.result.files_seen = total
        self.result.unchanged = len(plan.unchanged)
        self.result.skipped = list(plan.skipped)
        parsed = canonicals.read_files(git, plan, self.result.skipped, self.progress, total)
        with transaction(self.sessions) as session:
            self.lease.hold_in(session)  # commits only while no other run holds the lease
            outcome = canonicals.apply(
                session, self.access.tenant_id, parsed, head=head, deleted=deleted, renames=renames
            )
            record_agreement(session, self.access.tenant_id)
            repository = service.get_or_raise(session, self.access.tenant_id)
            repository.last_synced_commit = head
            repository.last_synced_at = utcnow()
        self.result.created, self.result.updated = outcome.created, outcome.updated
        self.result.renamed, self.result.deleted = outcome.renamed, outcome.deleted


def _record_run(sessions: sessionmaker[Session], result: RepoSyncResult) -> None:
    with transaction(sessions) as session:
        run = session.get(SyncRun, result.run_id)
        assert run is not None
        run.complete = result.complete
        run.seen, run.created, run.updated = result.files_seen, result.created, result.updated
        run.unchanged, run.missing = result.unchanged, result.deleted
        run.duration_ms, run.error = result.duration_ms, result.error
        run.finished_at = utcnow()
        run.details = {
            "mode": result.mode,
            "commit": result.commit,
            "previous_commit": result.previous_commit,
            "renamed": result.renamed,
            "skipped": result.skipped[:500],
            "warnings": result.warnings,
            "templates": result.templates,
        }
