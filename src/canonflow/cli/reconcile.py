"""`canonflow reconcile`, `diff`, `versions`, `deploy`, `snapshots` and `restore`."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from canonflow.cli.common import CliError, console, open_runtime, progress_task
from canonflow.cli.context import TenantOption, cli_principal

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from canonflow.runtime import Runtime
    from canonflow.tenancy.service import Principal

EnvOption = Annotated[str, typer.Option("--env", help="The environment, by name.")]
_ACTION_STYLE = {
    "deploy": "cyan",
    "commit": "magenta",
    "delete": "bold red",
    "readopt": "green",
    "conflict": "red",
    "blocked": "yellow",
    "none": "dim",
}
_LINE_STYLE = {"added": "green", "removed": "red", "changed": "yellow"}
WindowOverrideOption = Annotated[
    str | None,
    typer.Option(
        "--window-override",
        help="Write though a sync window is closed: the reason (admin; audited).",
    ),
]
_POLL_S = 0.2


def reconcile(
    strategy: Annotated[str, typer.Option(help="git_wins, env_wins or manual.")],
    env: Annotated[
        list[str] | None, typer.Option("--env", help="Only these environments (repeat).")
    ] = None,
    workflow: Annotated[
        list[str] | None,
        typer.Option("--workflow", help="Only these canonical workflows, by slug (repeat)."),
    ] = None,
    force: Annotated[
        list[str] | None,
        typer.Option(help="SLUG@ENV: a conflict git_wins/env_wins may resolve (repeat)."),
    ] = None,
    choose: Annotated[
        list[str] | None,
        typer.Option(help="manual: SLUG@ENV=git or SLUG@ENV=env (repeat)."),
    ] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="Apply the plan (default: show it).")
    ] = False,
    confirm_prune: Annotated[
        bool,
        typer.Option(
            "--confirm-prune", help="Delete orphaned workflows even past the prune guard."
        ),
    ] = False,
    window_override: WindowOverrideOption = None,
    tenant: TenantOption = "default",
) -> None:
    """Plan a reconcile and show it; with --apply, apply it with a progress bar."""
    from canonflow.db.engine import transaction
    from canonflow.governance.gate import environment_gates
    from canonflow.reconcile import service
    from canonflow.reconcile.planning import Plan
    from canonflow.reconcile.schemas import ReconcileRequest, ReconcileScope

    with open_runtime() as runtime:
        with transaction(runtime.sessions) as session:
            principal = cli_principal(session, tenant)
            request = _parse(
                ReconcileRequest, ReconcileScope, session, principal,
                strategy, env, workflow, force, choose, apply,
            )  # fmt: skip
            request = request.model_copy(
                update={"confirm_prune": confirm_prune, "window_override": window_override}
            )
            outcome = service.reconcile(
                session, runtime.jobs, principal, request,
                prune_guard_percent=runtime.settings.prune_guard_percent,
            )  # fmt: skip
            if isinstance(outcome, Plan):
                gates = environment_gates(
                    session, principal.tenant_id, {i.environment_id for i in outcome.items}
                )
        if isinstance(outcome, Plan):
            _print_plan(outcome, gates)
            return
        _finish(runtime, outcome, "applying")


def diff(
    slug: Annotated[str, typer.Argument(help="The canonical workflow's slug.")],
    env: EnvOption,
    against: Annotated[str, typer.Option(help="git (default) or base.")] = "git",
    tenant: TenantOption = "default",
) -> None:
    """What the environment's workflow changes against Git's version (or the base)."""
    from canonflow.db.engine import transaction
    from canonflow.reconcile.diffs import workflow_diff

    if against not in ("git", "base"):
        raise CliError("--against is git or base", exit_code=2)
    with open_runtime() as runtime, transaction(runtime.sessions) as session:
        principal = cli_principal(session, tenant)
        result = workflow_diff(
            session,
            runtime.secrets,
            tenant_id=principal.tenant_id,
            canonical_id=canonical_id_of(session, principal, slug),
            environment_id=environment_id_of(session, principal, env),
            against=against,  # type: ignore[arg-type]
            cache_root=runtime.settings.resolved_git_cache_dir,
        )
    if result["identical"]:
        console.print(f"{slug} in {env}: identical to {against}", highlight=False)
        return
    console.print(f"{slug} in {env} against {against}:", highlight=False)
    for line in result["lines"]:
        console.print(line["text"], style=_LINE_STYLE[line["kind"]], highlight=False, markup=False)


def versions(
    slug: Annotated[str, typer.Argument(help="The canonical workflow's slug.")],
    limit: Annotated[int, typer.Option(min=1, max=200)] = 20,
    tenant: TenantOption = "default",
) -> None:
    """The Git history of the workflow's file, newest first (as last fetched)."""
    from canonflow.db.engine import transaction
    from canonflow.reconcile import history

    with open_runtime() as runtime, transaction(runtime.sessions) as session:
        principal = cli_principal(session, tenant)
        canonical = history.canonical_or_404(
            session, principal.tenant_id, canonical_id_of(session, principal, slug)
        )
        ref = history.file_ref(
            session, runtime.secrets, canonical, runtime.settings.resolved_git_cache_dir
        )
        found = history.versions(ref, limit=limit)
    table = Table("commit", "date", "author", "message", "hash")
    for v in found:
        subject = v.message.splitlines()[0] if v.message else ""
        digest = v.content_hash[3:15] if v.content_hash else "(deleted)"
        table.add_row(
            v.commit[:12], v.date.strftime("%Y-%m-%d %H:%M"), escape(v.author), escape(subject),
            digest,
        )  # fmt: skip
    console.print(table)


