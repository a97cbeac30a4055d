"""The matrix page: cells, filters and pages in the URL, a cell's detail (htmx panel and the
same panel without JavaScript), the keyboard, the export under the session cookie, other
tenants' ids, and drift appearing after an edit in a real n8n."""

from __future__ import annotations

import csv
import io
import re
import uuid
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from canonflow.catalogue.states import StateCause, record_state_changes
from canonflow.core.status import MappingStatus
from canonflow.db.engine import transaction
from canonflow.db.models import CanonicalWorkflow, Environment, Tenant, WorkflowEnvMap
from canonflow.matrix import service
from canonflow.runtime import Runtime
from canonflow.sync.environment import sync_environment
from canonflow.web.views.matrix import grid_rows
from tests.matrix.conftest import H2, H3, Tenancy
from tests.support.n8n import N8nInstance
from tests.support.n8n_fixtures import admin_client, create_workflows
from tests.support.onboarded import onboard_one_environment
from tests.web.conftest import ARTIFACTS, Tokens, sign_in, signed_in


def _environments(runtime: Runtime, t: Tenancy, names: tuple[str, ...]) -> None:
    with transaction(runtime.sessions) as session:
        for name in names:
            env = Environment(
                tenant_id=t.tenant_id,
                name=name,
                base_url=f"http://127.0.0.1:9/{name}",
                api_key=runtime.secrets.seal("unused"),
            )
            session.add(env)
            session.flush()
            t.envs[name] = env.id


def _tenancy(runtime: Runtime, slug: str) -> Tenancy:
    with transaction(runtime.sessions) as session:
        tenant_id = session.scalars(select(Tenant.id).where(Tenant.slug == slug)).one()
    return Tenancy(runtime, tenant_id, {})


@pytest.fixture
def estate(runtime: Runtime, tokens: Tokens) -> Tenancy:
    """Tenant acme: dev and prod; Alpha (prod in sync, dev drift), Bravo (prod out of date,
    dev conflict), Charlie (in sync), Delta (prod missing, dev absent), Echo (in sync); one
    of them with a copy read from n8n (a diff to show). globex has its own Alpha in prod."""
    t = _tenancy(runtime, "acme")
    _environments(runtime, t, ("dev", "prod"))
    for name in ("Charlie", "Alpha", "Bravo", "Delta", "Echo"):
        t.add_canonical(name)
    t.add_mapping("Alpha", "prod")
    alpha_dev = t.add_mapping("Alpha", "dev", env_hash=H2)
    t.add_mapping("Bravo", "prod", git_hash=H3)
    t.add_mapping("Bravo", "dev", env_hash=H2, git_hash=H3)
    for name in ("Charlie", "Echo"):
        for env in ("dev", "prod"):
            t.add_mapping(name, env)
    t.add_mapping("Delta", "prod", MappingStatus.MISSING)
    with transaction(runtime.sessions) as session:
        canonical = session.get(CanonicalWorkflow, t.canonicals["Alpha"])
        assert canonical is not None
        canonical.workflow_definition = {"name": "Alpha", "nodes": [], "connections": {}}
        mapping = session.get(WorkflowEnvMap, alpha_dev)
        assert mapping is not None
        mapping.workflow_data = {"name": "Alpha (edited in dev)", "nodes": [], "connections": {}}
        record_state_changes(session, t.tenant_id, StateCause.ENV_SYNC)  # as every write flow does
    other = _tenancy(runtime, "globex")
    _environments(runtime, other, ("prod",))
    other.add_canonical("Alpha")
    other.add_mapping("Alpha", "prod")
    t.other = other  # type: ignore[attr-defined]
    return t


def _slug(runtime: Runtime, canonical_id: uuid.UUID) -> str:
    with transaction(runtime.sessions) as session:
        canonical = session.get(CanonicalWorkflow, canonical_id)
        assert canonical is not None
        return canonical.canonical_slug


