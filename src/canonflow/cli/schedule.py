"""`canonflow env schedule` and `canonflow schedule`: set and list sync schedules."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from canonflow.cli.common import CliError, console, load_settings, unit_of_work
from canonflow.cli.context import TenantOption, cli_principal


def env_schedule(
    name: Annotated[str, typer.Argument(help="The environment, e.g. prod.")],
    every: Annotated[
        str | None,
        typer.Option("--every", help="Interval: 30s, 15m, 1h (0: manual syncs only)."),
    ] = None,
    pause: Annotated[bool, typer.Option("--pause", help="Stop scheduled syncs.")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Start them again.")] = False,
    tenant: TenantOption = "default",
) -> None:
    """Set how often an environment is synced by itself, or pause or resume that."""
    from canonflow.core.schedule import format_interval, parse_interval
    from canonflow.crypto import build_secret_box
    from canonflow.environments import service
    from canonflow.environments.schemas import EnvironmentUpdate

    if pause and resume:
        raise CliError("--pause and --resume exclude each other", exit_code=2)
    if every is None and not (pause or resume):
        raise CliError("say --every INTERVAL, --pause or --resume", exit_code=2)
    try:
        interval = None if every is None else parse_interval(every)
    except ValueError as exc:
        raise CliError(str(exc), exit_code=2) from None
    data = EnvironmentUpdate(
        sync_interval_s=interval, paused=True if pause else (False if resume else None)
    )
    settings = load_settings()
    with unit_of_work() as session:
        principal = cli_principal(session, tenant)
        environment = service.get_by_name_or_raise(session, principal.tenant_id, name)
        service.update(
            session,
            build_secret_box(settings),
            principal,
            environment.id,
            data,
            min_interval_s=settings.min_sync_interval_s,
        )
        state = "paused" if environment.paused else f"next sync {_when(environment.next_sync_at)}"
        console.print(
            f"environment {name}: every {format_interval(environment.sync_interval_s)}, {state}"
        )


def schedule(tenant: TenantOption = "default") -> None:
    """List the tenant's schedules, the next due first."""
    from canonflow.core.schedule import format_interval
    from canonflow.environments import repository, scheduling
    from canonflow.repo import service as repo_service

    with unit_of_work() as session:
        principal = cli_principal(session, tenant)
        environments = repository.list_all(session, principal.tenant_id)
        last = scheduling.last_syncs(session, principal.tenant_id, (e.id for e in environments))
        rows = [
            (
                e.next_sync_at,
                e.name,
                format_interval(e.sync_interval_s),
                "yes" if e.paused else "",
                last[e.id].outcome if e.id in last else "never synced",
            )
            for e in environments
        ]
        repo = repo_service.get(session, principal.tenant_id)
        if repo is not None:
            rows.append(
                (
                    repo.next_sync_at,
                    "(repository)",
                    format_interval(repo.sync_interval_s),
                    "yes" if repo.paused else "",
                    "synced" if repo.last_synced_at else "never synced",
                )
            )
    table = Table("environment", "next sync", "every", "paused", "last outcome")
    for due, name, every, paused, outcome in sorted(rows, key=_next_first):
        table.add_row(name, _when(due), every, paused, outcome)
    console.print(table)


def _next_first(row: tuple[datetime | None, str, str, str, str]) -> tuple[bool, str, str]:
    return (row[0] is None, row[0].isoformat() if row[0] else "", row[1])


def _when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S} UTC" if at else "not scheduled"
