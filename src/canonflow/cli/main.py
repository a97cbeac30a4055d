"""Entry point of the `canonflow` command."""

from __future__ import annotations

import typer

from canonflow.cli import (
    catalogue,
    db,
    environments,
    governance,
    hashing,
    ignore_rules,
    linking,
    matrix,
    notifications,
    onboarding,
    promotion,
    reconcile,
    repo,
    schedule,
    server,
    sync,
    templates,
    tenants,
    worker,
)
from canonflow.cli.common import report_and_exit

app = typer.Typer(
    name="canonflow",
    help="A Git-backed control plane for n8n workflows across environments.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(tenants.tenant_app, name="tenant")
app.add_typer(tenants.token_app, name="token")
app.add_typer(environments.app, name="env")
app.add_typer(sync.app, name="sync")
app.add_typer(repo.app, name="repo")
app.add_typer(notifications.app, name="notifications")
app.add_typer(ignore_rules.app, name="ignore-rule")
app.command("worker")(worker.worker)
app.command("onboard")(onboarding.onboard)
app.command("matrix")(matrix.matrix)
app.command("workflows")(catalogue.workflows)
app.command("show")(catalogue.show)
app.command("untracked")(linking.untracked)
app.command("link")(linking.link)
app.command("hash")(hashing.hash_files)
app.command("reconcile")(reconcile.reconcile)
app.command("diff")(reconcile.diff)
app.command("versions")(reconcile.versions)
app.command("deploy")(reconcile.deploy)
app.command("snapshots")(reconcile.snapshots)
app.command("restore")(reconcile.restore)
app.command("promote")(promotion.promote)
app.command("promotions")(promotion.promotions)
app.command("approvals")(governance.approvals)
app.add_typer(governance.approval_app, name="approval")
app.command("schedule")(schedule.schedule)
app.command("templates")(templates.templates)
app.command("new")(templates.new)
app.command("serve")(server.serve)
app.command("secret-key")(server.secret_key)


def main() -> None:
    """Run the command; any failure ends as one line on stderr, never a traceback."""
    try:
        app()
    except Exception as exc:
        report_and_exit(exc)
