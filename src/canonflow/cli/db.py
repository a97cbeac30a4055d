"""`canonflow db`: schema migrations."""

from __future__ import annotations

import typer

from canonflow.cli.common import console, open_runtime

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Migrate the database to the latest schema (or REVISION)."""
    from canonflow.db import migrate

    with open_runtime() as runtime:
        migrate.upgrade(runtime.engine, revision)
        console.print(f"database at revision {migrate.current_revision(runtime.engine)}")


@app.command("current")
def current() -> None:
    """Print the database's schema revision."""
    from canonflow.db import migrate

    with open_runtime() as runtime:
        console.print(migrate.current_revision(runtime.engine) or "not migrated")


@app.command("summary-check")
def summary_check(
    repair: bool = typer.Option(
        False, "--repair", help="Set the counts again from the recorded states first."
    ),
) -> None:
    """Compare every tenant's kept matrix summary with a full scan of its mappings; exit 1
    where they differ (after --repair too)."""
    from canonflow.cli.common import unit_of_work
    from canonflow.matrix import counts, service
    from canonflow.tenancy import repository

    differing = 0
    with unit_of_work() as session:
        for tenant in repository.list_tenants(session):
            if repair:
                counts.rebuild(session, tenant.id)
            for difference in service.summary_differences(session, tenant.id):
                differing += 1
                console.print(f"{tenant.slug}/{difference['name']}: kept {difference['kept']}")
                console.print(f"{' ' * len(tenant.slug)}  scanned {difference['scanned']}")
    console.print(f"{differing} environment(s) differ" if differing else "the counts agree")
    if differing:
        raise typer.Exit(1)
