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
