"""`canonflow templates` and `canonflow new`, run as the real command against real Git."""

from __future__ import annotations

from sqlalchemy import select

from canonflow.config import Settings
from canonflow.db.engine import transaction
from canonflow.db.models import Tenant
from tests.cli.helpers import cli_env, run_cli
from tests.templates.conftest import WithTemplate


def _tenant(templated: WithTemplate) -> list[str]:
    e = templated.linked.e
    with transaction(e.runtime.sessions) as session:
        slug = session.scalar(select(Tenant.slug).where(Tenant.id == e.tenant_id))
    return ["--tenant", str(slug)]


def test_templates_lists_and_new_writes_the_file(
    templated: WithTemplate, settings: Settings
) -> None:
    env, tenant = cli_env(settings), _tenant(templated)
    listed = run_cli("templates", *tenant, env=env)
    assert listed.returncode == 0, listed.stderr
    assert "alert" in listed.stdout and "Alert {{ team }}" in listed.stdout
    assert "team*, level=warning" in listed.stdout
    assert "workflows/_templates/alert.json" in listed.stdout

    made = run_cli(
        "new", "alert-search", "--from", "alert", "--set", "team=search", "--set",
        "level=low = fine", *tenant, env=env,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().startswith(
        "workflows/alert-search.json (Alert search) from template alert: committed to main"
    ), made.stdout
    written = templated.linked.git_file("alert-search")
    set_node = next(n for n in written["nodes"] if n["name"] == "Set")
    assert set_node["parameters"]["assignments"]["assignments"][0]["value"] == (
        "for search at low = fine"
    )


def test_bad_input_is_one_line_with_exit_code_2(
    templated: WithTemplate, settings: Settings
) -> None:
    env, tenant = cli_env(settings), _tenant(templated)
    for args, message in (
        (["new", "x", "--from", "nope"], "no template 'nope'"),
        (["new", "x", "--from", "alert"], "parameter 'team' is missing and has no default"),
        (["new", "x", "--from", "alert", "--set", "team"], "--set 'team': write key=value"),
        (["new", "x", "--from", "alert", "--set", "a=1", "--set", "a=2"], "given twice"),
        (["new", "x", "--from", "alert", "--set", "team=x", "--set", "tam=y"], "'tam' is not"),
        (["new", "orders", "--from", "alert", "--set", "team=x"], "the slug 'orders' is taken"),
        (["new", "Not A Slug", "--from", "alert", "--set", "team=x"], "not a canonical slug"),
    ):
        result = run_cli(*args, *tenant, env=env)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert result.stderr.strip().count("\n") == 0, result.stderr
        assert message in result.stderr, (args, result.stderr)
