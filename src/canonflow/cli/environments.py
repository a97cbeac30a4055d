"""`canonflow env`: add, list, test and remove n8n environments."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from canonflow.cli.common import CliError, console, runtime_and_session, unit_of_work
from canonflow.cli.context import TenantOption, cli_principal
from canonflow.cli.schedule import env_schedule
from canonflow.core.enums import EnvironmentKind

app = typer.Typer(help="n8n environments.", no_args_is_help=True)
app.command("schedule")(env_schedule)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="e.g. dev, staging, prod")],
    url: Annotated[str, typer.Option(help="Base URL of the n8n instance.")],
    api_key: Annotated[
        str,
        typer.Option(
            envvar="CANONFLOW_N8N_API_KEY",
            prompt=True,
            hide_input=True,
            help="The instance's API key (or CANONFLOW_N8N_API_KEY).",
        ),
    ],
    tenant: TenantOption = "default",
    kind: Annotated[
        EnvironmentKind, typer.Option(help="What the environment is.")
    ] = EnvironmentKind.OTHER,
    anchor: Annotated[bool, typer.Option("--anchor", help="Make it the tenant's anchor.")] = False,
    batch_size: Annotated[int, typer.Option(help="Mappings written per batch by a sync.")] = 100,
    promotion_order: Annotated[
        int | None,
        typer.Option(help="Where it stands in promotion (dev 1 -> staging 2 -> prod 3)."),
    ] = None,
) -> None:
    """Add an environment (its API key is encrypted at rest)."""
    from pydantic import ValidationError

    from canonflow.environments import service
    from canonflow.environments.schemas import EnvironmentCreate

    try:
        data = EnvironmentCreate(
            name=name,
            base_url=url,
            api_key=api_key,
            kind=kind,
            is_anchor=anchor,
            batch_size=batch_size,
            promotion_order=promotion_order,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise CliError(f"{first['loc'][0]}: {first['msg']}", exit_code=2) from None
    with runtime_and_session() as (runtime, session):
        environment = service.create(
            session,
            runtime.secrets,
            cli_principal(session, tenant),
            data,
            min_interval_s=runtime.settings.min_sync_interval_s,
        )
        console.print(f"environment {environment.name} added ({environment.id})")


@app.command("list")
def list_environments(tenant: TenantOption = "default") -> None:
    """List the tenant's environments."""
    from canonflow.environments import repository
    from canonflow.environments.windows import window_read

    with unit_of_work() as session:
        principal = cli_principal(session, tenant)
        table = Table(
            "name", "kind", "url", "anchor", "order", "protected", "writes", "last synced", "id"
        )
        for env in repository.list_all(session, principal.tenant_id):
            table.add_row(
                env.name,
                env.kind.value,
                env.base_url,
                "yes" if env.is_anchor else "",
                "" if env.promotion_order is None else str(env.promotion_order),
                "yes" if env.protected else "",
                _window_text(window_read(env)),
                f"{env.last_synced_at:%Y-%m-%d %H:%M:%S}" if env.last_synced_at else "never",
                str(env.id),
            )
        console.print(table)


@app.command("show")
def show(name: str, tenant: TenantOption = "default") -> None:
    """One environment: its protection, sync windows and whether writes are allowed now."""
    from canonflow.environments import service

    with unit_of_work() as session:
        principal = cli_principal(session, tenant)
        read = service.read(
            session, service.get_by_name_or_raise(session, principal.tenant_id, name)
        )
    lines = [
        f"environment {read.name} ({read.id})",
        f"url: {read.base_url}",
        f"protected: {'yes: writes wait for approval' if read.protected else 'no'}",
        f"writes: {_window_text(read.window)}",
    ]
    lines += [
        f"window {i}: {w.kind.value} {w.cron} for {w.duration_s}s ({w.timezone})"
        for i, w in enumerate(read.sync_windows)
    ]
    for line in lines:
        console.print(line, highlight=False, markup=False)


