"""The reconcile page: choose a strategy and a scope, read the plan (the API's dry run),
resolve each conflict in place, review the counts, apply (the API's apply job) and watch the
run to its result and the snapshots it took.

Everything the plan depends on lives in the query string (a plan is a bookmark); the apply
form carries the same fields. Names, not ids, where a person reads them: `env=prod`,
`workflows=orders billing`; a conflict's choice is `choice-<mapping id>=git|env|skip`.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from canonflow.api.deps import RuntimeDep, SessionDep
from canonflow.core.enums import Role
from canonflow.core.reconcile import ACTING, Strategy, Winner
from canonflow.db.models import Approval, BackgroundJob
from canonflow.environments import repository as environments_repository
from canonflow.errors import AppError, Conflict, Invalid, NotFound
from canonflow.jobs import service as jobs
from canonflow.reconcile import cells, service
from canonflow.reconcile.apply import RECONCILE_APPLY
from canonflow.reconcile.planning import Plan, make_plan
from canonflow.reconcile.schemas import ReconcileRequest, ReconcileScope
from canonflow.runtime import Runtime
from canonflow.web import labels
from canonflow.web.deps import Form, FormDep, Ui, UiDep, csrf_protect
from canonflow.web.held import PARAMETER, held_notice
from canonflow.web.rendering import redirect, render, with_query

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])

CHOICE_PREFIX = "choice-"
SHOWS = {
    "all": "every item",
    "acting": "what will be written",
    "conflict": "conflicts",
    "blocked": "blocked",
}
WORKFLOW_SEPARATORS = re.compile(r"[\s,]+")
LABELS = {
    "action_label": labels.action_label,
    "apply_result_label": labels.apply_result_label,
    "job_status_label": labels.job_label,
}


@dataclass
class PlanQuery:
    """The plan's fields, from the query string or the apply form."""

    strategy: Strategy | None = None
    envs: list[str] = field(default_factory=list)
    workflows: list[str] = field(default_factory=list)
    force: list[uuid.UUID] = field(default_factory=list)
    choices: dict[uuid.UUID, str] = field(default_factory=dict)
    confirm_prune: bool = False
    show: str = "all"

    @classmethod
    def parse(cls, form: Form) -> PlanQuery:
        strategy = form.get("strategy")
        try:
            chosen = Strategy(strategy) if strategy else None
            force = [uuid.UUID(v) for v in form.all("force")]
            choices = {
                uuid.UUID(name.removeprefix(CHOICE_PREFIX)): values[0]
                for name, values in form.values.items()
                if name.startswith(CHOICE_PREFIX) and values
            }
        except ValueError:
            raise Invalid("the plan's strategy, force or choices are not valid") from None
        if any(v not in ("git", "env", "skip") for v in choices.values()):
            raise Invalid("a choice is git, env or skip")
        workflows = [w for w in WORKFLOW_SEPARATORS.split(form.get("workflows")) if w]
        show = form.get("show", "all")
        return cls(
            strategy=chosen,
            envs=[e for e in form.all("env") if e],
            workflows=list(dict.fromkeys(workflows)),
            force=force,
            choices=choices,
            confirm_prune=form.get("confirm_prune") == "1",
            show=show if show in SHOWS else "all",
        )

    def pairs(self) -> list[tuple[str, str]]:
        """The fields as (name, value) pairs: hidden inputs and links carry them."""
        found: list[tuple[str, str]] = []
        if self.strategy:
            found.append(("strategy", self.strategy.value))
        found += [("env", e) for e in self.envs]
        if self.workflows:
            found.append(("workflows", " ".join(self.workflows)))
        found += [("force", str(f)) for f in self.force]
        found += [(f"{CHOICE_PREFIX}{k}", v) for k, v in self.choices.items()]
        if self.confirm_prune:
            found.append(("confirm_prune", "1"))
        return found

    def url(self, path: str) -> str:
        params: dict[str, list[str]] = {}
        for name, value in self.pairs():
            params.setdefault(name, []).append(value)
        return with_query(path, **params)

    def request(self, session: Session, tenant_id: uuid.UUID, *, dry_run: bool) -> ReconcileRequest:
        if self.strategy is None:
            raise Invalid("choose a strategy")
        environment_ids = None
        if self.envs:
            environment_ids = []
            for name in self.envs:
                found = environments_repository.get_by_name(session, tenant_id, name)
                if found is None:
                    raise Invalid(f"no environment named {name!r}")
                environment_ids.append(found.id)
        canonical_ids = None
        if self.workflows:
            by_slug = cells.canonical_ids_by_slug(session, tenant_id, self.workflows)
            unknown = [w for w in self.workflows if w not in by_slug]
            if unknown:
                raise Invalid(f"no canonical workflow {', '.join(map(repr, unknown))}")
            canonical_ids = [by_slug[w] for w in self.workflows]
        try:
            return ReconcileRequest(
                strategy=self.strategy,
                scope=ReconcileScope(environment_ids=environment_ids, canonical_ids=canonical_ids),
                dry_run=dry_run,
                force=self.force,
                choices={k: Winner(v) for k, v in self.choices.items() if v != "skip"},
                confirm_prune=self.confirm_prune,
            )
        except ValidationError as exc:
            raise Invalid(str(exc.errors()[0]["msg"])) from None


