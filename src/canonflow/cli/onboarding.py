"""`canonflow onboard`: preflight → inventory → migration pull request → completion."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from canonflow.cli.common import CliError, console, open_runtime, progress_task
from canonflow.cli.context import TenantOption, cli_principal


def onboard(
    skip_pr: Annotated[
        bool, typer.Option("--skip-pr", help="Stop after the inventory (no branch, no PR).")
    ] = False,
    tenant: TenantOption = "default",
) -> None:
    """Onboard the existing estate in one go."""
    from canonflow.db.engine import transaction
    from canonflow.errors import AppError
    from canonflow.onboarding.completion import completion
    from canonflow.onboarding.inventory import run_inventory
    from canonflow.onboarding.preflight import preflight
    from canonflow.onboarding.pull_request import create_migration_pr

    with open_runtime() as runtime:
        with transaction(runtime.sessions) as session:
            principal = cli_principal(session, tenant)
        cache_root = runtime.settings.resolved_git_cache_dir
        report = preflight(runtime.sessions, runtime.secrets, principal, cache_root)
        for warning in report.warnings:
            console.print(f"warning: {warning}", highlight=False, markup=False)
        if not report.ready:
            raise CliError("preflight failed: " + "; ".join(report.errors))
        try:
            with progress_task("inventory: workflows listed") as progress:
                result = run_inventory(
                    runtime.sessions,
                    runtime.secrets,
                    tenant_id=principal.tenant_id,
                    progress=progress,
                )
            _print_inventory(result.as_dict())
            if not skip_pr:
                pull = create_migration_pr(
                    runtime.sessions, runtime.secrets, principal, cache_root=cache_root
                )
                where = pull.url or f"branch {pull.branch} (no forge configured)"
                console.print(f"migration: {pull.files} files at {pull.commit[:12]}, {where}")
        except AppError as exc:
            raise CliError(exc.message) from exc
        with transaction(runtime.sessions) as session:
            state = completion(session, runtime.secrets, principal, cache_root)
    untracked = sum(e["untracked"] for e in state.environments)
    console.print(
        f"onboarding: {state.status}, {state.canonical_workflows} canonical workflows, "
        f"{untracked} untracked (see `canonflow untracked`)",
        highlight=False,
    )


def _print_inventory(result: dict[str, Any]) -> None:
    console.print(
        f"anchor {result['anchor']}: {result['canonicals_created']} canonical workflows created",
        highlight=False,
    )
    for collision in result["collisions"][:10]:
        slugs = ", ".join(w["slug"] for w in collision["workflows"])
        console.print(f"  slug collision {collision['slug']!r}: {slugs}", highlight=False)
    for env in result["environments"]:
        console.print(
            f"{env['environment']}: {env['seen']} workflows, {env['linked_by_name']} linked by "
            f"name, {env['linked_by_content_hash']} by content, {env['untracked']} untracked",
            highlight=False,
        )
        for entry in env["untracked_listed"][:10]:
            console.print(
                f"  untracked {entry['name']!r} ({entry['reason']})", highlight=False, markup=False
            )
