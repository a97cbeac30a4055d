"""`canonflow serve` and `canonflow secret-key`."""

from __future__ import annotations

from typing import Annotated

import typer

from canonflow.cli.common import console, load_settings


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (CANONFLOW_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (CANONFLOW_PORT).")] = None,
) -> None:
    """Migrate the database, then serve the API, its docs and the UI."""
    import uvicorn

    from canonflow.app import create_app
    from canonflow.bootstrap import ensure_first_tenant
    from canonflow.db import migrate
    from canonflow.db.engine import transaction
    from canonflow.runtime import build_runtime

    settings = load_settings()
    runtime = build_runtime(settings, scheduler=True)
    try:
        migrate.upgrade(runtime.engine)
        runtime.runner.start_worker()  # on PostgreSQL, if CANONFLOW_EMBEDDED_WORKER
        if settings.bootstrap_admin:
            with transaction(runtime.sessions) as session:
                first = ensure_first_tenant(session)
            if first is not None:
                _show_first_token(first.tenant_slug, first.admin_token)
        runtime.runner.recover()
        # serve keeps schedules: the loop on SQLite, the embedded worker's tick on PostgreSQL
        app = create_app(runtime=runtime, scheduler=True)
        bind_host, bind_port = host or settings.host, port or settings.port
        console.print(f"canonflow on http://{bind_host}:{bind_port} (API docs at /docs)")
        uvicorn.run(app, host=bind_host, port=bind_port, log_level="warning", access_log=False)
    finally:
        runtime.close()


def _show_first_token(tenant: str, token: str) -> None:
    console.rule("first start")
    console.print(f"Created tenant '{tenant}' and an admin API token. It is shown only now:")
    console.print(f"\n    {token}\n", highlight=False)
    console.print("Use it as 'Authorization: Bearer <token>'. Store it somewhere safe.")
    console.rule()


def secret_key() -> None:
    """Print a new random key for CANONFLOW_SECRET_KEY."""
    from canonflow.crypto import generate_key

    typer.echo(generate_key())