def deploy(
    slug: Annotated[str, typer.Argument(help="The canonical workflow's slug.")],
    env: EnvOption,
    commit: Annotated[
        str | None, typer.Option(help="Deploy the file as this commit had it (a rollback).")
    ] = None,
    window_override: WindowOverrideOption = None,
    tenant: TenantOption = "default",
) -> None:
    """Deploy the canonical version (or an older one) to one environment."""
    from pydantic import ValidationError

    from canonflow.db.engine import transaction
    from canonflow.reconcile import service
    from canonflow.reconcile.schemas import DeployRequest

    with open_runtime() as runtime:
        with transaction(runtime.sessions) as session:
            principal = cli_principal(session, tenant)
            try:
                request = DeployRequest(
                    environment_id=environment_id_of(session, principal, env),
                    commit=commit,
                    window_override=window_override,
                )
            except ValidationError:
                raise CliError(f"not a commit sha: {commit!r}", exit_code=2) from None
            canonical_id = canonical_id_of(session, principal, slug)
            job = service.deploy(
                session, runtime.jobs, principal, canonical_id, request,
                secrets=runtime.secrets, cache_root=runtime.settings.resolved_git_cache_dir,
            )  # fmt: skip
        _finish(runtime, job, "deploying")


def snapshots(
    workflow: Annotated[str | None, typer.Option(help="Only this workflow's (slug).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
    tenant: TenantOption = "default",
) -> None:
    """What reconcile overwrote, newest first (restore one with `canonflow restore ID`)."""
    from canonflow.db.engine import transaction
    from canonflow.reconcile import snapshots as store

    with open_runtime() as runtime, transaction(runtime.sessions) as session:
        principal = cli_principal(session, tenant)
        canonical_id = canonical_id_of(session, principal, workflow) if workflow else None
        rows = store.list_page(session, principal.tenant_id, limit=limit, canonical_id=canonical_id)
        table = Table("id", "taken", "side", "hash", "by", "why")
        for s in rows:
            table.add_row(
                str(s.id), s.created_at.strftime("%Y-%m-%d %H:%M:%S"), s.side.value,
                (s.content_hash or "")[3:15], escape(s.created_by), escape(s.reason),
            )  # fmt: skip
    console.print(table)


def restore(
    snapshot_id: Annotated[str, typer.Argument(help="The snapshot's id.")],
    window_override: WindowOverrideOption = None,
    tenant: TenantOption = "default",
) -> None:
    """Put a snapshot back on its side (n8n or Git)."""
    from canonflow.db.engine import transaction
    from canonflow.reconcile import service

    try:
        parsed = uuid.UUID(snapshot_id)
    except ValueError:
        raise CliError(f"{snapshot_id!r} is not a snapshot id", exit_code=2) from None
    with open_runtime() as runtime:
        with transaction(runtime.sessions) as session:
            principal = cli_principal(session, tenant)
            job = service.restore(
                session, runtime.jobs, principal, parsed, window_override=window_override
            )
        _finish(runtime, job, "restoring")


# --- helpers ------------------------------------------------------------------------------


def _parse(
    request_type: Any,
    scope_type: Any,
    session: Session,
    principal: Principal,
    strategy: str,
    envs: list[str] | None,
    slugs: list[str] | None,
    force: list[str] | None,
    choose: list[str] | None,
    apply: bool,
) -> Any:
    from pydantic import ValidationError

    choices = {}
    for entry in choose or ():
        cell, _, side = entry.partition("=")
        choices[str(_mapping_id(session, principal, cell))] = side
    try:
        return request_type(
            strategy=strategy,
            scope=scope_type(
                environment_ids=[environment_id_of(session, principal, e) for e in envs]
                if envs
                else None,
                canonical_ids=[canonical_id_of(session, principal, s) for s in slugs]
                if slugs
                else None,
            ),
            dry_run=not apply,
            force=[_mapping_id(session, principal, cell) for cell in force or ()],
            choices=choices,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise CliError(f"{where}: {first['msg']}", exit_code=2) from None


def environment_id_of(session: Session, principal: Principal, name: str) -> uuid.UUID:
    from canonflow.environments import service as environments

    return environments.get_by_name_or_raise(session, principal.tenant_id, name).id


def canonical_id_of(session: Session, principal: Principal, slug: str) -> uuid.UUID:
    from sqlalchemy import select

    from canonflow.db.models import CanonicalWorkflow

    found = session.scalar(
        select(CanonicalWorkflow.id).where(
            CanonicalWorkflow.tenant_id == principal.tenant_id,
            CanonicalWorkflow.canonical_slug == slug,
        )
    )
    if found is None:
        raise CliError(f"no canonical workflow {slug!r}", exit_code=2)
    return found


def _mapping_id(session: Session, principal: Principal, cell: str) -> uuid.UUID:
    """`SLUG@ENV` → the mapping of that canonical workflow in that environment."""
    from sqlalchemy import select

    from canonflow.db.models import WorkflowEnvMap

    slug, at, env = cell.partition("@")
    if not at or not slug or not env:
        raise CliError(f"{cell!r}: write SLUG@ENV (e.g. billing@prod)", exit_code=2)
    found = session.scalar(
        select(WorkflowEnvMap.id).where(
            WorkflowEnvMap.tenant_id == principal.tenant_id,
            WorkflowEnvMap.canonical_id == canonical_id_of(session, principal, slug),
            WorkflowEnvMap.environment_id == environment_id_of(session, principal, env),
        )
    )
    if found is None:
        raise CliError(f"{slug} has no workflow in {env}", exit_code=2)
    return found


def _finish(runtime: Runtime, started: Any, what: str) -> None:
    """Wait for the job; a write held for approval says what it waits for instead."""
    from canonflow.db.models import Approval
    from canonflow.governance.approvals import waiting_for

    if isinstance(started, Approval):
        console.print(
            f"waiting for approval {started.id}: {waiting_for(started)}",
            highlight=False,
            markup=False,
        )
        return
    print_job(wait_job(runtime, started.id, what))


def _print_plan(plan: Any, gates: list[Any]) -> None:
    table = Table("workflow", "environment", "state", "action", "why")
    for item in plan.items:
        style = _ACTION_STYLE.get(item.action.value, "")
        table.add_row(
            escape(item.slug), escape(item.environment), item.state.value if item.state else "-",
            f"[{style}]{item.action.value}[/{style}]", escape(item.reason),
        )  # fmt: skip
    console.print(table)
    counts = ", ".join(f"{n} {action}" for action, n in sorted(plan.counts.items()))
    console.print(f"plan ({plan.strategy.value}): {counts or 'nothing in scope'}", highlight=False)
    for why in plan.held:
        console.print(why, style="yellow", highlight=False, markup=False)
    for gate in gates:
        notes = ["protected: an apply waits for approval"] if gate.protected else []
        if not gate.window.open:
            when = gate.window.next_open.isoformat() if gate.window.next_open else "none in sight"
            notes.append(f"sync window closed, next open {when}")
        if notes:
            console.print(f"{gate.environment}: {'; '.join(notes)}", highlight=False, markup=False)
    if plan.acting:
        console.print("apply it with --apply", highlight=False)


def wait_job(runtime: Runtime, job_id: uuid.UUID, what: str) -> Any:
    from canonflow.db.engine import transaction
    from canonflow.db.models import BackgroundJob

    with progress_task(what) as progress:
        while True:
            with transaction(runtime.sessions) as session:
                job = session.get(BackgroundJob, job_id)
                assert job is not None
                progress(job.progress_done, job.progress_total)
                if job.status.finished:
                    return {"status": job.status.value, "result": job.result, "error": job.error}
            time.sleep(_POLL_S)


def print_job(job: dict[str, Any]) -> None:
    result = job["result"] or {}
    for item in result.get("items", []):
        if item["result"] != "applied":
            console.print(
                f"  {item['label']}: {item['result']}: {item['detail']}",
                highlight=False,
                markup=False,
            )
    counts = ", ".join(f"{n} {k}" for k, n in sorted(result.get("counts", {}).items()))
    if job["status"] != "succeeded":
        raise CliError(f"{job['error']} ({counts or 'nothing applied'})")
    console.print(f"done: {counts or 'nothing to do'}", highlight=False)
