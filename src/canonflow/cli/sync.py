"""`canonflow sync env NAME`: sync an environment now, with a progress bar."""

from __future__ import annotations

from typing import Annotated

import typer

from canonflow.cli.common import CliError, console, progress_task, runtime_and_session
from canonflow.cli.context import TenantOption, cli_principal

app = typer.Typer(help="Sync environments and the repository.", no_args_is_help=True)


@app.command("env")
def sync_env(name: str, tenant: TenantOption = "default") -> None:
    """List every workflow of environment NAME and update its mappings."""
    from canonflow.environments import service
    from canonflow.errors import AppError, Conflict
    from canonflow.notifications import hooks as notify
    from canonflow.sync.environment import sync_environment

    with runtime_and_session() as (runtime, session):
        principal = cli_principal(session, tenant)
        environment = service.get_by_name_or_raise(session, principal.tenant_id, name)
        session.commit()
        with progress_task(f"syncing {name}: workflows listed") as progress:
            try:
                result = sync_environment(
                    runtime.sessions,
                    runtime.secrets,
                    tenant_id=principal.tenant_id,
                    environment_id=environment.id,
                    progress=progress,
                )
            except AppError as exc:
                if not isinstance(exc, Conflict):
                    failed = {
                        "kind": "environment",
                        "environment": name,
                        "environment_id": str(environment.id),
                        "error": exc.message,
                    }
                    notify.sync_failed(runtime.sessions, runtime.jobs,
                                       tenant_id=principal.tenant_id, payload=failed)  # fmt: skip
                raise CliError(exc.message) from exc
        notify.environment_synced(
            runtime.sessions, runtime.jobs, tenant_id=principal.tenant_id,
            environment_id=environment.id, run_id=result.run_id,
        )  # fmt: skip
    console.print(
        f"{name}: {result.seen} seen, {result.created} new, {result.updated} updated, "
        f"{result.unchanged} unchanged, {result.missing} missing, {result.auto_linked} auto-linked "
        f"({result.duration_ms / 1000:.1f} s)"
    )
    for problem in result.problems[:10]:
        console.print(
            f"  cannot hash {problem['n8n_workflow_id']}: {problem['problem']}", highlight=False
        )


@app.command("repo")
def sync_repo(
    tenant: TenantOption = "default",
    confirm_prune: Annotated[
        bool,
        typer.Option(
            "--confirm-prune",
            help="Let the sync mark more canonical workflows deleted than the prune guard "
            "allows (CANONFLOW_PRUNE_GUARD_PERCENT), or all of them.",
        ),
    ] = False,
) -> None:
    """Read the repository's workflow files into canonical workflows (only what changed)."""
    from canonflow.errors import AppError
    from canonflow.repo.sync import PruneGuard, sync_repository

    with runtime_and_session() as (runtime, session):
        principal = cli_principal(session, tenant)
        session.commit()
        with progress_task("syncing the repository: files") as progress:
            try:
                result = sync_repository(
                    runtime.sessions,
                    runtime.secrets,
                    tenant_id=principal.tenant_id,
                    cache_root=runtime.settings.resolved_git_cache_dir,
                    max_file_bytes=runtime.settings.repo_max_file_bytes,
                    progress=progress,
                    prune_guard=PruneGuard(
                        percent=runtime.settings.prune_guard_percent, confirmed=confirm_prune
                    ),
                )
            except AppError as exc:
                raise CliError(exc.message) from exc
    commit = (result.commit or "empty")[:12]
    console.print(
        f"repository at {commit} ({result.mode}): {result.files_seen} files, {result.created} new, "
        f"{result.updated} updated, {result.renamed} renamed, {result.deleted} deleted, "
        f"{len(result.skipped)} skipped ({result.duration_ms / 1000:.1f} s)",
        highlight=False,
    )
    for warning in result.warnings:
        console.print(f"  warning: {warning['detail']}", highlight=False, markup=False)
    for skipped in result.skipped[:20]:
        console.print(
            f"  skipped {skipped['path']}: {skipped['reason']}", highlight=False, markup=False
        )
