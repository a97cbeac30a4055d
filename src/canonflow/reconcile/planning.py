"""The plan: per mapping in scope, what a strategy does and why (`core.reconcile`), with the
deploys checked against each target's credentials and workflow references. Read only: from
the database, never n8n or Git (DESIGN §6a)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from canonflow.core.credential_index import CredentialIndex, index_of_listing, index_of_references
from canonflow.core.deploy import DeployBlocked, build_deploy_body
from canonflow.core.reconcile import ACTING, Action, Cell, Decision, Strategy, Winner, plan
from canonflow.core.sync_state import SyncState
from canonflow.errors import NotFound
from canonflow.reconcile import cells
from canonflow.reconcile.cells import PlanRow
from canonflow.reconcile.prune_guard import held_environments
from canonflow.reconcile.schemas import Blocker, PlanItem, ReconcileRequest
from canonflow.sync import mappings


@dataclass
class Plan:
    strategy: Strategy
    items: list[PlanItem]
    counts: Counter[str] = field(default_factory=Counter)
    held: list[str] = field(default_factory=list)  # why the prune guard holds deletes

    @property
    def acting(self) -> list[PlanItem]:
        return [i for i in self.items if i.action in ACTING]


@dataclass
class TargetFacts:
    """What a deploy to one environment needs from the database."""

    credentials: CredentialIndex
    workflow_ids: dict[str, str]  # canonical slug -> n8n workflow id
    refs: dict[str, str]  # n8n workflow id -> canonical slug


def make_plan(
    session: Session,
    tenant_id: uuid.UUID,
    request: ReconcileRequest,
    *,
    prune_guard_percent: float,
    check_deploys: bool = True,
    show_undecided: bool = False,
) -> Plan:
    """The plan of `request`. `check_deploys`: check each deploy against its target's
    credentials and references (an apply skips it: its job blocks the same items itself).
    `show_undecided`: list too the cells whose sides differ but that the plan leaves (a
    manual plan's cells without a choice yet), so a person can choose for them.
    Deletes the prune guard holds (unless `confirm_prune`) are blocked, and said in `held`."""
    envs = cells.environments(session, tenant_id, request.scope.environment_ids)
    _check_known(request.scope.environment_ids, [e.id for e in envs], "environment")
    canonical_ids = request.scope.canonical_ids
    if canonical_ids is not None:
        found = [
            c.id for c in cells.canonicals(session, tenant_id, canonical_ids, include_deleted=True)
        ]
        _check_known(canonical_ids, found, "canonical workflow")
    rows = cells.plan_rows(session, tenant_id, envs, canonical_ids)
    forced = set(request.force)
    _check_named(forced | set(request.choices), rows)
    decisions = plan(
        [_cell(row, scoped=canonical_ids is not None) for row in rows],
        request.strategy,
        forced=[row.mapping_id in forced for row in rows],
        choices=[_choice(request.choices, row) for row in rows],
    )
    held = {}
    if not request.confirm_prune:
        held = held_environments(session, tenant_id, rows, decisions, percent=prune_guard_percent)
    result = Plan(request.strategy, [], held=list(held.values()))
    targets: dict[uuid.UUID, TargetFacts] = {}
    definitions = _definitions(session, tenant_id, rows, decisions) if check_deploys else {}
    for row, decision in zip(rows, decisions, strict=True):
        blockers: list[Blocker] = []
        if decision.action is Action.DELETE and row.environment_id in held:
            blockers = [Blocker(kind="prune_guard", detail=held[row.environment_id])]
            decision = Decision(Action.BLOCKED, held[row.environment_id], decision.state)
        if decision.action is Action.DEPLOY and check_deploys:
            facts = targets.get(row.environment_id) or target_facts(
                session, tenant_id, row.environment_id
            )
            targets[row.environment_id] = facts
            blockers = deploy_blockers(definitions[row.canonical_id], facts)
            if blockers:
                decision = Decision(Action.BLOCKED, _blocked_reason(blockers), decision.state)
        result.counts[decision.action.value] += 1
        shown = decision.action is not Action.NONE or decision.state is SyncState.ORPHANED
        shown = shown or (show_undecided and decision.state not in (None, SyncState.IN_SYNC))
        if shown or canonical_ids is not None:
            result.items.append(_item(row, decision, blockers))
    return result


def target_facts(
    session: Session,
    tenant_id: uuid.UUID,
    environment_id: uuid.UUID,
    *,
    listed_credentials: Iterable[Mapping[str, Any]] | None = None,
) -> TargetFacts:
    """What a deploy to the environment needs. `listed_credentials`: the environment's own
    credential listing (n8n 2.x), read by the caller before this transaction; without it
    (1.x, a plan: read only, no n8n) the credentials are learnt from the stored workflows."""
    bindings = cells.bindings(session, tenant_id, environment_id)
    if listed_credentials is not None:
        index = index_of_listing(listed_credentials, bindings)
    else:
        index = index_of_references(
            cells.credential_references(session, tenant_id, environment_id), bindings
        )
    ids = cells.workflow_ids(session, tenant_id, environment_id)
    return TargetFacts(index, ids, mappings.reference_slugs(session, tenant_id, environment_id))


def deploy_blockers(definition: dict[str, object], facts: TargetFacts) -> list[Blocker]:
    """Why `definition` cannot be written to the target (empty: it can)."""
    try:
        build_deploy_body(
            definition, target=None, credentials=facts.credentials, workflow_ids=facts.workflow_ids
        )
    except DeployBlocked as blocked:
        return [Blocker(kind=b.kind.value, detail=b.detail) for b in blocked.blockers]
    return []


def _blocked_reason(blockers: Sequence[Blocker]) -> str:
    return "cannot deploy: " + "; ".join(b.detail for b in blockers)


def _definitions(
    session: Session, tenant_id: uuid.UUID, rows: list[PlanRow], decisions: list[Decision]
) -> dict[uuid.UUID, dict[str, object]]:
    wanted = {
        r.canonical_id for r, d in zip(rows, decisions, strict=True) if d.action is Action.DEPLOY
    }
    if not wanted:
        return {}
    return {c.id: c.workflow_definition for c in cells.canonicals(session, tenant_id, list(wanted))}


def _cell(row: PlanRow, *, scoped: bool) -> Cell:
    """The cell as the plan decides on it: with ignore rules, by its ignored hashes (a cell
    in sync thanks to them plans nothing)."""
    env, git, base = row.state_hashes or (row.env_hash, row.git_hash, row.base_hash)
    return Cell(
        canonical_key=str(row.canonical_id),
        status=row.status,
        env_hash=env,
        git_hash=git,
        base_hash=base,
        scoped=scoped,
        canonical_deleted=row.canonical_deleted,
    )


def _choice(choices: dict[uuid.UUID, Winner], row: PlanRow) -> Winner | None:
    return choices.get(row.mapping_id) if row.mapping_id is not None else None


def _item(row: PlanRow, decision: Decision, blockers: list[Blocker]) -> PlanItem:
    return PlanItem(
        mapping_id=row.mapping_id,
        canonical_id=row.canonical_id,
        slug=row.slug,
        name=row.name,
        environment_id=row.environment_id,
        environment=row.environment,
        action=decision.action,
        reason=decision.reason,
        state=decision.state,
        env_hash=row.env_hash,
        git_hash=row.git_hash,
        base_hash=row.base_hash,
        blockers=blockers,
    )


def _check_named(mapping_ids: set[uuid.UUID], rows: list[PlanRow]) -> None:
    """Every mapping `force` or `choices` names must be one the plan covers."""
    unknown = mapping_ids - {r.mapping_id for r in rows if r.mapping_id is not None}
    if unknown:
        raise NotFound(
            f"mapping {sorted(map(str, unknown))[0]} is not in the plan's scope "
            "(force and choices take mapping ids of linked workflows in scope)"
        )


def _check_known(wanted: Sequence[uuid.UUID] | None, found: Sequence[uuid.UUID], what: str) -> None:
    missing = set(wanted or ()) - set(found)
    if missing:
        raise NotFound(f"no {what} {sorted(map(str, missing))[0]}")
