"""`canonflow matrix`: canonical workflows x environments as a Rich table.

Every state has a colour and a symbol, so the table reads without colour too.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from canonflow.cli.common import CliError, console, unit_of_work
from canonflow.cli.context import TenantOption, cli_principal

#: cell → (symbol, Rich style); linked cells by derived state, others by stored status.
SYMBOLS = {
    "in_sync": ("✓ in sync", "green"),
    "draft_pending": ("✎ draft pending", "purple"),  # n8n 2.x: a draft it does not run
    "drift": ("~ drift", "yellow"),
    "out_of_date": ("↓ out of date", "cyan"),
    "conflict": ("✗ conflict", "bold red"),
    "unknown": ("? unknown", "dim"),
    "orphaned": ("⊘ orphaned", "bold magenta"),  # deleted in Git, still in n8n
    "missing": ("! missing", "magenta"),
    "ignored": ("- ignored", "dim"),
    "deleted": ("x deleted", "dim"),
    "untracked": ("+ untracked", "blue"),
    "absent": ("· absent", "dim"),
}


def matrix(
    env: Annotated[list[str] | None, typer.Option(help="Only these environments.")] = None,
    status: Annotated[
        list[str] | None, typer.Option(help="Rows with a cell of this status (or absent).")
    ] = None,
    state: Annotated[list[str] | None, typer.Option(help="Rows with a cell in this state.")] = None,
    search: Annotated[str | None, typer.Option(help="Name contains (any case).")] = None,
    problems: Annotated[
        bool, typer.Option("--problems", help="Only rows not in sync everywhere.")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    tenant: TenantOption = "default",
) -> None:
    """Show canonical workflows x environments, with each cell's state."""
    from canonflow.core.status import MappingStatus
    from canonflow.core.sync_state import SyncState
    from canonflow.environments import service as environments
    from canonflow.matrix import service
    from canonflow.matrix.queries import ABSENT, MatrixFilter

    statuses = tuple(status or ())
    known = {s.value for s in MappingStatus} | {ABSENT}
    for value in statuses:
        if value not in known:
            raise CliError(f"unknown status {value!r}: use {', '.join(sorted(known))}", 2)
    try:
        states = tuple(SyncState(value) for value in state or ())
    except ValueError as exc:
        raise CliError(f"{exc}: use {', '.join(s.value for s in SyncState)}", 2) from None
    with unit_of_work() as session:
        principal = cli_principal(session, tenant)
        ids = [
            environments.get_by_name_or_raise(session, principal.tenant_id, n).id for n in env or ()
        ]
        columns = service.environments_of(session, principal.tenant_id, ids)
        filters = MatrixFilter(statuses, states, search, problems)
        page = service.page(session, principal.tenant_id, columns, filters, after=None, limit=limit)
    table = Table("workflow", *(e.name for e in columns))
    for row in page.workflows:
        cells = [_cell(row["environments"][str(e.id)]) for e in columns]
        name = row["name"] + (" (deleted in Git)" if row["deleted_in_git"] else "")
        table.add_row(name, *cells)
    console.print(table)
    more = " (more: raise --limit or use the API's cursor)" if page.next_after else ""
    console.print(f"{len(page.workflows)} workflows{more}", highlight=False)


def _cell(cell: dict[str, Any]) -> str:
    """The cell's symbol and text; `+ draft` where n8n 2.x holds a draft it does not run
    and the state is another (`draft_pending` says it by itself)."""
    symbol, style = SYMBOLS[cell["state"] or cell["status"]]
    draft = cell.get("draft_pending") and cell["state"] not in (None, "draft_pending")
    return f"[{style}]{symbol}[/]" + (" [purple]+ draft ✎[/]" if draft else "")
