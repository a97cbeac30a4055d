"""`canonflow ignore-rule`: list, add and remove the tenant's ignore rules
(docs/ignore-rules.md)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from canonflow.cli.common import CliError, console, open_runtime, unit_of_work
from canonflow.cli.context import TenantOption, cli_principal

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from canonflow.policy.schemas import IgnoreRuleIn, IgnoreRuleOut
    from canonflow.runtime import Runtime

app = typer.Typer(help="Ignore rules: paths left out of comparisons.", no_args_is_help=True)


@app.command("list")
def list_rules(tenant: TenantOption = "default") -> None:
    """List the tenant's ignore rules, numbered from 1."""
    from canonflow.policy import service

    with unit_of_work() as session:
        principal = cli_principal(session, tenant)
        rules = service.read_rules(session, principal.tenant_id).rules
        names = _environment_names(session, principal.tenant_id)
    if not rules:
        console.print("no ignore rules")
        return
    table = Table("#", "path", "workflows", "environments", "note")
    for number, rule in enumerate(rules, start=1):
        table.add_row(
            str(number),
            rule.path,
            ", ".join(rule.workflows) or "all",
            ", ".join(names.get(e, str(e)) for e in rule.environments) or "all",
            rule.note or "",
        )
    console.print(table)


@app.command("add")
def add(
    path: Annotated[str, typer.Argument(help="e.g. settings.timezone, TYPE:options.timeout")],
    workflow: Annotated[
        list[str] | None, typer.Option("--workflow", help="Only workflows whose slug matches.")
    ] = None,
    environment: Annotated[
        list[str] | None, typer.Option("--environment", help="Only in this environment (name).")
    ] = None,
    note: Annotated[str | None, typer.Option(help="Why the rule exists.")] = None,
    tenant: TenantOption = "default",
) -> None:
    """Add a rule at the end of the list."""
    from canonflow.db.engine import transaction
    from canonflow.environments import service as environments
    from canonflow.policy import service
    from canonflow.policy.schemas import IgnoreRuleIn

    with open_runtime() as runtime:
        with transaction(runtime.sessions) as session:
            principal = cli_principal(session, tenant)
            ids = [
                environments.get_by_name_or_raise(session, principal.tenant_id, name).id
                for name in environment or ()
            ]
            rules = _as_input(service.read_rules(session, principal.tenant_id).rules)
            rules.append(
                IgnoreRuleIn(path=path, workflows=workflow or [], environments=ids, note=note)
            )
            written = service.replace_rules(session, runtime.jobs, principal, rules)
        changed = _applied(runtime, written.job_id)
    console.print(f"ignore rule {written.rules[-1].path} added; {changed} cell(s) changed state")


@app.command("remove")
def remove(
    rule: Annotated[str, typer.Argument(help="Its number in `list`, or its path.")],
    tenant: TenantOption = "default",
) -> None:
    """Remove a rule (by number, or every rule with that path)."""
    from canonflow.db.engine import transaction
    from canonflow.policy import service

    with open_runtime() as runtime:
        with transaction(runtime.sessions) as session:
            principal = cli_principal(session, tenant)
            current = service.read_rules(session, principal.tenant_id).rules
            if rule.isdigit():
                number = int(rule)
                if not 1 <= number <= len(current):
                    raise CliError(f"no ignore rule number {number} (there are {len(current)})")
                kept = [r for i, r in enumerate(current, start=1) if i != number]
            else:
                kept = [r for r in current if r.path != rule]
                if len(kept) == len(current):
                    raise CliError(f"no ignore rule with path {rule!r}")
            written = service.replace_rules(session, runtime.jobs, principal, _as_input(kept))
        changed = _applied(runtime, written.job_id)
    console.print(
        f"removed {len(current) - len(kept)} ignore rule(s); {changed} cell(s) changed state"
    )


def _applied(runtime: Runtime, job_id: uuid.UUID) -> int:
    """Wait for the job applying the rules (this process runs it where nothing else
    would); the number of cells whose state changed."""
    from canonflow.cli.reconcile import wait_job

    job = wait_job(runtime, job_id, "applying the rules")
    if job["status"] != "succeeded":
        raise CliError(f"the rules are stored, but applying them failed: {job['error']}")
    return int((job["result"] or {}).get("state_changes", 0))


def _as_input(rules: list[IgnoreRuleOut]) -> list[IgnoreRuleIn]:
    from canonflow.policy.schemas import IgnoreRuleIn

    return [IgnoreRuleIn.model_validate(r.model_dump()) for r in rules]


def _environment_names(session: Session, tenant_id: uuid.UUID) -> dict[uuid.UUID, str]:
    from sqlalchemy import select

    from canonflow.db.models import Environment

    rows = session.execute(
        select(Environment.id, Environment.name).where(Environment.tenant_id == tenant_id)
    )
    return {row.id: row.name for row in rows}