def _rows(html: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/workflows/[^"]+">([^<]+)</a>', html)


def _link(html: str, rel: str) -> str:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', html)
    assert found, f"no {rel} link"
    return found.group(1).replace("&amp;", "&")


def test_cells_say_colour_symbol_and_text_with_an_accessible_label(
    base: str, tokens: Tokens, estate: Tenancy
) -> None:
    with signed_in(base, tokens.viewer) as http:
        page = http.get("/matrix")
    assert page.status_code == 200, page.text
    html = page.text
    assert _rows(html) == ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]
    expected = {
        ("Alpha", "dev"): ("warn", "≠ drift", "drift"),
        ("Alpha", "prod"): ("ok", "✓ in sync", "in sync"),
        ("Bravo", "prod"): ("info", "↑ out of date", "out of date"),
        ("Bravo", "dev"): ("bad", "⚠ conflict", "conflict"),
        ("Delta", "prod"): ("bad", "∅ missing", "missing"),
        ("Delta", "dev"): ("muted", "— absent", "absent"),
    }
    for (name, env), (css, shown, text) in expected.items():
        slug = _slug(estate.runtime, estate.canonicals[name])
        cell = (
            f'<td class="{css}"><a href="?open={slug}:{env}" '
            f'aria-label="{name} in {env}: {text}">{shown}</a></td>'
        )
        assert cell in html, (name, env)
    for legend in ("✓</span> in sync", "≠</span> drift", "⚠</span> conflict", "∅</span> missing"):
        assert legend in html
    assert "Alpha (edited in dev)" not in html  # the page reads no workflow body
    assert 'hx-push-url="true"' in html


def test_filters_and_pages_round_trip_through_the_url(
    base: str, tokens: Tokens, estate: Tenancy
) -> None:
    with signed_in(base, tokens.viewer) as http:
        assert _rows(http.get("/matrix?state=drift").text) == ["Alpha"]
        assert _rows(http.get("/matrix?state=conflict&state=in_sync").text) == [
            "Alpha",
            "Bravo",
            "Charlie",
            "Echo",
        ]
        assert _rows(http.get("/matrix?status=missing").text) == ["Delta"]
        assert _rows(http.get("/matrix?status=absent").text) == ["Delta"]
        assert _rows(http.get("/matrix?problems=1").text) == ["Alpha", "Bravo", "Delta"]
        assert _rows(http.get("/matrix?q=HA").text) == ["Alpha", "Charlie"]
        prod = estate.envs["prod"]
        only_prod = http.get(f"/matrix?env={prod}&problems=1").text
        assert _rows(only_prod) == ["Bravo", "Delta"]
        assert ">dev</th>" not in only_prod  # one column: the filtered environment

        # a GET form sends its empty fields: the answer is the tidy URL
        form = http.get("/matrix?q=&env=&status=&state=drift&problems=")
        assert form.status_code == 303
        assert form.headers["location"] == "/matrix?state=drift"

        # pages of two: next, next, then back
        first = http.get("/matrix?limit=2").text
        assert _rows(first) == ["Alpha", "Bravo"]
        assert 'rel="prev"' not in first
        second_url = _link(first, "next")
        assert parse_qs(urlsplit(second_url).query) == {
            "after": [_slug(estate.runtime, estate.canonicals["Bravo"])],
            "limit": ["2"],
        }
        second = http.get(second_url).text
        assert _rows(second) == ["Charlie", "Delta"]
        third = http.get(_link(second, "next")).text
        assert _rows(third) == ["Echo"]
        assert 'rel="next"' not in third
        back = http.get(_link(third, "prev")).text
        assert _rows(back) == ["Charlie", "Delta"]
        assert _rows(http.get(_link(back, "prev")).text) == ["Alpha", "Bravo"]
        # filters survive paging
        problems = http.get("/matrix?problems=1&limit=1").text
        following = _link(problems, "next")
        assert "problems=1" in following
        assert _rows(http.get(following).text) == ["Bravo"]

        bad = http.get("/matrix?state=sideways")
        assert bad.status_code == 422
        assert "sideways" in bad.text and "text/html" in bad.headers["content-type"]
        assert http.get("/matrix?limit=0").status_code == 422


def test_a_cell_detail_as_a_page_and_as_a_fragment(
    base: str, tokens: Tokens, estate: Tenancy
) -> None:
    slug = _slug(estate.runtime, estate.canonicals["Alpha"])
    with signed_in(base, tokens.operator) as http:
        full = http.get(f"/matrix?state=drift&open={slug}:dev")
        assert full.status_code == 200, full.text
        assert "<html" in full.text and _rows(full.text) == ["Alpha"]
        fragment = http.get(
            f"/matrix?state=drift&open={slug}:dev",
            headers={"HX-Request": "true", "HX-Target": "detail"},
        )
        assert fragment.status_code == 200
        assert "<html" not in fragment.text and "<table" not in fragment.text
        for html in (full.text, fragment.text):
            assert 'Alpha <span class="muted">in</span> dev' in html
            assert "≠</span> drift" in html
            assert H2.removeprefix("v1:")[:12] in html or H2[:19] in html
            assert '~ name: "Alpha" -> "Alpha (edited in dev)"' in unescape(html)
            assert f'href="/workflows/{slug}/diff?env=dev&amp;against=git"' in html
            assert f'href="/workflows/{slug}"' in html
            assert f'href="/environments/{estate.envs["dev"]}/sync"' in html
            assert f'href="/reconcile?env=dev&amp;workflows={slug}"' in html
        assert 'href="/matrix?state=drift"' in fragment.text  # close keeps the filters
        in_sync = http.get(f"/matrix?open={slug}:prod").text
        assert "has no copy" in in_sync or "no workflow in environment" in in_sync
    with signed_in(base, tokens.viewer) as http:
        viewer = http.get(f"/matrix?open={slug}:dev").text
        assert "Full diff" in viewer
        assert "/sync" not in viewer and "Reconcile this workflow" not in viewer


def test_another_tenants_ids_are_not_found(base: str, tokens: Tokens, estate: Tenancy) -> None:
    other: Tenancy = estate.other  # type: ignore[attr-defined]
    foreign_slug = _slug(estate.runtime, other.canonicals["Alpha"])
    own_slug = _slug(estate.runtime, estate.canonicals["Alpha"])
    with signed_in(base, tokens.viewer) as http:
        for url in (
            f"/matrix?env={other.envs['prod']}",
            f"/matrix?open={foreign_slug}:prod",
            f"/matrix?after={foreign_slug}",
            f"/matrix?before={foreign_slug}",
            f"/matrix?open={own_slug}:nowhere",
            f"/matrix/summary?env={other.envs['prod']}",
            f"/matrix/export.csv?env={other.envs['prod']}",
        ):
            answer = http.get(url)
            assert answer.status_code == 404, url
    with signed_in(base, tokens.other_admin) as http:
        assert http.get(f"/matrix?open={own_slug}:dev").status_code == 404
        assert _rows(http.get("/matrix").text) == ["Alpha"]  # globex's own


def test_export_links_answer_with_the_filtered_rows_under_the_session(
    base: str, tokens: Tokens, estate: Tenancy
) -> None:
    with signed_in(base, tokens.viewer) as http:
        page = http.get("/matrix?problems=1&q=a&limit=1").text
        csv_url = re.search(r'<a href="(/matrix/export\.csv[^"]*)"', page)
        json_url = re.search(r'<a href="(/matrix/export\.json[^"]*)"', page)
        assert csv_url and json_url
        assert csv_url.group(1).replace("&amp;", "&") == "/matrix/export.csv?q=a&problems=1"
        answer = http.get(csv_url.group(1).replace("&amp;", "&"))
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(answer.text)))
        assert sorted({r["name"] for r in rows}) == ["Alpha", "Bravo", "Delta"]
        alpha_dev = [r for r in rows if r["name"] == "Alpha" and r["environment"] == "dev"]
        assert [r["state"] for r in alpha_dev] == ["drift"]
        document = orjson.loads(http.get(json_url.group(1).replace("&amp;", "&")).content)
        assert [w["name"] for w in document["workflows"]] == ["Alpha", "Bravo", "Delta"]
        assert {e["name"] for e in document["environments"]} == {"dev", "prod"}
    anonymous = httpx.get(f"{base}/matrix/export.json", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/signin")


def test_the_summary_counts_per_environment(base: str, tokens: Tokens, estate: Tenancy) -> None:
    with signed_in(base, tokens.viewer) as http:
        page = http.get("/matrix/summary")
        fragment = http.get("/matrix/summary", headers={"HX-Request": "true"})
    assert "<html" in page.text and "<html" not in fragment.text
    dev = estate.envs["dev"]
    assert f'href="/matrix?env={dev}&amp;state=drift"' in fragment.text
    assert "≠</span> drift <b>1</b>" in fragment.text
    assert "∅</span> missing <b>1</b>" in fragment.text


def test_the_matrix_without_javascript(
    base: str, tokens: Tokens, estate: Tenancy, browser: Browser
) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, base, tokens.viewer, next_path="/matrix")
        expect(page.get_by_role("link", name="Counts per environment")).to_be_visible()
        page.select_option("#f-state", "in_sync")
        page.click("text=Filter")
        expect(page).to_have_url(f"{base}/matrix?state=in_sync")
        rows = page.locator("#grid tbody th")
        expect(rows).to_have_text(["Alpha", "Charlie", "Echo"])
        page.goto(f"{base}/matrix?state=in_sync&limit=2")
        page.click("a[rel=next]")
        expect(rows).to_have_text(["Echo"])
        page.click("a[rel=prev]")
        expect(rows).to_have_text(["Alpha", "Charlie"])
        page.get_by_role("link", name="Alpha in dev: drift").click()
        expect(page).to_have_url(
            re.compile(r"\?state=in_sync&before=echo-[0-9]+&limit=2&open=alpha-[0-9]+:dev$")
        )
        detail = page.locator("#detail")
        expect(detail).to_contain_text("Alpha in dev")
        expect(detail).to_contain_text('~ name: "Alpha" -> "Alpha (edited in dev)"')
        expect(rows).to_have_text(["Alpha", "Charlie"])  # the same page, the panel beside it
        page.get_by_role("link", name="Close the detail").click()
        expect(detail).to_be_empty()
        expect(detail).to_be_hidden()  # no panel: the grid has the width
        page.click("text=Counts per environment")
        expect(page.locator("#summary")).to_contain_text("drift 1")
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "test_the_matrix_without_javascript.png"))
        context.close()


