"""`canonflow workflows` (the catalogue as a table) and `canonflow show SLUG` (one workflow:
its cells, its last events, its state per day as a sparkline per environment)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from canonflow.cli.common import CliError, console, unit_of_work
from canonflow.cli.context import TenantOption, cli_principal
from canonflow.cli.matrix import SYMBOLS

#: a day's state as one character: low is good, high needs a look; space: no cell yet.
SPARK = {
    "in_sync": "▁",
    "out_of_date": "▃",
    "draft_pending": "▃",
    "unknown": "▄",
    "untracked": "▄",
    "ignored": "▂",
    "drift": "▆",
    "missing": "▆",
    "orphaned": "▇",
    "conflict": "█",
    "deleted": "·",
}
SPARK_DAYS = 14


def workflows(
    q: Annotated[str | None, typer.Option("--q", help="Name or slug contains.")] = None,
    state: Annotated[str | None, typer.Option(help="Workflows with a cell in this state.")] = None,
    tag: Annotated[str | None, typer.Option(help="With this n8n tag in the anchor.")] = None,
    deleted: Annotated[bool, typer.Option("--deleted", help="Deleted ones only.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    tenant: TenantOption = "default",
) -> None:
    """List canonical workflows with their cells' counts per state."""
    from canonflow.catalogue import service
    from canonflow.catalogue.queries import CatalogueFilter
    from canonflow.catalogue.states import CELL_STATES

    if state is not None and state not in CELL_STATES:
        raise CliError(f"unknown state {state!r}: use {', '.join(CELL_STATES)}", 2)
    with unit_of_work() as session:
        principal = cli_principal(session, tenant)
        filters = CatalogueFilter(q, None, deleted, None, tag, state)
        page = service.page(session, principal.tenant_id, filters, after=None, limit=limit)
    table = Table("slug", "name", "hash", "in Git", "cells")
    for item in page.items:
        table.add_row(
            item["slug"],
            item["name"],
            item["content_hash_short"] or "",
            "yes" if item["git_commit"] else "no",
            _counts(item["states"]),
        )
    console.print(table)
    more = " (more: raise --limit or use the API's cursor)" if page.next_after else ""
    console.print(f"{len(page.items)} workflows{more}", highlight=False)


def show(
    slug: Annotated[str, typer.Argument(help="The canonical workflow's slug.")],
    tenant: TenantOption = "default",
) -> None:
    """Show one canonical workflow: its cells, last events and state per day."""
    from canonflow.catalogue import service
    from canonflow.errors import NotFound

    with unit_of_work() as session:
        principal = cli_principal(session, tenant)
        try:
            workflow = service.get(session, principal.tenant_id, slug=slug)
        except NotFound:
            raise CliError(f"no canonical workflow with slug {slug!r}", 1) from None
        series = service.daily_states(session, principal.tenant_id, workflow, days=SPARK_DAYS)
    gone = " (deleted in Git)" if workflow["deleted"] else ""
    console.print(f"[bold]{workflow['name']}[/] ({workflow['slug']}){gone}", highlight=False)
    console.print(
        f"hash {workflow['content_hash_short'] or '-'}  file {workflow['git_file_path'] or '-'}"
        f"  commit {(workflow['git_commit'] or '-')[:12]}",
        highlight=False,
    )
    table = Table("environment", "cell", "n8n id", f"last {SPARK_DAYS} days", "last synced")
    for cell in workflow["environments"]:
        symbol, style = SYMBOLS[cell["state"] or cell["status"]]
        line = series.get(cell["environment_id"])
        synced = cell["last_synced_at"]
        table.add_row(
            cell["environment"],
            f"[{style}]{symbol}[/]",
            cell["n8n_workflow_id"] or "",
            _spark(line) if line else "",
            synced.strftime("%Y-%m-%d %H:%M") if synced else "never",
        )
    console.print(table)
    names = {c["environment_id"]: c["environment"] for c in workflow["environments"]}
    for event in workflow["events"][:10]:
        console.print(
            f"{event['at']:%Y-%m-%d %H:%M}  {names.get(event['environment_id'], '?')}: "
            f"{event['from_status'] or 'new'} → {event['to_status']}",
            highlight=False,
        )


def _counts(states: dict[str, int]) -> str:
    return "  ".join(f"[{SYMBOLS[s][1]}]{SYMBOLS[s][0]}[/] {n}" for s, n in states.items())


def _spark(series: list[Any]) -> str:
    return "".join(SPARK.get(state, " ") if state else " " for state in series)
