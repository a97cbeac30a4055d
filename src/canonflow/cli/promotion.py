"""`canonflow promote` and `canonflow promotions`."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from canonflow.cli.common import CliError, console, open_runtime, unit_of_work
from canonflow.cli.context import TenantOption, cli_principal
from canonflow.cli.reconcile import canonical_id_of, environment_id_of, wait_job


def promote(
    from_env: Annotated[str, typer.Option("--from", help="The source environment, by name.")],
    to_env: Annotated[str, typer.Option("--to", help="The target environment, by name.")],
    workflow: Annotated[
        list[str] | None,
        typer.Option("--workflow", help="A canonical workflow to promote, by slug (repeat)."),
    ] = None,
    all_changed: Annotated[
        bool,
        typer.Option("--all-changed", help="Every workflow whose source version differs."),
    ] = False,
    apply: Annotated[
        bool, typer.Option("--apply", help="Start the promotion (default: the dry run).")
    ] = False,
    window_override: Annotated[
        str | None,
        typer.Option(help="Admin only: promote outside the target's sync window (the reason)."),
    ] = None,
    tenant: TenantOption = "default",
) -> None:
    """Promote workflows from one environment to a later one: the dry run (a table), or
    with --apply the promotion (its id, its job and its state)."""
    from pydantic import ValidationError

    from canonflow.db.engine import transaction
    from canonflow.db.models import Approval
    from canonflow.governance.approvals import waiting_for
    from canonflow.promotion import service
    from canonflow.promotion.schemas import PromotionPlanRead, PromotionRequest

    if bool(workflow) == all_changed:
        raise CliError("name workflows with --workflow, or pass --all-changed", exit_code=2)
    with open_runtime() as runtime:
        with transaction(runtime.sessions) as session:
            principal = cli_principal(session, tenant)
            try:
                request = PromotionRequest(
                    from_environment_id=environment_id_of(session, principal, from_env),
                    to_environment_id=environment_id_of(session, principal, to_env),
                    canonical_ids=[canonical_id_of(session, principal, s) for s in workflow]
                    if workflow
                    else None,
                    all_changed=all_changed,
                    dry_run=not apply,
                    window_override=window_override,
                )
            except ValidationError as exc:
                raise CliError(str(exc.errors()[0]["msg"]), exit_code=2) from None
            outcome = service.promote(session, runtime.jobs, principal, request)
            if isinstance(outcome, PromotionPlanRead):
                _print_plan(outcome)
                return
            if isinstance(outcome, Approval):
                console.print(
                    f"waiting for approval {outcome.id}: {waiting_for(outcome)}",
                    highlight=False,
                    markup=False,
                )
                return
            promotion, job = outcome
            promotion_id, job_id = promotion.id, job.id
        console.print(f"promotion {promotion_id}, job {job_id}", highlight=False)
        finished = wait_job(runtime, job_id, "promoting")
    _print_outcome(finished)


def promotions(
    state: Annotated[str | None, typer.Option(help="Only promotions in this state.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    tenant: TenantOption = "default",
) -> None:
    """The tenant's promotions, newest first."""
    from canonflow.promotion import service
    from canonflow.promotion.schemas import PromotionState

    try:
        wanted = PromotionState(state) if state else None
    except ValueError:
        states = ", ".join(s.value for s in PromotionState)
        raise CliError(f"--state is one of {states}", exit_code=2) from None
    with unit_of_work() as session:
        principal = cli_principal(session, tenant)
        table = Table("id", "from", "to", "state", "workflows", "pull request", "created")
        for p in service.list_page(session, principal.tenant_id, limit=limit, state=wanted):
            table.add_row(
                str(p.id), p.from_environment, p.to_environment, p.state,
                ", ".join(escape(i["slug"]) for i in p.items), p.pr_url or "",
                f"{p.created_at:%Y-%m-%d %H:%M:%S}",
            )  # fmt: skip
        console.print(table)


def _print_plan(plan: Any) -> None:
    console.print(
        f"promotion {plan.from_environment} -> {plan.to_environment} "
        f"(commit mode {plan.commit_mode}):",
        highlight=False,
    )
    table = Table("workflow", "commit", "deploy", "diff", "blockers")
    for item in plan.items:
        name = escape(item.slug) + (f" ({item.included_because})" if item.included_because else "")
        blockers = "; ".join(f"{b.kind}: {b.detail}" for b in item.blockers)
        table.add_row(
            name, escape(item.commit), item.deploy, escape(item.diff_summary), escape(blockers)
        )
    console.print(table)
    if not plan.items:
        console.print("nothing differs: nothing to promote", highlight=False)
    elif plan.blocked:
        console.print("blocked: resolve the blockers, then promote again", highlight=False)
    else:
        console.print("dry run: start it with --apply", highlight=False)


def _print_outcome(job: dict[str, Any]) -> None:
    result = job["result"] or {}
    for phase in ("commit", "deploy"):
        for item in (result.get("results") or {}).get(phase, {}).values():
            if item["result"] not in ("applied", "proposed"):
                console.print(
                    f"  {item['label']}: {phase} {item['result']}: {item['detail']}",
                    highlight=False,
                    markup=False,
                )
    if job["status"] != "succeeded":
        raise CliError(str(job["error"]))
    message = result.get("message") or result.get("state") or "done"
    if result.get("state") == "failed":
        raise CliError(f"promotion failed: {message}")
    console.print(f"{result.get('state')}: {message}", highlight=False, markup=False)
