"""`canonflow tenant` and `canonflow token`: tenants and their API tokens.

Command modules import the database stack inside the commands, so that `canonflow --help`
and `canonflow hash` start fast.
"""

from __future__ import annotations

import uuid
from typing import Annotated

import typer
from rich.table import Table

from canonflow.cli.common import CliError, console, unit_of_work
from canonflow.core.enums import Role

tenant_app = typer.Typer(help="Tenants (teams).", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
CLI_ACTOR = "cli"


@tenant_app.command("create")
def create_tenant(
    name: Annotated[str, typer.Argument(help="Tenant name: lowercase letters, digits, '-'.")],
    display_name: Annotated[str | None, typer.Option(help="A human-readable name.")] = None,
) -> None:
    """Create a tenant."""
    from canonflow.tenancy import service

    with unit_of_work() as session:
        tenant = service.create_tenant(session, slug=name, name=display_name)
        console.print(f"tenant {tenant.slug} created ({tenant.id})")


@tenant_app.command("list")
def list_tenants() -> None:
    """List tenants."""
    from canonflow.tenancy import repository

    with unit_of_work() as session:
        table = Table("name", "display name", "plan", "id")
        for tenant in repository.list_tenants(session):
            table.add_row(tenant.slug, tenant.name, tenant.plan, str(tenant.id))
        console.print(table)


@token_app.command("create")
def create_token(
    tenant: Annotated[str, typer.Option(help="The tenant's name.")],
    role: Annotated[Role, typer.Option(help="What the token may do.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli-issued",
) -> None:
    """Create a token and print it once (it is stored only as a hash)."""
    from canonflow.tenancy import service

    with unit_of_work() as session:
        issued = service.issue_token(
            session,
            tenant=service.get_tenant_or_raise(session, tenant),
            role=role,
            name=name,
            actor=CLI_ACTOR,
        )
    console.print(f"token {issued.token.id} ({role.value}) for tenant {tenant}; shown once:")
    typer.echo(issued.secret)


@token_app.command("list")
def list_tokens(tenant: Annotated[str, typer.Option(help="The tenant's name.")]) -> None:
    """List a tenant's tokens (never their values)."""
    from canonflow.tenancy import repository, service

    with unit_of_work() as session:
        tenant_row = service.get_tenant_or_raise(session, tenant)
        table = Table("id", "name", "role", "created", "last used", "revoked")
        for token in repository.list_tokens(session, tenant_row.id):
            table.add_row(
                str(token.id),
                token.name,
                token.role.value,
                f"{token.created_at:%Y-%m-%d %H:%M}",
                f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "-",
                f"{token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "-",
            )
        console.print(table)


@token_app.command("revoke")
def revoke_token(
    token_id: Annotated[str, typer.Argument(help="The token's id (see `token list`).")],
    tenant: Annotated[str, typer.Option(help="The tenant's name.")],
) -> None:
    """Revoke a token: it stops working at once."""
    from canonflow.tenancy import service

    try:
        parsed = uuid.UUID(token_id)
    except ValueError:
        raise CliError(f"{token_id!r} is not a token id", exit_code=2) from None
    with unit_of_work() as session:
        tenant_row = service.get_tenant_or_raise(session, tenant)
        service.revoke_token(session, tenant=tenant_row, token_id=parsed, actor=CLI_ACTOR)
    console.print(f"token {parsed} revoked")
