"""One canonical workflow's page (`/workflows/{slug}`: its cells, timeline, state sparkline,
versions with "deploy this version", the file as Git holds it) and its diff page
(`/workflows/{slug}/diff?env=&against=&raw=`), on the catalogue's and reconcile's services,
the same calls as the JSON API's."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from canonflow.api.deps import RuntimeDep, SessionDep
from canonflow.catalogue import service as catalogue
from canonflow.core.enums import Role
from canonflow.db.models import Approval
from canonflow.errors import Invalid, NotFound, Unavailable
from canonflow.governance.gate import environment_gates
from canonflow.reconcile import diffs, history, snapshots
from canonflow.reconcile import service as reconcile
from canonflow.reconcile.schemas import DeployRequest, VersionRead
from canonflow.runtime import Runtime
from canonflow.web import labels, presenting
from canonflow.web.deps import FormDep, Ui, UiDep, csrf_protect
from canonflow.web.held import PARAMETER, held_notice
from canonflow.web.rendering import redirect, render, with_query

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])

SPARK_DAYS = 30
TIMELINE_DAYS = 90
TIMELINE_SHOWN = 60
VERSIONS_SHOWN = 50
SNAPSHOTS_SHOWN = 20
AGAINST = ("git", "base")


@router.get("/workflows/{slug}")
def workflow_page(
    request: Request, slug: str, session: SessionDep, runtime: RuntimeDep, ui: UiDep
) -> Response:
    workflow = catalogue.get(session, ui.tenant_id, slug=slug)
    names = {cell["environment_id"]: cell["environment"] for cell in workflow["environments"]}
    series = catalogue.daily_states(session, ui.tenant_id, workflow, days=SPARK_DAYS)
    today = datetime.now(UTC).date()
    sparks = {env: presenting.sparkline(line, today) for env, line in series.items()}
    versions, versions_error = _versions(session, runtime, ui, workflow["id"], VERSIONS_SHOWN)
    entries, missing = _timeline(session, ui, workflow, names, versions, versions_error)
    definition_lines = presenting.document_lines(workflow["definition"])
    context = {
        "workflow": workflow,
        "sparks": sparks,
        "spark_days": SPARK_DAYS,
        "versions": versions,
        "versions_error": versions_error,
        "timeline": entries,
        "timeline_missing": missing,
        "definition": "\n".join(definition_lines),
        "definition_folded": len(definition_lines) > presenting.FOLD_LINES,
        "definition_lines": len(definition_lines),
        "deployable": [c for c in workflow["environments"] if c["status"] not in _UNDEPLOYABLE],
        "held": held_notice(request, session, ui),
    }
    return render(request, ui, "workflow.html", context)


@router.get("/workflows/{slug}/diff")
def diff_page(
    request: Request,
    slug: str,
    session: SessionDep,
    runtime: RuntimeDep,
    ui: UiDep,
    env: str = "",
    against: str = "git",
    raw: str = "",
) -> Response:
    workflow = catalogue.get(session, ui.tenant_id, slug=slug)
    if against not in AGAINST:
        raise Invalid(f"against is git or base, not {against!r}")
    side: Literal["git", "base"] = "base" if against == "base" else "git"
    comparable = [c for c in workflow["environments"] if c["mapping_id"] is not None]
    if not env:
        if not comparable:
            raise NotFound(f"{slug} has a workflow in no environment yet: nothing to compare")
        env = next((c for c in comparable if c["is_anchor"]), comparable[0])["environment"]
    cell = _cell(workflow, env)
    if cell["mapping_id"] is None:
        raise NotFound(f"{slug} has no workflow in {env}: nothing to compare")
    show_raw = raw in ("1", "true", "on")
    common = {
        "session": session,
        "secrets": runtime.secrets,
        "tenant_id": ui.tenant_id,
        "canonical_id": workflow["id"],
        "environment_id": cell["environment_id"],
        "against": side,
        "cache_root": runtime.settings.resolved_git_cache_dir,
    }
    result = diffs.workflow_diff(**common)  # the API's diff endpoint
    rows = None
    if show_raw:
        sides = diffs.diff_sides(**common)
        rows = presenting.raw_rows(sides.old, sides.new)
    context = {
        "workflow": workflow,
        "cell": cell,
        "environments": comparable,
        "env": env,
        "against": side,
        "raw": show_raw,
        "result": result,
        "diff": result["diff"],
        "raw_rows": rows,
        "left_title": "Git (canonical)" if side == "git" else "Base (last agreed)",
        "right_title": f"{env} (n8n, published)" if result["draft"] else f"{env} (n8n)",
        "shown": presenting.shown,
        "self_url": with_query(
            f"/workflows/{slug}/diff", env=env, against=side, raw="1" if show_raw else None
        ),
    }
    return render(request, ui, "workflow_diff.html", context, block="diff_body")


@router.get("/workflows/{slug}/deploy")
def deploy_confirm(
    request: Request,
    slug: str,
    session: SessionDep,
    runtime: RuntimeDep,
    ui: UiDep,
    env: str = "",
    commit: str = "",
) -> Response:
    """What a deploy (rollback) will overwrite, before it does."""
    ui.require(Role.OPERATOR)
    workflow = catalogue.get(session, ui.tenant_id, slug=slug)
    cell = _cell(workflow, env)
    version = _version(session, runtime, ui, workflow["id"], commit) if commit else None
    [gate] = environment_gates(session, ui.tenant_id, [cell["environment_id"]])
    context = {
        "workflow": workflow,
        "cell": cell,
        "version": version,
        "commit": commit,
        "gate": gate,  # protected (held for another admin) or outside its window: said first
        "may_override": ui.can(Role.ADMIN),
    }
    return render(request, ui, "workflow_deploy.html", context)


@router.post("/workflows/{slug}/deploy")
def deploy(
    slug: str, session: SessionDep, runtime: RuntimeDep, ui: UiDep, form: FormDep
) -> Response:
    """The API's deploy endpoint's call (`POST .../deploy`), then the job's page."""
    principal = ui.require(Role.OPERATOR)
    workflow = catalogue.get(session, ui.tenant_id, slug=slug)
    cell = _cell(workflow, form.get("env"))
    try:
        body = DeployRequest(
            environment_id=cell["environment_id"],
            commit=form.get("commit") or None,
            window_override=form.get("window_override") or None,
        )
    except ValidationError:
        raise Invalid("commit: a Git commit id (4 to 64 hex digits)") from None
    job = reconcile.deploy(
        session, runtime.jobs, principal, workflow["id"], body,
        secrets=runtime.secrets, cache_root=runtime.settings.resolved_git_cache_dir,
    )  # fmt: skip
    if isinstance(job, Approval):  # a protected environment: held for another admin
        return redirect(f"/workflows/{slug}?{PARAMETER}={job.id}")
    return redirect(f"/jobs/{job.id}")


