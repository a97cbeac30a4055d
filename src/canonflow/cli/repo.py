"""`canonflow repo`: the tenant's Git repository."""

from __future__ import annotations

from typing import Annotated

import typer

from canonflow.cli.common import CliError, console, runtime_and_session, unit_of_work
from canonflow.cli.context import TenantOption, cli_principal

app = typer.Typer(
    help="The Git repository that holds the canonical workflows.", no_args_is_help=True
)


@app.command("set")
def set_repository(
    url: Annotated[str, typer.Argument(help="file://, git://, https:// or ssh:// URL, or a path")],
    branch: Annotated[str, typer.Option(help="The branch canonflow reads.")] = "main",
    workflows_dir: Annotated[
        str, typer.Option("--dir", help="Directory of the workflow files.")
    ] = "workflows",
    token: Annotated[
        str | None,
        typer.Option(envvar="CANONFLOW_GIT_TOKEN", help="HTTPS token (or CANONFLOW_GIT_TOKEN)."),
    ] = None,
    forge: Annotated[
        str | None, typer.Option(help="Where pull requests open: none, github or gitea.")
    ] = None,
    forge_api_url: Annotated[
        str | None, typer.Option(help="The forge's REST API root (default: from the URL).")
    ] = None,
    forge_repo: Annotated[
        str | None, typer.Option(help="owner/name on the forge (default: from the URL).")
    ] = None,
    forge_token: Annotated[
        str | None,
        typer.Option(envvar="CANONFLOW_FORGE_TOKEN", help="Forge token (default: the Git token)."),
    ] = None,
    commit_mode: Annotated[
        str | None,
        typer.Option(
            help="How env_wins writes: pull_request (default) or push (to the branch directly)."
        ),
    ] = None,
    tenant: TenantOption = "default",
) -> None:
    """Configure the repository (credentials are encrypted at rest)."""
    from pydantic import ValidationError

    from canonflow.errors import AppError
    from canonflow.repo import service
    from canonflow.repo.schemas import ForgeSettings, RepositoryAuth, RepositoryPut

    try:
        data = RepositoryPut(
            url=url,
            branch=branch,
            workflows_dir=workflows_dir,
            auth=RepositoryAuth(token=token) if token else None,
            forge=ForgeSettings(
                provider=forge,
                api_url=forge_api_url,
                repository=forge_repo,
                token=forge_token,
            )
            if forge
            else None,
            commit_mode=commit_mode,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise CliError(f"{first['loc'][0]}: {first['msg']}", exit_code=2) from None
    with runtime_and_session() as (runtime, session):
        try:
            service.put(session, runtime.secrets, cli_principal(session, tenant), data)
        except AppError as exc:
            raise CliError(exc.message, exit_code=2) from exc
    console.print(f"repository set: {url} ({branch}, {workflows_dir or '.'}/)")


@app.command("show")
def show(tenant: TenantOption = "default") -> None:
    """Show the repository configuration (never its credentials)."""
    from canonflow.repo import service

    with unit_of_work() as session:
        read = service.read(service.get_or_raise(session, cli_principal(session, tenant).tenant_id))
    console.print(f"url: {read.url}\nbranch: {read.branch}\nworkflows dir: {read.workflows_dir}")
    console.print(f"credentials: {'set' if read.has_credentials else 'none'}")
    forge = read.forge
    where = f" {forge.repository} at {forge.api_url}" if forge.api_url else ""
    console.print(f"forge: {forge.provider.value}{where}", highlight=False)
    console.print(f"env_wins writes by: {read.commit_mode.value}", highlight=False)
    console.print(f"last synced: {read.last_synced_commit or 'never'}", highlight=False)


@app.command("test")
def test(tenant: TenantOption = "default") -> None:
    """Check that canonflow can fetch the branch."""
    from canonflow.repo import service
    from canonflow.repo.check import check_repository

    with runtime_and_session() as (runtime, session):
        repository = service.get_or_raise(session, cli_principal(session, tenant).tenant_id)
        access = service.access(runtime.secrets, repository)
        cache_root = runtime.settings.resolved_git_cache_dir
    result = check_repository(runtime.sessions, access, cache_root)
    if not result.ok:
        raise CliError(result.detail)
    console.print(result.detail, highlight=False)
