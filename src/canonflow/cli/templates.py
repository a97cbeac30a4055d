"""`canonflow templates` and `canonflow new SLUG --from TEMPLATE --set key=value ...`."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from canonflow.cli.common import (
    EXIT_BAD_INPUT,
    CliError,
    console,
    open_runtime,
    progress_task,
    unit_of_work,
)
from canonflow.cli.context import TenantOption, cli_principal

if TYPE_CHECKING:
    from canonflow.runtime import Runtime

_POLL_S = 0.2


def templates(tenant: TenantOption = "default") -> None:
    """The workflow templates under <workflows_dir>/_templates/, as the last repo sync read
    them (parameters marked * must be given; the others show their default)."""
    from canonflow.templates import service

    with unit_of_work() as session:
        rows = service.list_templates(session, cli_principal(session, tenant).tenant_id)
        table = Table("template", "name", "parameters", "description", "file")
        for row in rows:
            table.add_row(
                escape(row.slug), escape(row.name), escape(_parameters(row.parameters)),
                escape(row.description), escape(row.git_file_path),
            )  # fmt: skip
    if not rows:
        console.print("no templates: add <workflows_dir>/_templates/<slug>.json and sync the repo")
        return
    console.print(table)


def new(
    slug: Annotated[str, typer.Argument(help="The new canonical workflow's slug.")],
    template: Annotated[str, typer.Option("--from", help="The template's slug.")],
    values: Annotated[
        list[str] | None,
        typer.Option("--set", help="A parameter as key=value (repeat)."),
    ] = None,
    tenant: TenantOption = "default",
) -> None:
    """Write <workflows_dir>/SLUG.json from a template (pushed, or as a pull request, as the
    repository's commit mode says); the next repo sync makes it a canonical workflow."""
    from canonflow.db.engine import transaction
    from canonflow.templates import service

    parameters = parse_values(values or [])
    with open_runtime() as runtime:
        with transaction(runtime.sessions) as session:
            principal = cli_principal(session, tenant)
            job = service.instantiate_template(
                session, runtime.jobs, principal, template, slug=slug, parameters=parameters
            )
        finished = _wait(runtime, job.id)
    if finished["status"] != "succeeded":
        raise CliError(str(finished["error"] or finished["status"]))
    result = finished["result"] or {}
    console.print(
        f"{result['path']} ({result['name']}) from template {template}: {result['detail']}",
        highlight=False,
        markup=False,
    )


def parse_values(values: list[str]) -> dict[str, str]:
    parameters: dict[str, str] = {}
    for value in values:
        key, equals, text = value.partition("=")
        if not equals or not key.strip():
            raise CliError(f"--set {value!r}: write key=value", exit_code=EXIT_BAD_INPUT)
        if key.strip() in parameters:
            raise CliError(f"--set {key.strip()!r} is given twice", exit_code=EXIT_BAD_INPUT)
        parameters[key.strip()] = text
    return parameters


def _parameters(declared: list[dict[str, Any]]) -> str:
    return ", ".join(
        f"{p['name']}*" if p.get("required") else f"{p['name']}={p.get('default')}"
        for p in declared
    )


def _wait(runtime: Runtime, job_id: uuid.UUID) -> dict[str, Any]:
    from canonflow.db.engine import transaction
    from canonflow.db.models import BackgroundJob

    with progress_task("writing the workflow file") as progress:
        while True:
            with transaction(runtime.sessions) as session:
                job = session.get(BackgroundJob, job_id)
                assert job is not None
                progress(job.progress_done, job.progress_total)
                if job.status.finished:
                    return {"status": job.status.value, "result": job.result, "error": job.error}
            time.sleep(_POLL_S)
