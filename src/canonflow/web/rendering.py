"""Rendering pages and fragments.

One Jinja2 environment (autoescaped) for every UI template. A view renders a whole page, or,
for an htmx request, one named block of the same template (jinja2-fragments): the page and
its partial update can never disagree. Every context carries `ui` (the signed-in person:
`ui.can("operator")` hides what they cannot use) and `csrf_token` for forms.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from jinja2_fragments.fastapi import Jinja2Blocks

from canonflow import __version__
from canonflow.web import labels
from canonflow.web.deps import Ui

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_VERSION = __version__

templates = Jinja2Blocks(directory=str(TEMPLATES_DIR))


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def render(
    request: Request,
    ui: Ui | None,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    block: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """The page, or only `block` of it when htmx asks (a full page otherwise, so every URL
    also works as a bookmark and without JavaScript)."""
    full = {
        "request": request,
        "ui": ui,
        "csrf_token": ui.csrf_token if ui else "",
        "static_version": STATIC_VERSION,
        **(context or {}),
    }
    block_name = block if block and is_htmx(request) else None
    response: Response = templates.TemplateResponse(
        request, template, full, status_code=status, headers=headers, block_name=block_name
    )
    return response


def redirect(url: str, *, status: int = 303) -> Response:
    """After a POST: go to the page that shows the outcome (303, so a reload does not post
    again). htmx follows the same answer."""
    return RedirectResponse(url, status_code=status)


def with_query(path: str, **params: Any) -> str:
    """`path` with the non-empty `params` as its query string."""
    kept = {key: value for key, value in params.items() if value not in (None, "", [], ())}
    return f"{path}?{urlencode(kept, doseq=True)}" if kept else path


def _ago(value: datetime | None) -> str:
    """ "3 min ago" for a timestamp (the exact time goes in a title attribute)."""
    if value is None:
        return "never"
    seconds = int((datetime.now(UTC) - value).total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            text = f"{seconds // size} {unit}"
            break
    else:
        text = f"{seconds} s"
    return f"in {text}" if future else f"{text} ago"


def _iso(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


templates.env.filters["ago"] = _ago
templates.env.filters["iso"] = _iso
templates.env.globals["with_query"] = with_query
templates.env.globals["label"] = labels.label
templates.env.globals["cell_label"] = labels.cell_label
templates.env.globals["STATES"] = labels.STATES
templates.env.globals["STATUSES"] = labels.STATUSES
templates.env.globals["job_label"] = labels.job_label
templates.env.globals["outcome_label"] = labels.outcome_label
templates.env.globals["reachability"] = labels.reachability
