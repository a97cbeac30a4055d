"""`canonflow approvals` and `canonflow approval approve|reject`: writes into protected
environments waiting for an admin other than the requester."""

from __future__ import annotations

import uuid
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from canonflow.cli.common import CliError, console, open_runtime, unit_of_work
from canonflow.cli.context import TenantOption, cli_principal

approval_app = typer.Typer(help="Decide an approval.", no_args_is_help=True)
CommentOption = Annotated[str | None, typer.Option(help="Why (stored with the decision).")]


def approvals(
    status: Annotated[
        str | None, typer.Option(help="pending, approved, rejected or cancelled.")
    ] = "pending",
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    tenant: TenantOption = "default",
) -> None:
    """Approvals, newest first: what each writes where, and who it waits for."""
    from canonflow.db.models import ApprovalStatus
    from canonflow.governance import approvals as service

    try:
        wanted = ApprovalStatus(status) if status and status != "all" else None
    except ValueError:
        raise CliError("--status is pending, approved, rejected, cancelled or all", 2) from None
    with unit_of_work() as session:
        principal = cli_principal(session, tenant)
        rows = service.list_page(session, principal.tenant_id, limit=limit, status=wanted)
        found = service.read_all(session, rows)
    table = Table("id", "requested", "by", "status", "environments", "what", "waiting for")
    for a in found:
        table.add_row(
            str(a.id), f"{a.requested_at:%Y-%m-%d %H:%M}", escape(a.requested_by),
            a.status.value, escape(", ".join(a.environments)), escape(a.summary),
            escape(a.waiting_for or f"{a.status.value} by {a.decided_by}"),
        )  # fmt: skip
    console.print(table)


@approval_app.command("approve")
def approve(
    approval_id: Annotated[str, typer.Argument(help="The approval's id.")],
    comment: CommentOption = None,
    window_override: Annotated[
        str | None, typer.Option(help="Start it though a sync window is closed: the reason.")
    ] = None,
    tenant: TenantOption = "default",
) -> None:
    """Approve it (an admin other than the requester) and run its write as a job, with a
    progress bar."""
    from canonflow.cli.reconcile import print_job, wait_job
    from canonflow.db.engine import transaction
    from canonflow.governance import approvals as service

    with open_runtime() as runtime:
        with transaction(runtime.sessions) as session:
            principal = cli_principal(session, tenant)
            approval = service.approve(
                session, runtime.jobs, principal, _id(approval_id),
                comment=comment, window_override=window_override,
            )  # fmt: skip
            job_id = approval.job_id
        assert job_id is not None
        console.print(f"approved {approval_id}: job {job_id} started", highlight=False)
        print_job(wait_job(runtime, job_id, "applying"))


@approval_app.command("reject")
def reject(
    approval_id: Annotated[str, typer.Argument(help="The approval's id.")],
    comment: CommentOption = None,
    tenant: TenantOption = "default",
) -> None:
    """Reject it (or withdraw one's own request: cancelled). Nothing is written."""
    from canonflow.governance import approvals as service

    with unit_of_work() as session:
        principal = cli_principal(session, tenant)
        approval = service.reject(session, principal, _id(approval_id), comment=comment)
        read = service.read_all(session, [approval])[0]
    console.print(f"{read.status.value} {read.id}", highlight=False)


def _id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise CliError(f"{text!r} is not an approval id", exit_code=2) from None
