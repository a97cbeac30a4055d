"""`canonflow untracked` and `canonflow link`."""

from __future__ import annotations

import uuid
from typing import Annotated

import typer
from rich.table import Table

from canonflow.cli.common import CliError, console, unit_of_work
from canonflow.cli.context import TenantOption, cli_principal


def untracked(
    env: Annotated[str | None, typer.Option(help="Only this environment.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many to show.")] = 100,
    tenant: TenantOption = "default",
) -> None:
    """List workflows in n8n that no canonical workflow holds (untracked or missing)."""
    from canonflow.environments import service as environments
    from canonflow.linking.untracked import untracked_counts, untracked_page

    with unit_of_work() as session:
        principal = cli_principal(session, tenant)
        environment_id = (
            environments.get_by_name_or_raise(session, principal.tenant_id, env).id if env else None
        )
        rows = untracked_page(
            session, principal.tenant_id, environment_id=environment_id, limit=limit, after=None
        )
        counts = untracked_counts(session, principal.tenant_id)
    total = counts.get(environment_id, 0) if environment_id else sum(counts.values())
    table = Table("environment", "n8n id", "name", "status", "mapping id")
    for row in rows:
        table.add_row(
            row.environment_name,
            row.n8n_workflow_id,
            row.name or "",
            row.status.value,
            str(row.mapping_id),
        )
    console.print(table)
    console.print(f"{len(rows)} of {total} untracked", highlight=False)


def link(
    mapping_id: Annotated[str, typer.Argument(help="The mapping id (see `canonflow untracked`).")],
    to: Annotated[
        str | None, typer.Option("--to", help="Link to the canonical workflow of this slug.")
    ] = None,
    new: Annotated[
        bool, typer.Option("--new", help="Make a canonical workflow from this workflow.")
    ] = False,
    slug: Annotated[str | None, typer.Option(help="The new canonical's slug.")] = None,
    tenant: TenantOption = "default",
) -> None:
    """Link an untracked workflow to a canonical workflow (--to SLUG), or make one (--new)."""
    from sqlalchemy import select

    from canonflow.db.models import CanonicalWorkflow
    from canonflow.errors import AppError
    from canonflow.linking import service

    if (to is None) == (not new) or (slug is not None and not new):
        raise CliError("give --to SLUG, or --new (with --slug if you like)", exit_code=2)
    try:
        mapping = uuid.UUID(mapping_id)
    except ValueError:
        raise CliError(f"{mapping_id!r} is not a mapping id", exit_code=2) from None
    with unit_of_work() as session:
        principal = cli_principal(session, tenant)
        canonical_id = None
        if to is not None:
            canonical_id = session.scalar(
                select(CanonicalWorkflow.id).where(
                    CanonicalWorkflow.tenant_id == principal.tenant_id,
                    CanonicalWorkflow.canonical_slug == to,
                )
            )
            if canonical_id is None:
                raise CliError(f"no canonical workflow {to!r}")
        try:
            outcome = service.link(
                session, principal, service.LinkRequest(mapping, canonical_id, slug)
            )
        except AppError as exc:
            raise CliError(exc.message) from exc
        slug_of = session.scalar(
            select(CanonicalWorkflow.canonical_slug).where(
                CanonicalWorkflow.id == outcome.canonical_id
            )
        )
    made = " (new canonical workflow)" if outcome.created_canonical else ""
    console.print(f"linked to {slug_of}{made}: {outcome.status.value}", highlight=False)
