"""The matrix: canonical workflows x environments, paged by keyset, filtered in the query
string; a cell's detail in a side panel (an htmx fragment, or the same panel rendered with
the page when JavaScript is off); the per-environment counts; the export under the session.

Every read is the JSON API's own service call (`canonflow.matrix.service`, the catalogue's
`get` for a cell's hashes and times, `reconcile.diffs.workflow_diff` for its diff)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from markupsafe import Markup, escape
from starlette.datastructures import QueryParams

from canonflow.api.deps import RuntimeDep, SessionDep
from canonflow.catalogue import service as catalogue
from canonflow.core.sync_state import SyncState
from canonflow.errors import Invalid, NotFound
from canonflow.matrix import export, service
from canonflow.matrix.queries import ABSENT, STATUSES, MatrixFilter
from canonflow.reconcile import diffs
from canonflow.web import labels
from canonflow.web.deps import UiDep, csrf_protect
from canonflow.web.rendering import is_htmx, redirect, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_SEARCH = 200
DIFF_LINES_SHOWN = 12
FILTER_KEYS = ("q", "env", "status", "state", "problems")
KNOWN_STATUSES = (*STATUSES, ABSENT)
KNOWN_STATES = tuple(state.value for state in SyncState)


@dataclass(frozen=True)
class MatrixQuery:
    """What the query string asks for: filters, the page (a workflow's slug to page after or
    before), its size, and the open cell (`<slug>:<environment name>`)."""

    q: str
    env_ids: tuple[uuid.UUID, ...]
    statuses: tuple[str, ...]
    states: tuple[SyncState, ...]
    problems: bool
    after: str
    before: str
    limit: int
    open: str

    @property
    def filters(self) -> MatrixFilter:
        return MatrixFilter(
            statuses=self.statuses,
            states=self.states,
            search=self.q or None,
            problems_only=self.problems,
        )

    def params(self, **changes: Any) -> list[tuple[str, str]]:
        """The query string's pairs (filters, page, size, open), with `changes`."""
        values: dict[str, Any] = {
            "q": self.q,
            "env": [str(e) for e in self.env_ids],
            "status": list(self.statuses),
            "state": [s.value for s in self.states],
            "problems": "1" if self.problems else "",
            "after": self.after,
            "before": self.before,
            "limit": str(self.limit) if self.limit != PAGE_SIZE else "",
            "open": self.open,
        } | changes
        pairs: list[tuple[str, str]] = []
        for key, value in values.items():
            for one in value if isinstance(value, list) else [value]:
                if one:
                    pairs.append((key, one))
        return pairs

    def url(self, path: str = "/matrix", **changes: Any) -> str:
        query = urlencode(self.params(**changes))
        return f"{path}?{query}" if query else path


def parse_query(params: QueryParams) -> MatrixQuery:
    """The query string, checked: an unknown status or state, a bad id or size is a 422."""
    statuses = tuple(v for v in params.getlist("status") if v)
    for status in statuses:
        if status not in KNOWN_STATUSES:
            raise Invalid(f"status: {status!r} is none of {', '.join(KNOWN_STATUSES)}")
    states: list[SyncState] = []
    for state in (v for v in params.getlist("state") if v):
        if state not in KNOWN_STATES:
            raise Invalid(f"state: {state!r} is none of {', '.join(KNOWN_STATES)}")
        states.append(SyncState(state))
    env_ids: list[uuid.UUID] = []
    for value in (v for v in params.getlist("env") if v):
        try:
            env_ids.append(uuid.UUID(value))
        except ValueError:
            raise Invalid(f"env: {value!r} is not an environment id") from None
    q = (params.get("q") or "").strip()
    if len(q) > MAX_SEARCH:
        raise Invalid(f"q: at most {MAX_SEARCH} characters")
    limit_text = params.get("limit") or str(PAGE_SIZE)
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_PAGE_SIZE:
        raise Invalid(f"limit: a whole number from 1 to {MAX_PAGE_SIZE}")
    return MatrixQuery(
        q=q,
        env_ids=tuple(dict.fromkeys(env_ids)),
        statuses=statuses,
        states=tuple(states),
        problems=(params.get("problems") or "") not in ("", "0", "false", "off"),
        after=params.get("after") or "",
        before=params.get("before") or "",
        limit=int(limit_text),
        open=params.get("open") or "",
    )


def _htmx_target(request: Request) -> str | None:
    """Which part an htmx request wants (None: the whole page, as for a history restore)."""
    if not is_htmx(request) or request.headers.get("hx-history-restore-request") == "true":
        return None
    return request.headers.get("hx-target")