_UNDEPLOYABLE = {"ignored", "deleted"}


def _cell(workflow: dict[str, Any], env: str) -> dict[str, Any]:
    """The workflow's cell in the environment named `env` (404 for an unknown name)."""
    for cell in workflow["environments"]:
        if cell["environment"] == env:
            found: dict[str, Any] = cell
            return found
    raise NotFound(f"no environment {env!r}")


def _versions(
    session: Session, runtime: Runtime, ui: Ui, canonical_id: uuid.UUID, limit: int
) -> tuple[list[VersionRead], str | None]:
    """The API's versions call; what went wrong in words when the file's history cannot be
    read (no repository, never synced, the local copy broken)."""
    canonical = history.canonical_or_404(session, ui.tenant_id, canonical_id)
    try:
        ref = history.file_ref(
            session, runtime.secrets, canonical, runtime.settings.resolved_git_cache_dir
        )
        found = history.versions(ref, limit=limit)
    except (NotFound, Unavailable) as exc:
        return [], exc.message
    if not found:
        return [], "the repository has not been synced here yet, or the file has no commits"
    return found, None


def _version(
    session: Session, runtime: Runtime, ui: Ui, canonical_id: uuid.UUID, commit: str
) -> VersionRead:
    versions, error = _versions(session, runtime, ui, canonical_id, history.MAX_VERSIONS)
    for version in versions:
        if version.commit.startswith(commit.lower()) and len(commit) >= 4:
            return version
    raise NotFound(f"no version {commit!r} of this workflow" + (f" ({error})" if error else ""))


def _timeline(
    session: Session,
    ui: Ui,
    workflow: dict[str, Any],
    names: dict[uuid.UUID, str],
    versions: list[VersionRead],
    versions_error: str | None,
) -> tuple[list[presenting.Entry], list[str]]:
    """Git commits, state changes (their cause: a sync, a deploy, a commit, ...), status
    events and snapshots, newest first; and what could not be shown."""
    since = datetime.now(UTC) - timedelta(days=TIMELINE_DAYS)
    entries = [
        presenting.Entry(
            v.date,
            "commit",
            None,
            v.message.strip().splitlines()[0] if v.message else "",
            f"{v.commit[:12]} by {v.author}" + ("" if v.content_hash else " (file deleted)"),
        )
        for v in versions
    ]
    changes = catalogue.history(session, ui.tenant_id, workflow["id"], since=since, limit=10_000)
    entries += [
        presenting.Entry(
            c["at"],
            "state",
            names.get(c["environment_id"]),
            f"{_said(c['from_state'])} → {_said(c['to_state'])}",
            _CAUSES.get(c["cause"], c["cause"]),
        )
        for c in changes
    ]
    entries += [
        presenting.Entry(
            e["at"],
            "status",
            names.get(e["environment_id"]),
            f"{_said(e['from_status'])} → {_said(e['to_status'])}",
            "",
        )
        for e in workflow["events"]
    ]
    taken = snapshots.list_page(
        session, ui.tenant_id, limit=SNAPSHOTS_SHOWN, canonical_id=workflow["id"]
    )
    entries += [
        presenting.Entry(
            s.created_at,
            "snapshot",
            names.get(s.environment_id) if s.environment_id else None,
            "snapshot of " + ("Git's version" if s.side.value == "git" else "n8n's version"),
            f"{s.reason} (by {s.created_by})",
            "/snapshots",
        )
        for s in taken
    ]
    missing = ["sync runs are per environment: see each environment's page"]
    if versions_error:
        missing.append(f"Git commits: {versions_error}")
    return presenting.timeline(entries, limit=TIMELINE_SHOWN), missing


def _said(value: str | None) -> str:
    return labels.label(value).text if value else "new"


_CAUSES = {
    "env_sync": "environment sync",
    "repo_sync": "repository sync",
    "onboarding": "onboarding",
    "link": "linked",
    "ignore": "ignored",
    "unignore": "un-ignored",
    "deploy": "deploy",
    "commit": "commit to Git",
    "delete": "deleted",
    "restore": "snapshot restored",
}
