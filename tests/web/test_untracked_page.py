"""The untracked page on a real onboarded estate (two real n8n instances, a real Git
remote): reasons and suggestions, link / ignore / un-ignore through the preview, roles,
CSRF, tenants, and the bulk link without JavaScript."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from canonflow.core.status import MappingStatus
from canonflow.db.engine import transaction
from canonflow.db.models import Environment, Tenant, WorkflowEnvMap
from canonflow.onboarding.inventory import run_inventory
from canonflow.runtime import Runtime
from tests.web.conftest import Tokens, csrf_of, sign_in, signed_in
from tests.web.estate import UNTRACKED_IN_DEV, AcmeEstate, acme_estate

__all__ = ["acme_estate"]  # the fixture, for pytest


@pytest.fixture
def onboarded(acme_estate: AcmeEstate) -> AcmeEstate:
    result = run_inventory(
        acme_estate.runtime.sessions, acme_estate.runtime.secrets, tenant_id=acme_estate.tenant_id
    )
    assert sorted(e["name"] for e in _unlinked(result.as_dict())) == list(UNTRACKED_IN_DEV)
    return acme_estate


def _unlinked(result: dict[str, object]) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    for environment in result["environments"]:  # type: ignore[attr-defined]
        found += environment.get("untracked_listed", [])
    return found


def _row(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.locator("tr", has=page.get_by_text(name, exact=True))


def test_reasons_and_suggestions_then_link_ignore_and_unignore(
    base: str, tokens: Tokens, onboarded: AcmeEstate, ui_page: Page
) -> None:
    page = ui_page
    sign_in(page, base, tokens.operator, next_path="/untracked")
    expect(page.locator("h2", has_text="dev")).to_be_visible()
    expect(page.locator("table.untracked tbody tr")).to_have_count(3)

    dup = _row(page, "Dup Name")
    expect(dup.locator("td.reason")).to_have_attribute("data-reason", "ambiguous_name")
    expect(dup.locator("td.suggestions li")).to_have_count(2)
    expect(dup.locator("td.suggestions")).to_contain_text("same name")
    report = _row(page, "Report C")
    expect(report.locator("td.reason")).to_have_attribute("data-reason", "ambiguous_body")
    expect(report.locator("td.suggestions li", has_text="same body")).to_have_count(2)
    expect(report.locator("td.suggestions")).to_contain_text("Report B")
    lonely = _row(page, "Dev Only")
    expect(lonely.locator("td.reason")).to_have_attribute("data-reason", "no_match")
    expect(lonely.locator("td.suggestions")).to_contain_text("none")

    # link Report C to Report B: the preview names the count before anything runs
    report.get_by_label("select Report C").check()
    report.get_by_role("radio", name=re.compile("Report B")).check()
    page.get_by_role("button", name="Link to the chosen suggestion…").click()
    expect(page.locator(".plan-summary")).to_contain_text("1 workflow will change")
    expect(page.locator("table")).to_contain_text("links to Report B")
    assert onboarded.mapping(onboarded.dev_id, "Report C").status is MappingStatus.UNTRACKED
    page.get_by_role("button", name=re.compile(r"1 workflow$")).click()
    expect(page.locator("#notice")).to_contain_text("Linked 1 workflow")
    expect(page.locator("table.untracked tbody tr")).to_have_count(2)
    linked = onboarded.mapping(onboarded.dev_id, "Report C")
    assert linked.status is MappingStatus.LINKED and linked.canonical_id is not None

    # ignore Dev Only
    _row(page, "Dev Only").get_by_label("select Dev Only").check()
    page.get_by_role("button", name="Ignore…").click()
    expect(page.locator(".plan-summary")).to_contain_text("1 workflow will change")
    page.get_by_role("button", name=re.compile(r"^Ignore: 1 workflow$")).click()
    expect(page.locator("#notice")).to_contain_text("Ignored 1 workflow")
    expect(_row(page, "Dev Only")).to_have_count(0)
    assert onboarded.mapping(onboarded.dev_id, "Dev Only").status is MappingStatus.IGNORED

    # the ignored ones, by the filter (htmx swaps the list and keeps the URL bookmarkable)
    page.get_by_label("Show").select_option("ignored")
    expect(page).to_have_url(re.compile(r"show=ignored"))
    expect(page.locator("h1")).to_contain_text("Untracked")  # the page, only the list swapped
    ignored = _row(page, "Dev Only")
    expect(ignored).to_be_visible()
    ignored.get_by_label("select Dev Only").check()
    page.get_by_role("button", name="Un-ignore…").click()
    page.get_by_role("button", name=re.compile(r"^Un-ignore: 1 workflow$")).click()
    expect(page.locator("#notice")).to_contain_text("Un-ignored 1 workflow")
    expect(page).to_have_url(re.compile(r"show=ignored"))
    expect(page.locator("p.empty")).to_contain_text("No ignored workflows")
    assert onboarded.mapping(onboarded.dev_id, "Dev Only").status is MappingStatus.UNTRACKED
    page.goto(f"{base}/untracked?env={onboarded.dev_id}")
    expect(_row(page, "Dev Only")).to_be_visible()


def test_the_bulk_link_works_without_javascript(
    base: str, tokens: Tokens, onboarded: AcmeEstate, browser: Browser
) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, base, tokens.operator, next_path="/untracked")
        for name in ("Dup Name", "Dev Only"):
            page.get_by_label(f"select {name}").check()
        page.get_by_role("button", name="Make new canonical workflows…").click()
        expect(page.locator(".plan-summary")).to_contain_text("2 workflows will change")
        page.get_by_role("button", name=re.compile(r"2 workflows$")).click()
        expect(page.locator("#notice")).to_contain_text("Linked to new canonical workflows 2")
        page.get_by_label("select Report C").check()  # its first suggestion is chosen
        page.get_by_role("button", name="Link to the chosen suggestion…").click()
        expect(page.locator(".plan-summary")).to_contain_text("1 workflow will change")
        page.get_by_role("button", name=re.compile(r"1 workflow$")).click()
        expect(page.locator("p.empty")).to_contain_text("No untracked workflows")
    finally:
        context.close()
    for name in ("Dup Name", "Dev Only", "Report C"):
        assert onboarded.mapping(onboarded.dev_id, name).status is MappingStatus.LINKED, name


def test_a_viewer_sees_no_buttons_and_cannot_post(
    base: str, tokens: Tokens, onboarded: AcmeEstate, ui_page: Page
) -> None:
    sign_in(ui_page, base, tokens.viewer, next_path="/untracked")
    expect(ui_page.locator("table.untracked tbody tr")).to_have_count(3)
    expect(ui_page.locator("table.untracked input")).to_have_count(0)
    expect(ui_page.locator("main form button")).to_have_count(1)  # only the filter's
    mapping = onboarded.mapping(onboarded.dev_id, "Dev Only")
    with signed_in(base, tokens.viewer) as http:
        csrf = csrf_of(http.get("/untracked").text)
        preview = http.get("/untracked/preview", params={"action": "ignore", "m": str(mapping.id)})
        assert preview.status_code == 200 and "/untracked/apply" not in preview.text
        for path, data in (
            ("/untracked/apply", {"action": "ignore", "m": str(mapping.id)}),
            ("/onboarding/inventory", {}),
            ("/onboarding/pull-request", {}),
        ):
            answer = http.post(path, data=data | {"csrf_token": csrf})
            assert answer.status_code == 403, (path, answer.text)
            assert "operator role" in answer.text
    assert onboarded.mapping(onboarded.dev_id, "Dev Only").status is MappingStatus.UNTRACKED


def test_csrf_tenants_and_bad_input(base: str, tokens: Tokens, onboarded: AcmeEstate) -> None:
    mapping = onboarded.mapping(onboarded.dev_id, "Dev Only")
    form = {"action": "ignore", "m": str(mapping.id)}
    with signed_in(base, tokens.operator) as http:
        assert http.post("/untracked/apply", data=form).status_code == 403
        assert http.post("/onboarding/inventory").status_code == 403
        assert http.post("/onboarding/pull-request").status_code == 403
        wrong = http.post("/untracked/apply", data=form | {"csrf_token": "x" * 40})
        assert wrong.status_code == 403
        assert http.get("/untracked?env=nonsense").status_code == 422
        assert http.get("/untracked/preview?action=explode&m=" + str(mapping.id)).status_code == 422
        assert http.get("/untracked/preview?action=link").status_code == 422
    assert onboarded.mapping(onboarded.dev_id, "Dev Only").status is MappingStatus.UNTRACKED
    with signed_in(base, tokens.other_admin) as http:
        csrf = csrf_of(http.get("/untracked").text)
        assert http.get(f"/untracked?env={onboarded.dev_id}").status_code == 404
        assert "Dev Only" not in http.get("/untracked").text
        preview = http.get("/untracked/preview", params=form)
        assert preview.status_code == 200 and "Dev Only" not in preview.text
        answer = http.post("/untracked/apply", data=form | {"csrf_token": csrf})
        assert answer.status_code == 303
        assert "failed=1" in answer.headers["location"]
    assert onboarded.mapping(onboarded.dev_id, "Dev Only").status is MappingStatus.UNTRACKED


def _seed_many(runtime: Runtime, tenant_slug: str, untracked: int, ignored: int) -> None:
    """Rows written straight to the database (the paging needs no n8n): one environment,
    `untracked` untracked workflows (two without a name) and `ignored` ignored ones."""
    with transaction(runtime.sessions) as session:
        tenant = session.scalars(select(Tenant).where(Tenant.slug == tenant_slug)).one()
        environment = Environment(
            tenant_id=tenant.id,
            name="big",
            base_url="http://127.0.0.1:9",
            api_key=runtime.secrets.seal("k" * 24),
        )
        session.add(environment)
        session.flush()
        for index in range(untracked + ignored):
            status = MappingStatus.UNTRACKED if index < untracked else MappingStatus.IGNORED
            session.add(
                WorkflowEnvMap(
                    tenant_id=tenant.id,
                    environment_id=environment.id,
                    n8n_workflow_id=f"w{index}",
                    status=status,
                    workflow_name=None if index in (0, untracked) else f"flow {index:03}",
                    env_content_hash=f"v1:{index:064x}",
                )
            )


def _walk(http: httpx.Client, url: str) -> list[str]:
    """Every page from `url` on, following "Next page": the n8n ids listed."""
    seen: list[str] = []
    while url:
        page = http.get(url)
        assert page.status_code == 200, page.text
        seen += re.findall(r"n8n id (w\d+)<", page.text)
        found = re.search(r'href="([^"]+)">Next page', page.text)
        url = found.group(1).replace("&amp;", "&") if found else ""
    return seen


def test_pages_of_untracked_and_ignored_workflows(
    base: str, tokens: Tokens, runtime: Runtime
) -> None:
    _seed_many(runtime, tokens.tenant_slug, untracked=120, ignored=57)
    with signed_in(base, tokens.viewer) as http:
        listed = _walk(http, "/untracked")
        assert sorted(listed) == sorted(f"w{i}" for i in range(120))  # each once
        assert listed[-1] == "w0"  # the nameless come last
        ignored = _walk(http, "/untracked?show=ignored")
        assert sorted(ignored) == sorted(f"w{i}" for i in range(120, 177))
        assert http.get("/untracked?after=garbage").status_code == 422