def test_keyboard_moves_and_opens_a_cell(
    base: str, tokens: Tokens, estate: Tenancy, ui_page: Page
) -> None:
    sign_in(ui_page, base, tokens.operator, next_path="/matrix")
    expect(ui_page.locator("#summary table")).to_be_visible()  # loaded after the page
    ui_page.keyboard.press("j")  # from nowhere: the first cell
    expect(ui_page.get_by_role("link", name="Alpha in dev: drift")).to_be_focused()
    ui_page.keyboard.press("ArrowRight")
    expect(ui_page.get_by_role("link", name="Alpha in prod: in sync")).to_be_focused()
    ui_page.keyboard.press("j")
    expect(ui_page.get_by_role("link", name="Bravo in prod: out of date")).to_be_focused()
    ui_page.keyboard.press("h")
    ui_page.keyboard.press("k")
    expect(ui_page.get_by_role("link", name="Alpha in dev: drift")).to_be_focused()
    ui_page.keyboard.press("ArrowDown")
    ui_page.keyboard.press("Enter")
    detail = ui_page.locator("#detail")
    expect(detail).to_contain_text("Bravo in dev")
    expect(detail).to_contain_text("conflict")
    expect(ui_page).to_have_url(re.compile(r"/matrix\?open=bravo-[0-9]+:dev$"))
    expect(ui_page.locator("#grid tbody th")).to_have_count(5)  # still the whole page
    ui_page.keyboard.press("/")
    expect(ui_page.locator("#q")).to_be_focused()
    ui_page.keyboard.type("char")
    ui_page.keyboard.press("Enter")
    expect(ui_page).to_have_url(f"{base}/matrix?q=char")
    expect(ui_page.locator("#grid tbody th")).to_have_text(["Charlie"])
    ui_page.get_by_role("link", name="Charlie in prod: in sync").click()
    expect(detail).to_contain_text("Charlie in prod")
    expect(ui_page).to_have_url(re.compile(r"/matrix\?q=char&open=charlie-[0-9]+:prod$"))


