"""UI tests: a real uvicorn server on the test's database, driven by a real headless
Chromium (Debian's package, installed by scripts/ensure-chromium.sh) through Playwright.

Every test that uses `ui_page` fails if the browser logged a console error or an uncaught
page error, and leaves a screenshot of its last page in artifacts/ui/ (git-ignored).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import ConsoleMessage, Error, Page

from canonflow.core.enums import Role
from canonflow.db.engine import transaction
from canonflow.runtime import Runtime
from tests.factories import make_tenant, make_token
from tests.support.served import served

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "ui"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's Chromium, not Playwright's download (unreachable here)."""
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CANONFLOW_CHROMIUM", "/usr/bin/chromium"),
    }


@pytest.fixture
def base(runtime: Runtime) -> Iterator[str]:
    """The app on a real uvicorn server; its base URL."""
    with served(runtime) as url:
        yield url


@dataclass(frozen=True)
class Tokens:
    """One tenant's tokens, one per role, and another tenant's admin."""

    tenant_slug: str
    admin: str
    operator: str
    viewer: str
    other_admin: str


@pytest.fixture
def tokens(runtime: Runtime) -> Tokens:
    with transaction(runtime.sessions) as session:
        tenant = make_tenant(session, slug="acme")
        other = make_tenant(session, slug="globex")
        return Tokens(
            tenant_slug="acme",
            admin=make_token(session, tenant, role=Role.ADMIN, name="ada"),
            operator=make_token(session, tenant, role=Role.OPERATOR, name="otto"),
            viewer=make_token(session, tenant, role=Role.VIEWER, name="vera"),
            other_admin=make_token(session, other, role=Role.ADMIN, name="gus"),
        )


@pytest.fixture
def allow_console() -> list[str]:
    """Patterns of console errors a test expects (a 403 it provokes logs "Failed to load
    resource: ... status of 403"); anything else fails the test."""
    return []


@pytest.fixture
def ui_page(page: Page, request: pytest.FixtureRequest, allow_console: list[str]) -> Iterator[Page]:
    """The browser page, watched: console errors and uncaught errors fail the test; its
    last page is saved as a screenshot."""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not any(re.search(p, message.text) for p in allow_console):
            problems.append(f"console: {message.text} ({message.location.get('url')})")

    def on_page_error(error: Error) -> None:
        problems.append(f"page error: {error.message}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    page.set_default_timeout(15_000)
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    with contextlib.suppress(Error):  # the page is gone (the test closed it): nothing to keep
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    assert not problems, "the browser reported errors:\n" + "\n".join(problems)


def sign_in(page: Page, base: str, token: str, *, next_path: str = "/") -> None:
    """Sign in through the form, as a person does."""
    page.goto(f"{base}/signin?next={quote(next_path, safe='/')}")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{next_path}")


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


@contextmanager
def signed_in(base: str, token: str) -> Iterator[httpx.Client]:
    """An HTTP client signed in through the form, as a browser without JavaScript would be
    (redirects are not followed)."""
    with httpx.Client(base_url=base, timeout=30) as http:
        csrf = csrf_of(http.get("/signin").text)
        answer = http.post("/signin", data={"token": token, "next": "/", "csrf_token": csrf})
        assert answer.status_code == 303, answer.text
        yield http
