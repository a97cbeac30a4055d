"""Signing in and out, the session cookie, CSRF, and errors shown as pages."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from canonflow.db.engine import transaction
from canonflow.db.models import Tenant
from canonflow.runtime import Runtime
from canonflow.tenancy import service as tenancy
from canonflow.web.headers import CONTENT_SECURITY_POLICY
from tests.web.conftest import Tokens, csrf_of, sign_in, signed_in


def test_the_overview_without_a_session_goes_to_sign_in(base: str) -> None:
    answer = httpx.get(f"{base}/?env=x", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/signin?next=/%3Fenv%3Dx"


def test_signing_in_and_out_in_the_browser(base: str, tokens: Tokens, ui_page: Page) -> None:
    ui_page.goto(base + "/")
    expect(ui_page).to_have_url(re.compile(r"/signin\?next=/$"))
    ui_page.fill("#token", tokens.admin)
    ui_page.click("button[type=submit]")
    expect(ui_page).to_have_url(base + "/")
    expect(ui_page.locator("header .who")).to_contain_text("acme")
    expect(ui_page.locator("header .who")).to_contain_text("admin")
    cookie = next(c for c in ui_page.context.cookies() if c["name"] == "canonflow_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert not cookie["secure"]  # development mode; production sets Secure
    assert tokens.admin not in cookie["value"]  # the cookie names the token, never holds it
    ui_page.click("text=Sign out")
    expect(ui_page).to_have_url(re.compile(r"/signin"))
    ui_page.goto(base + "/")
    expect(ui_page).to_have_url(re.compile(r"/signin\?next=/$"))


def test_a_wrong_token_is_refused_with_a_readable_message(
    base: str, tokens: Tokens, ui_page: Page, allow_console: list[str]
) -> None:
    allow_console.append("status of 401")
    ui_page.goto(base + "/signin")
    ui_page.fill("#token", "cf_not_a_token")
    ui_page.click("button[type=submit]")
    expect(ui_page.get_by_role("alert")).to_contain_text("unknown or revoked")


def test_next_is_only_ever_a_local_path(base: str, tokens: Tokens) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        with httpx.Client(base_url=base) as http:
            csrf = csrf_of(http.get("/signin").text)
            data = {"token": tokens.admin, "next": target, "csrf_token": csrf}
            answer = http.post("/signin", data=data)
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/", target


def test_a_post_without_the_csrf_token_is_403_and_does_nothing(base: str, tokens: Tokens) -> None:
    with signed_in(base, tokens.admin) as http:
        answer = http.post("/signout", data={})
        assert answer.status_code == 403
        assert "CSRF" in answer.text
        assert http.get("/", follow_redirects=False).status_code == 200  # still signed in
        wrong = http.post("/signout", data={"csrf_token": "x" * 43})
        assert wrong.status_code == 403
        page = http.get("/").text
        assert http.post("/signout", headers={"X-CSRF-Token": csrf_of(page)}).status_code == 303


def test_signing_in_needs_the_forms_csrf_token(base: str, tokens: Tokens) -> None:
    answer = httpx.post(f"{base}/signin", data={"token": tokens.admin, "next": "/"})
    assert answer.status_code == 403
    assert "canonflow_session" not in answer.cookies


def test_a_revoked_token_ends_its_sessions(base: str, tokens: Tokens, runtime: Runtime) -> None:
    with signed_in(base, tokens.viewer) as http:
        assert http.get("/", follow_redirects=False).status_code == 200
        with transaction(runtime.sessions) as session:
            principal = tenancy.authenticate(session, tokens.viewer)
            assert principal.token_id is not None
            tenant = session.get(Tenant, principal.tenant_id)
            assert tenant is not None
            tenancy.revoke_token(session, tenant=tenant, token_id=principal.token_id, actor="t")
        answer = http.get("/", follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/signin")


def test_a_forged_cookie_is_no_session(base: str, tokens: Tokens) -> None:
    with signed_in(base, tokens.admin) as http:
        value = http.cookies["canonflow_session"]
        http.cookies.set("canonflow_session", "A" + value[1:])
        assert http.get("/", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("path", ["/no-such-page", "/static/no-such.css"])
def test_a_missing_page_is_an_html_404(base: str, path: str) -> None:
    answer = httpx.get(base + path, headers={"Accept": "text/html"})
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")


def test_the_api_still_answers_problem_json(base: str) -> None:
    answer = httpx.get(f"{base}/api/v1/environments")
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert "content-security-policy" not in answer.headers


def test_ui_pages_carry_security_headers(base: str) -> None:
    answer = httpx.get(f"{base}/signin")
    assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_sign_in_helper_lands_on_the_page_asked_for(
    base: str, tokens: Tokens, ui_page: Page
) -> None:
    sign_in(ui_page, base, tokens.operator)
    expect(ui_page.locator("h1")).to_have_text("Overview")
    expect(ui_page.locator("header .role")).to_have_text("operator")
