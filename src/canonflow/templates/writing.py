"""The instantiate job: write the new workflow file through the Git write path of
reconcile's env_wins (one commit; pushed to the branch, or to a new branch with a pull
request, as the repository is configured). The template, slug and file are checked again
first: either may have changed since the request. The canonical workflow appears with the
next repo sync, like any file written to Git."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from canonflow import audit
from canonflow.core.enums import CommitMode
from canonflow.core.git_layout import workflow_file_path
from canonflow.crypto import SecretBox
from canonflow.db.engine import transaction
from canonflow.db.types import utcnow
from canonflow.errors import Conflict
from canonflow.jobs.registry import JobContext
from canonflow.reconcile.committing import open_pull_request
from canonflow.repo import service as repositories
from canonflow.repo.cache import cache_in_use
from canonflow.repo.writeback import write_files
from canonflow.templates import service

BRANCH_PREFIX = "canonflow/template-"


def run_instantiate(context: JobContext, secrets: SecretBox, cache_root: Path) -> dict[str, Any]:
    params, tenant_id = context.params, context.tenant_id
    slug, template_slug = str(params["slug"]), str(params["template"])
    with transaction(context.sessions) as session:
        row = service.get_or_raise(session, tenant_id, template_slug)
        instance = service.make_instance(row, dict(params["values"]))
        repository = repositories.get_or_raise(session, tenant_id)
        access, mode = repositories.access(secrets, repository), repository.commit_mode
        path = workflow_file_path(access.workflows_dir, slug)
        service.check_free(session, tenant_id, slug, path)
        template_commit = row.git_commit
    push = mode is CommitMode.PUSH
    branch = access.branch if push else f"{BRANCH_PREFIX}{slug}-{utcnow():%Y%m%d-%H%M%S-%f}"
    message = f"canonflow: new workflow {slug} from template {template_slug}"
    context.report_progress(0, 1)
    with cache_in_use(context.sessions, tenant_id):
        written = write_files(
            access,
            cache_root=cache_root,
            files={path: instance.data},
            branch=branch,
            message=message,
            expected={path: None},  # a file already there is never overwritten
        )
    if written.moved:
        raise Conflict(f"{path} already exists in Git: choose another slug")
    if push:
        detail = f"committed to {branch} ({written.commit[:12]}): sync the repository"
    else:
        body = (
            f"{message}\n\nOpened by canonflow from template `{template_slug}` (commit "
            f"{template_commit[:12]}). Merge it, then sync the repository: the workflow "
            "becomes canonical and can be deployed."
        )
        detail = open_pull_request(access, branch, message, body=body)
    with transaction(context.sessions) as session:
        audit.record(
            session,
            tenant_id=tenant_id,
            actor=str(params.get("actor") or "canonflow"),
            actor_token_id=_uuid(params.get("actor_token_id")),
            action="template.commit",
            target_type="workflow_file",
            target_id=path,
            details={"template": template_slug, "commit": written.commit, "branch": branch},
        )
    context.report_progress(1, 1)
    return {
        "slug": slug,
        "name": instance.name,
        "path": path,
        "template": template_slug,
        "content_hash": instance.content_hash,
        "commit_mode": mode.value,
        "branch": branch,
        "commit": written.commit,
        "detail": detail,
    }


def _uuid(value: object) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None
