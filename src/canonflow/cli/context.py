"""Who the CLI acts as: a local administrator of one tenant."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from canonflow.core.enums import Role

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from canonflow.tenancy.service import Principal

TenantOption = Annotated[
    str,
    typer.Option("--tenant", envvar="CANONFLOW_TENANT", help="The tenant to act in."),
]
CLI_ACTOR = "cli"


def cli_principal(session: Session, tenant_slug: str) -> Principal:
    """The CLI runs on the server with direct database access: it acts as an admin."""
    from canonflow.tenancy.service import Principal, get_tenant_or_raise

    tenant = get_tenant_or_raise(session, tenant_slug)
    return Principal(
        tenant_id=tenant.id, tenant_slug=tenant.slug, token_id=None, name=CLI_ACTOR, role=Role.ADMIN
    )
