"""`canonflow notifications`: webhook destinations, a test send, the delivery log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from canonflow.cli.common import CliError, console, runtime_and_session, unit_of_work
from canonflow.cli.context import TenantOption, cli_principal

app = typer.Typer(
    help="Webhook destinations for events (drift, conflict, failed syncs, applies).",
    no_args_is_help=True,
)


@app.command("list")
def list_destinations(tenant: TenantOption = "default") -> None:
    """The destinations (secrets never shown: `secret: set`)."""
    from canonflow.notifications import service

    with unit_of_work() as session:
        principal = cli_principal(session, tenant)
        destinations = service.list_destinations(session, principal.tenant_id)
        rows = [service.read(d) for d in destinations]
    if not rows:
        console.print("no notification destinations")
    for row in rows:
        secret = "secret: set" if row.has_secret else "no secret"
        console.print(
            f"{row.id}  {row.kind:<7} {row.url}  [{', '.join(row.events)}]  {secret}",
            highlight=False,
        )


@app.command("set")
def set_destinations(
    file: Annotated[Path, typer.Argument(help='JSON: {"destinations": [{url, kind, ...}]}')],
    tenant: TenantOption = "default",
) -> None:
    """Replace the destinations with FILE's (an `id` without `secret` keeps its secret)."""
    from pydantic import ValidationError

    from canonflow.notifications import service
    from canonflow.notifications.schemas import NotificationsPut

    try:
        data = NotificationsPut.model_validate(json.loads(file.read_text()))
    except OSError as exc:
        raise CliError(f"{file}: {exc.strerror}", exit_code=2) from None
    except json.JSONDecodeError as exc:
        raise CliError(f"{file}: not JSON ({exc.msg}, line {exc.lineno})", exit_code=2) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise CliError(f"{file}: {where}: {first['msg']}", exit_code=2) from None
    with runtime_and_session() as (runtime, session):
        rows = service.put(session, runtime.secrets, cli_principal(session, tenant), data)
        count = len(rows)
    console.print(f"{count} notification destination(s) set")


@app.command("test")
def send_test(
    destination: Annotated[
        str | None, typer.Option(help="One destination's id (default: every destination).")
    ] = None,
    tenant: TenantOption = "default",
) -> None:
    """Send a `test` event through the delivery job, and wait for it."""
    import uuid

    from canonflow.db.engine import transaction
    from canonflow.db.models import BackgroundJob
    from canonflow.notifications import service

    try:
        destination_id = uuid.UUID(destination) if destination else None
    except ValueError:
        raise CliError(f"--destination: not an id: {destination!r}", exit_code=2) from None
    with runtime_and_session() as (runtime, session):
        job_id = service.send_test(
            session, runtime.jobs, cli_principal(session, tenant), destination_id
        )
        session.commit()
        runtime.runner.wait(job_id, timeout=600)
        with transaction(runtime.sessions) as reader:
            job = reader.get(BackgroundJob, job_id)
            assert job is not None
            status, error, result = job.status.value, job.error, job.result or {}
    for outcome in result.get("destinations", []):
        console.print(
            f"{outcome['destination_id']}: {outcome['status']} after {outcome['attempts']} "
            "attempt(s)",
            highlight=False,
        )
    if error:
        raise CliError(error)
    console.print(f"test notification job {job_id}: {status}")


@app.command("deliveries")
def deliveries(
    limit: Annotated[int, typer.Option(min=1, max=200)] = 20,
    event: Annotated[str | None, typer.Option(help="Only this event.")] = None,
    status: Annotated[str | None, typer.Option(help="delivered, retrying or failed.")] = None,
    tenant: TenantOption = "default",
) -> None:
    """The newest delivery attempts."""
    from canonflow.notifications import service

    with unit_of_work() as session:
        principal = cli_principal(session, tenant)
        rows = service.deliveries_page(
            session, principal.tenant_id, limit=limit, event=event, status=status
        )
        lines = [
            f"{r.created_at:%Y-%m-%d %H:%M:%S}  {r.event:<18} #{r.attempt} {r.status:<9} "
            f"{r.http_status or '-'}  {r.error or ''}"
            for r in rows
        ]
    if not lines:
        console.print("no deliveries")
    for line in lines:
        console.print(line, highlight=False)