@dataclass(frozen=True)
class Tally:
    """What applying a plan writes, and what it leaves."""

    writes: dict[str, int]
    skipped: int

    @classmethod
    def of(cls, plan: Plan) -> Tally:
        acting = Counter(i.action.value for i in plan.items if i.action in ACTING)
        return cls(dict(acting), len(plan.items) - sum(acting.values()))

    @property
    def total(self) -> int:
        return sum(self.writes.values())

    def text(self) -> str:
        words = {
            "deploy": "deploy",
            "commit": "commit",
            "delete": "delete",
            "readopt": "re-adoption",
        }
        parts = [
            f"{self.writes.get(k, 0)} {w}{'' if self.writes.get(k, 0) == 1 else 's'}"
            for k, w in words.items()
            if self.writes.get(k, 0) or k in ("deploy", "commit")
        ]
        return ", ".join(parts) + f", {self.skipped} skipped"


def _plan(session: Session, ui: Ui, runtime: Runtime, query: PlanQuery) -> Plan:
    """The API's dry run, listing too what a manual plan has no choice for yet."""
    return make_plan(
        session,
        ui.tenant_id,
        query.request(session, ui.tenant_id, dry_run=True),
        prune_guard_percent=runtime.settings.prune_guard_percent,
        show_undecided=True,
    )


def _shown(plan: Plan, show: str) -> list[Any]:
    if show == "acting":
        return [i for i in plan.items if i.action in ACTING]
    if show in ("conflict", "blocked"):
        return [i for i in plan.items if i.action.value == show]
    return plan.items


@router.get("/reconcile")
def reconcile_page(
    request: Request, session: SessionDep, runtime: RuntimeDep, ui: UiDep, form: FormDep
) -> Response:
    query = PlanQuery.parse(form)
    plan: Plan | None = None
    error = None
    if query.strategy is not None:
        try:
            plan = _plan(session, ui, runtime, query)
        except AppError as exc:  # a bad scope is said beside the form, not instead of it
            error = exc.message
    context = {
        "q": query,
        "plan": plan,
        "items": _shown(plan, query.show) if plan else [],
        "tally": Tally.of(plan) if plan else None,
        "error": error,
        "environments": environments_repository.list_all(session, ui.tenant_id),
        "strategies": [s.value for s in Strategy],
        "shows": SHOWS,
        "choice_prefix": CHOICE_PREFIX,
        "held": held_notice(request, session, ui),
        **LABELS,
    }
    return render(request, ui, "reconcile.html", context, block="planner")


@router.get("/reconcile/confirm")
def confirm_page(
    request: Request, session: SessionDep, runtime: RuntimeDep, ui: UiDep, form: FormDep
) -> Response:
    query = PlanQuery.parse(form)
    plan = _plan(session, ui, runtime, query)
    context = {
        "q": query,
        "plan": plan,
        "acting": [i for i in plan.items if i.action in ACTING],
        "tally": Tally.of(plan),
        **LABELS,
    }
    return render(request, ui, "reconcile_confirm.html", context)


@router.post("/reconcile/apply")
def apply(session: SessionDep, runtime: RuntimeDep, ui: UiDep, form: FormDep) -> Response:
    principal = ui.require(Role.OPERATOR)
    query = PlanQuery.parse(form)
    reviewed = form.get("reviewed")
    now = Tally.of(_plan(session, ui, runtime, query)).text()
    if reviewed and reviewed != now:
        raise Conflict(
            f"the plan changed since you reviewed it (it wrote {reviewed}; now {now}): "
            "review it again",
            details={"reviewed": reviewed, "now": now},
        )
    job = service.reconcile(
        session,
        runtime.jobs,
        principal,
        query.request(session, ui.tenant_id, dry_run=False),
        prune_guard_percent=runtime.settings.prune_guard_percent,
    )
    if isinstance(job, Approval):  # a protected environment: held for another admin
        return redirect(f"/reconcile?{PARAMETER}={job.id}")
    assert isinstance(job, BackgroundJob)
    return redirect(f"/reconcile/runs/{job.id}")


@router.get("/reconcile/runs/{job_id}")
def run_page(request: Request, job_id: uuid.UUID, session: SessionDep, ui: UiDep) -> Response:
    job = jobs.get_or_raise(session, ui.tenant_id, job_id)
    if job.type != RECONCILE_APPLY:
        raise NotFound(f"job {job_id} is not a reconcile run: see /jobs/{job_id}")
    result = job.result or {}
    envs = {str(e.id): e.name for e in environments_repository.list_all(session, ui.tenant_id)}
    context = {
        "environment_names": envs,
        "job": job,
        "planned": job.params.get("items", []),
        "outcomes": result.get("items", []),
        "counts": result.get("counts", {}),
        "not_attempted": result.get("not_attempted", 0),
        "finished": job.status.finished,
        **LABELS,
    }
    return render(request, ui, "reconcile_run.html", context, block="run")