@router.get("/matrix")
def matrix_page(request: Request, session: SessionDep, runtime: RuntimeDep, ui: UiDep) -> Response:
    params = request.query_params
    if any(value == "" for _, value in params.multi_items()):
        # a GET form sends its empty fields: answer with the tidy URL, the one to bookmark
        return redirect(parse_query(params).url())
    query = parse_query(params)
    target = _htmx_target(request)
    if target == "detail":  # a cell clicked: only its panel, no page query
        detail = cell_detail(session, runtime, ui, query) if query.open else None
        return render(
            request, ui, "matrix.html", {"query": query, "detail": detail}, block="detail"
        )
    environments = service.environments_of(session, ui.tenant_id, query.env_ids)
    after = service.key_of(session, ui.tenant_id, query.after) if query.after else None
    before = (
        service.key_of(session, ui.tenant_id, query.before)
        if query.before and not query.after
        else None
    )
    page = service.page(
        session,
        ui.tenant_id,
        environments,
        query.filters,
        after=after,
        before=before,
        limit=query.limit,
    )
    workflows = page.workflows
    next_url = (
        query.url(after=workflows[-1]["slug"], before="", open="")
        if page.next_after and workflows
        else None
    )
    previous_url = None
    if page.previous_before is not None:
        edge = workflows[0]["slug"] if workflows else query.after
        previous_url = query.url(before=edge, after="", open="")
    here = urlencode(query.params(open=""))
    context = {
        "query": query,
        "environments": environments,
        "all_environments": (
            service.environments_of(session, ui.tenant_id) if query.env_ids else environments
        ),
        "workflows": workflows,
        "rows": grid_rows(workflows, environments, "?" + (here + "&" if here else "") + "open="),
        "columns": [e.name for e in environments],
        "next_url": next_url,
        "previous_url": previous_url,
        "first_url": query.url(after="", before="", open="") if previous_url else None,
        "close_url": query.url(open=""),
        "summary_url": _summary_url(query),
        "export_csv": _export_url(query, "csv"),
        "export_json": _export_url(query, "json"),
        "detail": cell_detail(session, runtime, ui, query) if query.open else None,
        "legend": _legend(),
        "statuses": KNOWN_STATUSES,
        "states": KNOWN_STATES,
    }
    return render(request, ui, "matrix.html", context)


def grid_rows(
    workflows: list[dict[str, Any]], environments: list[service.MatrixEnvironment], cell_base: str
) -> list[Markup]:
    """The grid's rows as HTML: a row header (the workflow, linked to its page), then per
    environment a cell of colour (class) and symbol and text (`labels.cell_label`), a link
    that opens its detail (`<cell_base><slug>:<environment name>`) with the accessible label
    "<workflow> in <environment>: <text>".

    Built here rather than in a Jinja loop: a page is up to 200 x 20 cells, and a template
    spends most of the page's time on them (bench/ui_pages.py)."""
    base = escape(cell_base)
    columns = [(str(e.id), escape(quote(e.name, safe="")), escape(e.name)) for e in environments]
    looks: dict[tuple[str, str | None, bool], tuple[str, str, str]] = {}
    rows: list[Markup] = []
    for workflow in workflows:
        name, slug = escape(workflow["name"]), escape(workflow["slug"])
        deleted = ' <span class="tag">deleted in Git</span>' if workflow["deleted_in_git"] else ""
        parts = [f'<tr><th scope="row"><a href="/workflows/{slug}">{name}</a>{deleted}</th>']
        cells = workflow["environments"]
        for key, env_query, env_name in columns:
            cell = cells[key]
            look_key = (cell["status"], cell["state"], bool(cell.get("draft_pending")))
            look = looks.get(look_key)
            if look is None:
                status, state, draft = look_key
                found = labels.cell_label(status, state, draft_pending=draft)
                look = (escape(found.css), escape(found.symbol), escape(found.text))
                looks[look_key] = look
            css, symbol, text = look
            parts.append(
                f'<td class="{css}"><a href="{base}{slug}:{env_query}" '
                f'aria-label="{name} in {env_name}: {text}">{symbol} {text}</a></td>'
            )
        parts.append("</tr>\n")
        rows.append(Markup("".join(parts)))  # noqa: S704 (every value in it escaped above)
    return rows


