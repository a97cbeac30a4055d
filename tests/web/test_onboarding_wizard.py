"""The onboarding wizard in a real browser: an overlapping estate on two real n8n
instances and a real bare Git remote (the forge is the local stand-in: no hosted forge can
run here) walked from the preflight to the migration pull request; the step always comes
from the server, so a reload shows where things stand."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from canonflow.core.status import MappingStatus
from tests.web.conftest import Tokens, sign_in
from tests.web.estate import AcmeEstate, acme_estate

__all__ = ["acme_estate"]  # the fixture, for pytest


def _step(page: Page, key: str) -> None:
    expect(page.locator(f'section.wizard-step[data-step="{key}"]')).to_be_visible(timeout=60_000)


def _select_and_confirm(page: Page, name: str, button: str, confirm: str) -> None:
    page.get_by_label(f"select {name}").check()
    page.get_by_role("button", name=button).click()
    expect(page.locator(".plan-summary")).to_contain_text("1 workflow will change")
    page.get_by_role("button", name=re.compile(confirm)).click()


def test_onboard_an_overlapping_estate_through_the_wizard(
    base: str, tokens: Tokens, acme_estate: AcmeEstate, ui_page: Page
) -> None:
    page, estate = ui_page, acme_estate
    sign_in(page, base, tokens.operator, next_path="/onboarding")
    _step(page, "preflight")
    expect(page.locator(".wizard-step .notice")).to_contain_text("Every check passed")
    page.reload()
    _step(page, "preflight")

    page.get_by_role("button", name="Start the inventory of 2 environments").click()
    expect(page).to_have_url(re.compile(r"/onboarding\?step=inventory&job="))
    inventory_url = page.url
    expect(page.locator("#inventory a[href^='/jobs/']")).to_be_visible()
    # live: the fragment polls until the job ends, then the wizard moves on by itself (or,
    # when the job ended before the page came, offers to)
    links, go_on = page.locator('[data-step="links"]'), page.get_by_role("link", name="Continue →")
    expect(links.or_(go_on)).to_be_visible(timeout=90_000)
    if go_on.is_visible():
        expect(page.locator("#inventory .job-status")).to_have_text("succeeded")
        go_on.click()
    _step(page, "links")
    expect(page.locator(".wizard-step")).to_contain_text("3 workflows did not auto-link")
    # the fragment htmx polls: once the job has ended it sends the page on to the next step
    polled = page.request.get(inventory_url, headers={"HX-Request": "true"})
    assert polled.status == 200 and polled.headers["hx-redirect"] == "/onboarding"
    assert polled.text().lstrip().startswith('<div id="inventory"') and "<html" not in polled.text()
    assert "hx-trigger" not in polled.text()  # it stops polling
    page.reload()
    _step(page, "links")

    _select_and_confirm(page, "Dup Name", "Link to the chosen suggestion…", r"1 workflow$")
    _step(page, "links")
    expect(page.locator(".wizard-step .notice")).to_have_text("Linked 1 workflow.")
    expect(page.locator(".wizard-step")).to_contain_text("2 workflows did not auto-link")
    _select_and_confirm(page, "Dev Only", "Ignore…", r"^Ignore: 1 workflow$")
    _step(page, "links")
    expect(page.locator(".wizard-step")).to_contain_text("1 workflow did not auto-link")
    assert estate.mapping(estate.dev_id, "Dup Name").status is MappingStatus.LINKED
    assert estate.mapping(estate.dev_id, "Dev Only").status is MappingStatus.IGNORED

    page.get_by_role("link", name="on to the migration pull request →").click()
    _step(page, "pull_request")
    expect(page.locator(".wizard-step")).to_contain_text("1 workflow still untracked")
    expect(page.locator(".wizard-step")).to_contain_text(
        "with a pull request on github (team/workflows)"
    )
    push = page.get_by_role(
        "button", name=re.compile(r"^Push \d+ files and open the pull request$")
    )
    push.click()
    _step(page, "done")
    pr_link = page.locator("a.pr-link")
    expect(pr_link).to_have_attribute("href", re.compile(r"/team/workflows/pull/1$"))
    [opened] = [r for r in estate.forge.requests if r["method"] == "POST"]
    assert opened["json"]["head"].startswith("canonflow/onboarding-")
    page.goto(f"{base}/onboarding")  # where onboarding stands, whatever the URL asked before
    _step(page, "done")
    expect(page.locator(".wizard-step")).to_contain_text("Onboarded")
    expect(page.get_by_role("button")).to_have_count(1)  # sign out: nothing left to run


def test_preflight_names_what_to_do_and_a_viewer_runs_nothing(
    base: str, tokens: Tokens, ui_page: Page
) -> None:
    sign_in(ui_page, base, tokens.operator, next_path="/onboarding")
    failed = ui_page.locator("ul.checks.failed li")
    expect(failed.filter(has_text="no environments: add one")).to_have_count(1)
    expect(failed.filter(has_text="no Git repository is configured")).to_have_count(1)
    expect(ui_page.get_by_role("button", name=re.compile("Start the inventory"))).to_be_disabled()
    ui_page.goto(f"{base}/onboarding?step=done")  # not reached: the server's step
    expect(ui_page.locator('section.wizard-step[data-step="preflight"]')).to_be_visible()

    ui_page.click("text=Sign out")
    sign_in(ui_page, base, tokens.viewer, next_path="/onboarding")
    expect(ui_page.locator(".wizard-step")).to_contain_text("need the operator role")
    expect(ui_page.locator("main button")).to_have_count(0)


def test_a_running_inventory_is_the_step_and_polls_until_it_ends(
    base: str, tokens: Tokens, acme_estate: AcmeEstate, ui_page: Page
) -> None:
    acme_estate.runtime.runner.shutdown(wait=True)  # the job stays queued: nothing runs it
    sign_in(ui_page, base, tokens.operator, next_path="/onboarding")
    ui_page.get_by_role("button", name="Start the inventory of 2 environments").click()
    _step(ui_page, "inventory")
    for url in (f"{base}/onboarding", f"{base}/onboarding?step=done"):  # a reload, or a return
        ui_page.goto(url)
        _step(ui_page, "inventory")
        expect(ui_page.locator("#inventory .job-status")).to_have_text("queued")
        expect(ui_page.locator("#inventory")).to_have_attribute("hx-trigger", "every 1s")
    polled = ui_page.request.get(
        base + (ui_page.locator("#inventory").get_attribute("hx-get") or ""),
        headers={"HX-Request": "true"},
    )
    assert polled.status == 200 and "hx-redirect" not in polled.headers
    assert 'hx-trigger="every 1s"' in polled.text() and "<html" not in polled.text()