@app.command("govern")
def govern(
    name: str,
    protected: Annotated[
        bool | None,
        typer.Option("--protected/--unprotected", help="Writes into it need an approval."),
    ] = None,
    window: Annotated[
        list[str] | None,
        typer.Option(
            help="KIND|CRON|DURATION_S|TIMEZONE, e.g. 'deny|0 18 * * 1-5|50400|UTC' "
            "(repeat; replaces the windows)."
        ),
    ] = None,
    no_windows: Annotated[bool, typer.Option("--no-windows", help="Remove every window.")] = False,
    tenant: TenantOption = "default",
) -> None:
    """Protect an environment and set its sync windows (audited)."""
    from pydantic import ValidationError

    from canonflow.environments import service
    from canonflow.environments.schemas import EnvironmentUpdate

    windows = [] if no_windows else [_window(w) for w in window] if window else None
    try:
        data = EnvironmentUpdate(protected=protected, sync_windows=windows)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise CliError(f"{where}: {first['msg']}", exit_code=2) from None
    with runtime_and_session() as (runtime, session):
        principal = cli_principal(session, tenant)
        environment = service.get_by_name_or_raise(session, principal.tenant_id, name)
        fields = data.model_dump(exclude_none=True)
        service.update(
            session, runtime.secrets, principal, environment.id,
            EnvironmentUpdate.model_validate(fields),
            min_interval_s=runtime.settings.min_sync_interval_s,
        )  # fmt: skip
        read = service.read(session, environment)
    console.print(
        f"{name}: protected {'yes' if read.protected else 'no'}, "
        f"{len(read.sync_windows)} window(s), writes {_window_text(read.window)}",
        highlight=False,
        markup=False,
    )


def _window(text: str) -> dict[str, object]:
    parts = text.split("|")
    if len(parts) not in (3, 4):
        raise CliError(f"{text!r}: write KIND|CRON|DURATION_S[|TIMEZONE]", exit_code=2)
    kind, cron, duration, *zone = parts
    return {
        "kind": kind,
        "cron": cron,
        "duration_s": duration,
        "timezone": zone[0] if zone else "UTC",
    }


def _window_text(window: Any) -> str:
    if window is None:
        return "-"
    if window.open:
        until = f" until {window.next_change:%Y-%m-%d %H:%M} UTC" if window.next_change else ""
        return f"allowed{until}"
    when = f"{window.next_open:%Y-%m-%d %H:%M} UTC" if window.next_open else "none in sight"
    return f"refused (next allowed {when})"


@app.command("order")
def order(
    name: str,
    position: Annotated[
        str, typer.Argument(help="Its promotion order (e.g. dev 1, prod 3), or 'none'.")
    ],
    tenant: TenantOption = "default",
) -> None:
    """Set where the environment stands in promotion: promotions go from a lower order to a
    higher one."""
    from pydantic import ValidationError

    from canonflow.environments import service
    from canonflow.environments.schemas import EnvironmentUpdate

    try:
        value = None if position.lower() == "none" else int(position)
        data = EnvironmentUpdate(promotion_order=value)
    except (ValueError, ValidationError):
        raise CliError("the order is a whole number from 0 to 1000, or none", exit_code=2) from None
    with runtime_and_session() as (runtime, session):
        principal = cli_principal(session, tenant)
        environment = service.get_by_name_or_raise(session, principal.tenant_id, name)
        service.update(
            session, runtime.secrets, principal, environment.id, data,
            min_interval_s=runtime.settings.min_sync_interval_s,
        )  # fmt: skip
    console.print(f"environment {name}: promotion order {position}", highlight=False)


@app.command("test")
def test(name: str, tenant: TenantOption = "default") -> None:
    """Check that canonflow can list the environment's workflows with its key."""
    from canonflow.environments import service
    from canonflow.environments.connection import check_connection

    with runtime_and_session() as (runtime, session):
        principal = cli_principal(session, tenant)
        environment = service.get_by_name_or_raise(session, principal.tenant_id, name)
        access = service.access(session, runtime.secrets, environment)
    result = check_connection(access)
    if not result.ok:
        raise CliError(f"{name}: {result.detail}")
    console.print(f"{name}: {result.detail}")


@app.command("remove")
def remove(
    name: str,
    tenant: TenantOption = "default",
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove an environment and its mappings (canonical workflows stay)."""
    from canonflow.environments import service

    if not yes:
        typer.confirm(f"Remove environment {name} and all its mappings?", abort=True)
    with unit_of_work() as session:
        principal = cli_principal(session, tenant)
        environment = service.get_by_name_or_raise(session, principal.tenant_id, name)
        service.delete(session, principal, environment.id)
    console.print(f"environment {name} removed")