def cell_detail(
    session: SessionDep, runtime: RuntimeDep, ui: UiDep, query: MatrixQuery
) -> dict[str, Any]:
    """The open cell: its workflow's catalogue entry, the environment's cell, the semantic
    diff against Git (when the environment holds a copy), and the links from it."""
    slug, sep, env_name = query.open.partition(":")
    if not sep or not slug or not env_name:
        raise Invalid("open: <workflow slug>:<environment name>")
    workflow = catalogue.get(session, ui.tenant_id, slug=slug)
    cell = next((c for c in workflow["environments"] if c["environment"] == env_name), None)
    if cell is None:
        raise NotFound(f"no environment {env_name!r}")
    diff: dict[str, Any] | None = None
    diff_note = ""
    if cell["mapping_id"] is None:
        diff_note = "This environment has no copy of the workflow."
    else:
        try:
            diff = diffs.workflow_diff(
                session,
                runtime.secrets,
                tenant_id=ui.tenant_id,
                canonical_id=workflow["id"],
                environment_id=cell["environment_id"],
                against="git",
                cache_root=runtime.settings.resolved_git_cache_dir,
            )
        except NotFound as exc:  # no copy read from n8n yet: nothing to compare
            diff_note = str(exc)
    return {
        "workflow": workflow,
        "cell": cell,
        "label": labels.cell_label(
            cell["status"], cell["state"], draft_pending=cell["draft_pending"]
        ),
        "diff": diff,
        "diff_counts": _diff_counts(diff["diff"]) if diff else [],
        "diff_lines": diff["lines"][:DIFF_LINES_SHOWN] if diff else [],
        "diff_more": max(len(diff["lines"]) - DIFF_LINES_SHOWN, 0) if diff else 0,
        "diff_note": diff_note,
        "draft": diff["draft"] if diff else None,
        "diff_url": f"/workflows/{quote(slug)}/diff?"
        + urlencode({"env": env_name, "against": "git"}),
        "workflow_url": f"/workflows/{quote(slug)}",
        "environment_url": f"/environments/{cell['environment_id']}",
        # the environment's sync confirmation (it names what a sync does), then its job
        "sync_url": f"/environments/{cell['environment_id']}/sync",
        # the reconcile page names environments and workflows as a person reads them
        "reconcile_url": "/reconcile?" + urlencode({"env": env_name, "workflows": slug}),
        "close_url": query.url(open=""),
    }


def _diff_counts(diff: dict[str, Any]) -> list[tuple[str, int]]:
    names = (
        ("nodes_added", "nodes added"),
        ("nodes_removed", "nodes removed"),
        ("nodes_renamed", "nodes renamed"),
        ("nodes_changed", "nodes changed"),
        ("connections_added", "connections added"),
        ("connections_removed", "connections removed"),
        ("connections_reordered", "connections reordered"),
        ("settings", "settings changed"),
    )
    counts = [(text, len(diff[key])) for key, text in names if diff.get(key)]
    counts += [(f"{key} changed", 1) for key in ("name", "description") if diff.get(key)]
    return counts


def _legend() -> list[labels.Label]:
    shown = [labels.STATES[s] for s in KNOWN_STATES if s in labels.STATES]
    return shown + [labels.STATUSES[s] for s in KNOWN_STATUSES if s != "linked"]


def _summary_url(query: MatrixQuery) -> str:
    return "/matrix/summary" + (
        "?" + urlencode([("env", str(e)) for e in query.env_ids]) if query.env_ids else ""
    )


def _export_url(query: MatrixQuery, format: str) -> str:
    pairs = [(k, v) for k, v in query.params() if k in FILTER_KEYS]
    return f"/matrix/export.{format}" + ("?" + urlencode(pairs) if pairs else "")


@router.get("/matrix/summary")
def matrix_summary(request: Request, session: SessionDep, ui: UiDep) -> Response:
    """Counts per environment (the page loads them after itself: they read every cell)."""
    query = parse_query(request.query_params)
    environments = service.environments_of(session, ui.tenant_id, query.env_ids)
    summary = service.summary(session, ui.tenant_id, environments)
    context = {"summary": summary, "query": query}
    return render(request, ui, "matrix_summary.html", context, block="summary")


@router.get("/matrix/export.csv")
def matrix_export_csv(
    request: Request, session: SessionDep, runtime: RuntimeDep, ui: UiDep
) -> Response:
    return _export(request, session, runtime, ui, "csv")


@router.get("/matrix/export.json")
def matrix_export_json(
    request: Request, session: SessionDep, runtime: RuntimeDep, ui: UiDep
) -> Response:
    return _export(request, session, runtime, ui, "json")


def _export(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    ui: UiDep,
    format: export.ExportFormat,
) -> Response:
    """The API's export (same service, same rows) under the session cookie."""
    query = parse_query(request.query_params)
    environments = service.environments_of(session, ui.tenant_id, query.env_ids)
    stream, media = export.stream(
        runtime.sessions, ui.tenant_id, environments, query.filters, format
    )
    headers = {"Content-Disposition": f'attachment; filename="matrix.{format}"'}
    return StreamingResponse(stream, media_type=media, headers=headers)
