"""Sweeps over every UI page a signed-in person can reach from the overview.

Starting at `/`, follow every local link (a bounded crawl over a seeded tenant) and check:
every link resolves (no 404 or 5xx); every page renders in a real browser without a console
or page error; a viewer's pages offer no form that writes (but signing out), and every form
an admin sees is refused (403) when a viewer posts it with the viewer's own CSRF token;
another tenant's admin gets 404 on every page that names this tenant's rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from playwright.sync_api import Page

from canonflow.db.engine import transaction
from canonflow.runtime import Runtime
from canonflow.tenancy import service as tenancy
from tests.support.world import World, seed_world
from tests.web.conftest import Tokens, sign_in, signed_in

MAX_PAGES = 400
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_NOT_CRAWLED = ("/static/", "/signout", "/signin")


@dataclass
class FormSeen:
    page: str
    method: str
    action: str
    fields: dict[str, str] = field(default_factory=dict)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.assets: list[str] = []
        self.forms: list[FormSeen] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "a" and found.get("href"):
            self.links.append(found["href"])
        elif tag in ("script", "img") and found.get("src"):
            self.assets.append(found["src"])
        elif tag == "link" and found.get("href"):
            self.assets.append(found["href"])
        elif tag == "form":
            method = found.get("method", "get").lower()
            self.forms.append(FormSeen(page="", method=method, action=found.get("action", "")))
        elif tag in ("input", "button", "select", "textarea") and self.forms:
            name = found.get("name")
            if name and found.get("type") not in ("checkbox", "radio", "submit"):
                self.forms[-1].fields.setdefault(name, found.get("value", ""))
            elif name and "checked" in found:
                self.forms[-1].fields.setdefault(name, found.get("value", "on"))


@dataclass
class Crawl:
    pages: dict[str, str] = field(default_factory=dict)  # url -> html
    forms: list[FormSeen] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)


def _local(base: str, page: str, href: str) -> str | None:
    if href.startswith(("mailto:", "javascript:", "#")):
        return None
    url = urlsplit(urljoin(base + page, href))
    if f"{url.scheme}://{url.netloc}" != base:
        return None  # another site (a pull request on a forge, say)
    return url.path + (f"?{url.query}" if url.query else "")


def crawl(http: httpx.Client, base: str) -> Crawl:
    seen = Crawl()
    queue = ["/"]
    checked_assets: set[str] = set()
    while queue and len(seen.pages) < MAX_PAGES:
        path = queue.pop(0)
        if path in seen.pages:
            continue
        answer = http.get(path)
        if answer.status_code != 200:
            seen.broken.append(f"{path} -> {answer.status_code}")
            seen.pages[path] = ""
            continue
        if not answer.headers.get("content-type", "").startswith("text/html"):
            seen.pages[path] = ""  # an export: it resolved, nothing to follow
            continue
        seen.pages[path] = answer.text
        parser = _Links()
        parser.feed(answer.text)
        for form in parser.forms:
            form.page = path
            form.action = _local(base, path, form.action or path) or form.action
            seen.forms.append(form)
        for asset in parser.assets:
            local = _local(base, path, asset)
            if local and local not in checked_assets:
                checked_assets.add(local)
                if http.get(local).status_code != 200:
                    seen.broken.append(f"{path}: asset {local}")
        for href in parser.links:
            local = _local(base, path, href)
            if local and not local.startswith(_NOT_CRAWLED) and local not in seen.pages:
                queue.append(local)
    return seen


def _csrf_of(http: httpx.Client) -> str:
    found = re.search(r'data-csrf="([^"]+)"', http.get("/").text)
    assert found
    return found.group(1)


@pytest.fixture
def world(runtime: Runtime, tokens: Tokens) -> World:
    with transaction(runtime.sessions) as session:
        tenant = tenancy.get_tenant_or_raise(session, tokens.tenant_slug)
        return seed_world(session, tenant.id, runtime.secrets)


@pytest.fixture
def admin_crawl(base: str, tokens: Tokens, world: World) -> Crawl:
    with signed_in(base, tokens.admin) as http:
        return crawl(http, base)


def test_every_link_on_every_page_resolves(admin_crawl: Crawl) -> None:
    assert len(admin_crawl.pages) >= 9, sorted(admin_crawl.pages)
    assert not admin_crawl.broken, admin_crawl.broken


def test_a_viewer_sees_no_form_that_writes_and_cannot_post_any(
    base: str, tokens: Tokens, admin_crawl: Crawl
) -> None:
    writes = [f for f in admin_crawl.forms if f.method == "post" and f.action != "/signout"]
    assert writes, "the admin saw no form that writes: the sweep would prove nothing"
    with signed_in(base, tokens.viewer) as http:
        viewer = crawl(http, base)
        offered = [
            f"{f.page}: {f.action}"
            for f in viewer.forms
            if f.method == "post" and f.action != "/signout"
        ]
        assert not offered, offered
        csrf = _csrf_of(http)
        for form in writes:
            answer = http.post(form.action, data={**form.fields, "csrf_token": csrf})
            assert answer.status_code == 403, f"{form.page}: {form.action} -> {answer.status_code}"


def test_another_tenants_admin_gets_404_on_this_tenants_rows(
    base: str, tokens: Tokens, admin_crawl: Crawl, world: World
) -> None:
    paths = {url.split("?")[0] for url in admin_crawl.pages}
    naming = sorted(p for p in paths if any(row_id in p for row_id in world.ids()))
    with signed_in(base, tokens.other_admin) as http:
        for path in naming:
            assert http.get(path).status_code == 404, path


def test_every_page_renders_without_browser_errors(
    base: str, tokens: Tokens, admin_crawl: Crawl, ui_page: Page
) -> None:
    sign_in(ui_page, base, tokens.admin)
    shapes: dict[str, str] = {}
    for url, html in admin_crawl.pages.items():
        if html:
            shapes.setdefault(_UUID.sub("{id}", url.split("?")[0]), url)
    for url in sorted(shapes.values()):
        ui_page.goto(base + url)
        ui_page.wait_for_load_state("load")
