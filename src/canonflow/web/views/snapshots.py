"""Snapshots: what each write overwrote (workflow, environment, when, by which job), its
diff against what that side holds now, and a restore (the API's restore job), confirmed
first. Filters live in the query string: `env=<name>`, `workflow=<slug>`, `cursor=`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from canonflow.api.deps import RuntimeDep, SessionDep
from canonflow.api.pagination import decode_cursor, encode_cursor
from canonflow.core.enums import Role, SnapshotSide
from canonflow.db.models import Approval, Snapshot
from canonflow.environments import repository as environments_repository
from canonflow.errors import Invalid, NotFound
from canonflow.reconcile import cells, service, snapshot_reading, snapshots
from canonflow.web.deps import Ui, UiDep, csrf_protect
from canonflow.web.held import PARAMETER, held_notice
from canonflow.web.rendering import redirect, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])

PAGE_SIZE = 50


def _names(session: Session, tenant_id: uuid.UUID, found: list[Snapshot]) -> dict[str, Any]:
    """Environment names and canonical workflows (slug, name) of `found`, by id."""
    environments = {e.id: e.name for e in environments_repository.list_all(session, tenant_id)}
    wanted = list({s.canonical_id for s in found if s.canonical_id is not None})
    canonicals = {
        c.id: c
        for c in (
            cells.canonicals(session, tenant_id, wanted, include_deleted=True) if wanted else []
        )
    }
    return {"environment_names": environments, "canonicals": canonicals}


def _after(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        at, last = decode_cursor(cursor)
        return datetime.fromisoformat(at), uuid.UUID(last)
    except (ValueError, TypeError):
        raise Invalid("invalid cursor: follow the page's Next link") from None


@router.get("/snapshots")
def snapshots_page(
    request: Request,
    session: SessionDep,
    ui: UiDep,
    env: str = "",
    workflow: str = "",
    cursor: str = "",
) -> Response:
    environment_id = canonical_id = None
    if env:
        found_env = environments_repository.get_by_name(session, ui.tenant_id, env)
        if found_env is None:
            raise NotFound(f"no environment named {env!r}")
        environment_id = found_env.id
    if workflow:
        by_slug = cells.canonical_ids_by_slug(session, ui.tenant_id, [workflow])
        if workflow not in by_slug:
            raise NotFound(f"no canonical workflow {workflow!r}")
        canonical_id = by_slug[workflow]
    rows = snapshots.list_page(
        session, ui.tenant_id, limit=PAGE_SIZE + 1, after=_after(cursor) if cursor else None,
        canonical_id=canonical_id, environment_id=environment_id,
    )  # fmt: skip
    page, more = rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
    next_cursor = (
        encode_cursor([page[-1].created_at.isoformat(), str(page[-1].id)]) if more else None
    )
    context = {
        "snapshots": page,
        "env": env,
        "workflow": workflow,
        "cursor": cursor,
        "next_cursor": next_cursor,
        "jobs": snapshot_reading.jobs_of(session, ui.tenant_id, page),
        "environments": environments_repository.list_all(session, ui.tenant_id),
        **_names(session, ui.tenant_id, page),
    }
    return render(request, ui, "snapshots.html", context, block="list")


def _detail(session: Session, ui: Ui, snapshot_id: uuid.UUID) -> dict[str, Any]:
    snapshot = snapshots.get_or_raise(session, ui.tenant_id, snapshot_id)
    names = _names(session, ui.tenant_id, [snapshot])
    env_name = names["environment_names"].get(snapshot.environment_id, "(gone)")
    return {
        "s": snapshot,
        "where": f"n8n {env_name}" if snapshot.side is SnapshotSide.ENV else "Git",
        "diff": snapshot_reading.diff_against_now(session, snapshot),
        "jobs": snapshot_reading.jobs_of(session, ui.tenant_id, [snapshot]),
        **names,
    }


@router.get("/snapshots/{snapshot_id}")
def snapshot_page(
    request: Request, snapshot_id: uuid.UUID, session: SessionDep, ui: UiDep
) -> Response:
    context = _detail(session, ui, snapshot_id) | {"held": held_notice(request, session, ui)}
    return render(request, ui, "snapshot.html", context | {"confirm": False}, block="diff")


@router.get("/snapshots/{snapshot_id}/restore")
def restore_page(
    request: Request, snapshot_id: uuid.UUID, session: SessionDep, ui: UiDep
) -> Response:
    context = _detail(session, ui, snapshot_id)
    return render(request, ui, "snapshot.html", context | {"confirm": True})


@router.post("/snapshots/{snapshot_id}/restore")
def restore(
    snapshot_id: uuid.UUID, session: SessionDep, runtime: RuntimeDep, ui: UiDep
) -> Response:
    principal = ui.require(Role.OPERATOR)
    job = service.restore(session, runtime.jobs, principal, snapshot_id)
    if isinstance(job, Approval):  # a protected environment: held for another admin
        return redirect(f"/snapshots/{snapshot_id}?{PARAMETER}={job.id}")
    return redirect(f"/reconcile/runs/{job.id}")
