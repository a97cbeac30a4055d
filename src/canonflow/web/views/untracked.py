"""The untracked page: n8n workflows with no canonical workflow, grouped by environment,
each with why it did not auto-link and what it could link to; select many, see what will
happen, then link, create canonical workflows, ignore or un-ignore them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from canonflow.api.deps import SessionDep
from canonflow.api.pagination import decode_cursor, encode_cursor
from canonflow.core.enums import Role
from canonflow.environments import repository as environments_repository
from canonflow.environments import service as environments
from canonflow.errors import Invalid
from canonflow.linking import service
from canonflow.linking.suggestions import Advice, advise
from canonflow.linking.untracked import UntrackedRow, ignored_page, rows_by_id, untracked_page
from canonflow.web.deps import Form, FormDep, Ui, UiDep, csrf_protect
from canonflow.web.rendering import redirect, render, with_query

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])

PAGE_SIZE = 50
MAX_SELECTED = 1000  # as the bulk link endpoint
ACTIONS = {
    "link": "Link to the chosen canonical workflow",
    "create": "Make a new canonical workflow of each",
    "ignore": "Ignore",
    "unignore": "Un-ignore",
}
DONE = {
    "link": "Linked",
    "create": "Linked to new canonical workflows",
    "ignore": "Ignored",
    "unignore": "Un-ignored",
}


@dataclass
class Group:
    environment_id: uuid.UUID
    environment_name: str
    rows: list[UntrackedRow] = field(default_factory=list)


def listing(
    session: Session, ui: Ui, *, env: str, show: str, after: str, page_size: int = PAGE_SIZE
) -> dict[str, Any]:
    """What the list shows (the untracked page, and the onboarding wizard's link step)."""
    environment_id = _uuid_or_none("env", env)
    if environment_id is not None:
        environments.get_or_raise(session, ui.tenant_id, environment_id)
    ignored = show == "ignored"
    read = ignored_page if ignored else untracked_page
    rows = read(
        session,
        ui.tenant_id,
        environment_id=environment_id,
        limit=page_size + 1,
        after=_after(after) if after else None,
    )
    next_cursor = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        next_cursor = encode_cursor([rows[-1].name, str(rows[-1].mapping_id)])
    groups: dict[uuid.UUID, Group] = {}
    for row in rows:
        groups.setdefault(
            row.environment_id, Group(row.environment_id, row.environment_name)
        ).rows.append(row)
    advice = {} if ignored else advise(session, ui.tenant_id, rows)
    return {
        "groups": sorted(groups.values(), key=lambda g: g.environment_name),
        "advice": advice,
        "next_cursor": next_cursor,
        "env": env,
        "show": "ignored" if ignored else "",
        "after": after,
        "environments": environments_repository.list_all(session, ui.tenant_id),
    }


@router.get("/untracked")
def untracked(request: Request, session: SessionDep, ui: UiDep, form: FormDep) -> Response:
    context = listing(
        session, ui, env=form.get("env"), show=form.get("show"), after=form.get("after")
    )
    context["result"] = _result(form)
    context["back"] = ""
    return render(request, ui, "untracked.html", context, block="listing")


@router.get("/untracked/preview")
def preview(request: Request, session: SessionDep, ui: UiDep, form: FormDep) -> Response:
    """What the chosen action will do to the selected workflows, before it does it."""
    action, ids = _selection(form)
    rows = rows_by_id(session, ui.tenant_id, ids)
    advice: dict[uuid.UUID, Advice] = (
        advise(
            session, ui.tenant_id, [r for r in rows if r.status.value in ("untracked", "missing")]
        )
        if action == "link"
        else {}
    )
    items = []
    for row in rows:
        target = None
        if action == "link":
            chosen = form.get(f"to.{row.mapping_id}")
            found = advice.get(row.mapping_id)
            target = next(
                (s for s in (found.suggestions if found else []) if str(s.canonical_id) == chosen),
                None,
            )
        items.append({"row": row, "target": target})
    runs = [i for i in items if action != "link" or i["target"] is not None]
    return render(
        request,
        ui,
        "untracked_preview.html",
        {
            "action": action,
            "action_text": ACTIONS[action],
            "items": items,
            "runs": len(runs),
            "skipped": len(items) - len(runs),
            "unknown": len(ids) - len(rows),
            "env": form.get("env"),
            "show": form.get("show"),
            "back": _back(form),
        },
    )


@router.post("/untracked/apply")
def apply(session: SessionDep, ui: UiDep, form: FormDep) -> Response:
    principal = ui.require(Role.OPERATOR)
    action, ids = _selection(form)
    errors: list[str] = []
    if action in ("link", "create"):
        requests = [
            service.LinkRequest(i, form.uuid(f"to.{i}") if action == "link" else None) for i in ids
        ]
        outcomes = service.link_many(session, principal, requests)
        errors = [o.error.message for o in outcomes if o.error is not None]
    else:
        changed = service.set_ignored_many(session, principal, ids, ignored=action == "ignore")
        errors = [error.message for _i, error in changed if error is not None]
    return redirect(
        with_query(
            _back(form) or "/untracked",
            env=form.get("env"),
            show=form.get("show"),
            done=action,
            ok=len(ids) - len(errors),
            failed=len(errors),
            error=errors[0] if errors else "",
        )
    )


def _selection(form: Form) -> tuple[str, list[uuid.UUID]]:
    action = form.get("action")
    if action not in ACTIONS:
        raise Invalid(f"action: one of {', '.join(ACTIONS)}")
    selected = form.all("m")
    if not selected:
        raise Invalid("select at least one workflow")
    if len(selected) > MAX_SELECTED:
        raise Invalid(f"select at most {MAX_SELECTED} workflows at a time")
    ids: list[uuid.UUID] = []
    for value in selected:
        parsed = _uuid_or_none("m", value)
        if parsed is not None and parsed not in ids:
            ids.append(parsed)
    return action, ids


def _back(form: Form) -> str:
    """Where the action returns: the untracked page, or the onboarding wizard (only these:
    never an address from elsewhere)."""
    return "/onboarding" if form.get("back") == "/onboarding" else ""


def _result(form: Form) -> dict[str, Any] | None:
    action = form.get("done")
    if action not in DONE:
        return None
    return {
        "text": DONE[action],
        "ok": form.get("ok", "0"),
        "failed": form.get("failed", "0"),
        "error": form.get("error"),
    }


def _uuid_or_none(name: str, value: str) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Invalid(f"{name}: not a valid id") from None


def _after(cursor: str) -> tuple[str | None, uuid.UUID]:
    try:
        name, last_id = decode_cursor(cursor)
        if name is not None and not isinstance(name, str):
            raise ValueError(name)
        return name, uuid.UUID(last_id)
    except (ValueError, TypeError, Invalid):
        raise Invalid("after: not a page of this list; start again from the first") from None