def test_drift_appears_after_an_edit_in_n8n(
    base: str,
    runtime: Runtime,
    clean_n8n_prod: N8nInstance,
    tmp_path: Path,
    ui_page: Page,
) -> None:
    created = create_workflows(clean_n8n_prod, 3, prefix="Orders", nodes=5)
    onboarded = onboard_one_environment(
        runtime, base_url=clean_n8n_prod.api_url, api_key=clean_n8n_prod.api_key, tmp=tmp_path
    )
    token = onboarded.headers["Authorization"].removeprefix("Bearer ")
    sign_in(ui_page, base, token, next_path="/matrix")
    second = ui_page.get_by_role("link", name="Orders 0002 in prod: in sync")
    expect(second).to_be_visible()
    expect(ui_page.locator("#grid td.ok")).to_have_count(3)

    with admin_client(clean_n8n_prod) as http:
        workflow = http.get(f"/workflows/{created[1]['id']}").json()
        for node in workflow["nodes"]:
            if node["type"] == "n8n-nodes-base.httpRequest":
                node["parameters"]["url"] = "https://example.com/changed-in-n8n"
        body = {k: workflow[k] for k in ("name", "nodes", "connections", "settings")}
        http.put(f"/workflows/{created[1]['id']}", json=body).raise_for_status()
    sync_environment(
        runtime.sessions,
        runtime.secrets,
        tenant_id=onboarded.tenant_id,
        environment_id=onboarded.environment_id,
    )

    ui_page.reload()
    drifted = ui_page.get_by_role("link", name="Orders 0002 in prod: drift")
    expect(drifted).to_have_text("≠ drift")
    expect(drifted.locator("xpath=..")).to_have_class("warn")
    expect(ui_page.locator("#grid td.ok")).to_have_count(2)
    drifted.click()
    detail = ui_page.locator("#detail")
    expect(detail).to_contain_text("changed-in-n8n")
    expect(detail).to_contain_text("nodes changed: 1")
    expect(detail.get_by_role("link", name="Full diff")).to_have_attribute(
        "href", re.compile(r"^/workflows/orders-0002[^/]*/diff\?env=prod&against=git$")
    )


def test_grid_rows_escape_names_and_keep_the_accessible_label() -> None:
    env = service.MatrixEnvironment(uuid.uuid4(), 'prod "eu" & <us>')
    workflow = {
        "canonical_id": str(uuid.uuid4()),
        "name": '<script>alert("x")</script> & co',
        "slug": "script-alert-x",
        "deleted_in_git": True,
        "environments": {str(env.id): {"status": "linked", "state": "conflict", "synced": False}},
    }
    [row] = grid_rows([workflow], [env], "?q=a&open=")
    assert "<script>" not in row
    assert (
        '<td class="bad"><a href="?q=a&amp;open=script-alert-x:prod%20%22eu%22%20%26%20%3Cus%3E" '
        'aria-label="&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co in '
        'prod &#34;eu&#34; &amp; &lt;us&gt;: conflict">⚠ conflict</a></td>'
    ) in row
    assert '<span class="tag">deleted in Git</span>' in row
