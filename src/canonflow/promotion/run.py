"""The promotion job (`canonical.promotion.run`). Phase "commit": the source's versions are
read again from n8n (an item whose hash moved since the plan is refused: stale), made
Git's in one commit (`reconcile.committing`), then, pushed, deployed at once; in
pull-request mode the promotion waits for the merge (`continuation`). Phase "deploy": the
deploys (`reconcile.deploy_runner`: each target re-checked, a snapshot of what is
overwritten), sub-workflows before their callers, so a caller's reference finds them."""

from __future__ import annotations

import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from canonflow.core.hashing import content_hash
from canonflow.core.publication import running_form
from canonflow.crypto import SecretBox
from canonflow.db import leases
from canonflow.db.engine import transaction
from canonflow.db.models import Environment, Promotion, WorkflowEnvMap
from canonflow.environments.windows import window_read
from canonflow.errors import AppError
from canonflow.jobs.registry import JobContext, JobFailed, JobRegistry
from canonflow.n8n import N8nError, N8nNotFound
from canonflow.promotion.schemas import FINAL_STATES, PromotionState
from canonflow.promotion.service import finish
from canonflow.reconcile.apply import APPLY_LEASE_TTL, Clients
from canonflow.reconcile.committing import CommitBatch, commit_batch
from canonflow.reconcile.deploy_runner import DeployRunner
from canonflow.reconcile.deploying import Actor
from canonflow.reconcile.items import ApplyItem, Kind, Outcome, Result
from canonflow.sync.mappings import reference_slugs

BRANCH_PREFIX = "canonflow/promote-"
DONE = (Result.APPLIED, Result.PROPOSED)


class _Job:
    def __init__(
        self,
        context: JobContext,
        registry: JobRegistry,
        secrets: SecretBox,
        cache_root: Path,
        concurrency: int,
    ) -> None:
        self.context, self.secrets, self.cache_root = context, secrets, cache_root
        self.registry = registry
        self.concurrency = concurrency
        self.promotion_id = uuid.UUID(context.params["promotion_id"])
        with transaction(context.sessions) as session:
            promotion = self._promotion(session)
            self.items: list[dict[str, Any]] = list(promotion.items)
            self.source_id, self.target_id = (
                promotion.from_environment_id,
                promotion.to_environment_id,
            )
            self.final = PromotionState(promotion.state) in FINAL_STATES
            self.actor = Actor(
                tenant_id=context.tenant_id,
                name=promotion.requested_by,
                token_id=promotion.requested_by_token_id,
                reason=f"promotion {promotion.from_environment} -> {promotion.to_environment}",
            )
            self.target_name = promotion.to_environment

    @property
    def sessions(self) -> sessionmaker[Session]:
        return self.context.sessions

    def _promotion(self, session: Session) -> Promotion:
        found = session.get(Promotion, self.promotion_id)
        assert found is not None and found.tenant_id == self.context.tenant_id
        return found

    def _update(self, **values: Any) -> None:
        with transaction(self.sessions) as session:
            promotion = self._promotion(session)
            for key, value in values.items():
                setattr(promotion, key, value)

    def _results(self, phase: str, outcomes: list[Outcome]) -> None:
        with transaction(self.sessions) as session:
            promotion = self._promotion(session)
            results = dict(promotion.results)
            results[phase] = {
                str(o.item.canonical_id): {"slug": _slug(o.item)} | o.as_dict() for o in outcomes
            }
            promotion.results = results

    def _end(self, state: PromotionState, detail: str) -> None:
        with transaction(self.sessions) as session:
            finish(session, self.registry, self._promotion(session), state, detail)

    # --- the phases ---------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        if self.final:
            return {"promotion_id": str(self.promotion_id), "state": "already finished"}
        if self.source_id is None or self.target_id is None:
            self._end(PromotionState.FAILED, "an environment of the promotion was removed")
            raise JobFailed("an environment of the promotion was removed", result={})
        try:
            return self._phase(self.context.params.get("phase", "commit"))
        except (N8nError, AppError) as exc:  # LeaseBusy too: the promotion ends, it says why
            message = getattr(exc, "message", str(exc))
            self._end(PromotionState.FAILED, message)
            raise JobFailed(message, result=self._summary("failed", message)) from exc
        except Exception:
            self._end(PromotionState.FAILED, "internal error (see the job's error)")
            raise

    def _phase(self, phase: str) -> dict[str, Any]:
        closed = self._window_closed() if phase == "deploy" else None
        if closed is not None:  # the merge came outside the target's window
            self._end(PromotionState.FAILED, closed)
            return self._summary("failed", closed)
        with ExitStack() as stack:
            lease = stack.enter_context(
                leases.held(
                    self.sessions,
                    name=f"reconcile-apply:{self.context.tenant_id}",
                    tenant_id=self.context.tenant_id,
                    ttl=APPLY_LEASE_TTL,
                    busy_message="an apply is running: promote again once it ends",
                )
            )
            clients = Clients(self.sessions, self.secrets, self.context.tenant_id, stack)
            if phase == "commit":
                waiting = self._commit(clients)
                if waiting is not None:
                    return waiting
            return self._deploy(clients, lease)

    def _window_closed(self) -> str | None:
        """Why the deploy after a merge may not write now (the target's sync window is
        closed; the request's window override covered the request's moment only)."""
        with transaction(self.sessions) as session:
            target = session.scalars(
                select(Environment).where(
                    Environment.tenant_id == self.context.tenant_id,
                    Environment.id == self.target_id,
                )
            ).one()
            window = window_read(target)
        if window.open:
            return None
        when = f"at {window.next_open.isoformat()}" if window.next_open else "not in sight"
        return (
            f"the sync window of {self.target_name} is closed (writes next allowed {when}); "
            "Git holds the merged version: promote again or reconcile git_wins then"
        )

    def _commit(self, clients: Clients) -> dict[str, Any] | None:
        """Commit what Git lacks; a dict when the promotion now waits for its merge."""
        self._update(state=PromotionState.COMMITTING.value)
        assert self.source_id is not None
        outcomes = self._check_sources(clients, [i for i in self.items if not i["commit"]])
        commits = [self._commit_item(i) for i in self.items if i["commit"]]
        batch = CommitBatch([])
        if commits:
            batch = commit_batch(
                self.sessions, self.secrets, cache_root=self.cache_root, items=commits,
                client_for=clients, actor=self.actor, branch_prefix=BRANCH_PREFIX,
                pr_body=_pr_body(self.actor.reason),
            )  # fmt: skip
        outcomes += batch.outcomes
        self._results("commit", outcomes)
        self.context.report_progress(len(outcomes), len(self.items))
        if not any(o.result is Result.PROPOSED for o in outcomes):
            if batch.commit:
                self._update(branch=batch.branch, commit=batch.commit)
            return None
        pull = batch.pull_request
        self._update(
            state=PromotionState.WAITING_FOR_MERGE.value, branch=batch.branch,
            commit=batch.commit, pr_url=pull.url if pull else None,
            pr_number=pull.number if pull else None,
        )  # fmt: skip
        where = pull.url if pull else f"branch {batch.branch} (open its pull request)"
        return self._summary("waiting_for_merge", f"waiting for merge: {where}") | {
            "pr_url": pull.url if pull else None,
            "branch": batch.branch,
        }

    def _check_sources(self, clients: Clients, items: list[dict[str, Any]]) -> list[Outcome]:
        """The source of each item Git already holds, read again: a moved one is stale."""
        assert self.source_id is not None
        outcomes = []
        with transaction(self.sessions) as session:
            refs = reference_slugs(session, self.context.tenant_id, self.source_id)
            ids = _n8n_ids(session, self.context.tenant_id, [i["source_mapping_id"] for i in items])
        for item in items:
            apply_item = self._commit_item(item)
            try:
                read = clients(self.source_id).get_workflow(ids[item["source_mapping_id"]])
            except N8nNotFound:
                outcomes.append(Outcome(apply_item, Result.STALE, "deleted in the source"))
                continue
            if content_hash(running_form(read), refs) != item["source_hash"]:
                outcomes.append(
                    Outcome(
                        apply_item,
                        Result.STALE,
                        "the workflow changed in the source "
                        "environment since the plan: promote again",
                    )
                )
            else:
                outcomes.append(Outcome(apply_item, Result.APPLIED, "already in Git"))
        return outcomes

    def _deploy(self, clients: Clients, lease: leases.HeldLease) -> dict[str, Any]:
        self._update(state=PromotionState.DEPLOYING.value)
        with transaction(self.sessions) as session:
            committed = dict(self._promotion(session).results.get("commit", {}))
        ok = {k for k, v in committed.items() if v.get("result") in [r.value for r in DONE]}
        wanted = [i for i in self.items if i["canonical_id"] in ok and i["deploy"] != "none"]
        outcomes: list[Outcome] = []
        runner = DeployRunner(
            self.context, self.secrets, self.cache_root, clients, self.actor, len(wanted)
        )
        runner.keep_alive = lease.renew
        try:
            for level in _levels(wanted):
                runner.run([self._deploy_item(i) for i in level], self.concurrency, outcomes)
        finally:
            self._results("deploy", outcomes)
        refused = len(self.items) - len(ok)
        failed = [o for o in outcomes if o.result not in (Result.APPLIED, Result.DRAFTED)]
        deployed = sum(1 for o in outcomes if o.result in (Result.APPLIED, Result.DRAFTED))
        detail = f"{deployed} deployed to {self.target_name}"
        if failed or refused:
            detail += f"; {len(failed)} not deployed, {refused} not committed (see results)"
            self._end(PromotionState.FAILED, detail)
            return self._summary("failed", detail)
        self._end(PromotionState.SUCCEEDED, detail)
        return self._summary("succeeded", detail)

    # --- items --------------------------------------------------------------------------

    def _commit_item(self, item: dict[str, Any]) -> ApplyItem:
        assert self.source_id is not None
        mapping = item["source_mapping_id"]
        return ApplyItem(
            Kind.COMMIT, uuid.UUID(item["canonical_id"]), self.source_id,
            uuid.UUID(mapping) if mapping else None, item["source_hash"], item["git_hash"],
            "environment", label=item["slug"],
        )  # fmt: skip

    def _deploy_item(self, item: dict[str, Any]) -> ApplyItem:
        assert self.target_id is not None
        mapping = item["target_mapping_id"]
        return ApplyItem(
            Kind.DEPLOY, uuid.UUID(item["canonical_id"]), self.target_id,
            uuid.UUID(mapping) if mapping else None, item["target_hash"], item["source_hash"],
            label=f"{item['slug']}@{self.target_name}",
        )  # fmt: skip

    def _summary(self, state: str, message: str) -> dict[str, Any]:
        with transaction(self.sessions) as session:
            promotion = self._promotion(session)
            return {
                "promotion_id": str(self.promotion_id),
                "state": state,
                "message": message,
                "pr_url": promotion.pr_url,
                "results": dict(promotion.results),
            }


def run_promotion(
    context: JobContext,
    registry: JobRegistry,
    secrets: SecretBox,
    cache_root: Path,
    *,
    concurrency: int = 1,
) -> dict[str, Any]:
    return _Job(context, registry, secrets, cache_root, concurrency).run()


def _levels(items: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The items by depth of the calls among them: the ones that call none first."""
    by_slug = {i["slug"]: i for i in items}
    depth: dict[str, int] = {}

    def of(slug: str, seen: frozenset[str]) -> int:
        if slug not in depth:
            callees = [c for c in by_slug[slug]["calls"] if c in by_slug and c not in seen]
            depth[slug] = 1 + max((of(c, seen | {slug}) for c in callees), default=-1)
        return depth[slug]

    levels: dict[int, list[dict[str, Any]]] = {}
    for slug, item in by_slug.items():
        levels.setdefault(of(slug, frozenset()), []).append(item)
    return [levels[k] for k in sorted(levels)]


def _n8n_ids(
    session: Session, tenant_id: uuid.UUID, mapping_ids: list[str | None]
) -> dict[str | None, str]:
    wanted = [uuid.UUID(m) for m in mapping_ids if m]
    rows = session.execute(
        select(WorkflowEnvMap.id, WorkflowEnvMap.n8n_workflow_id).where(
            WorkflowEnvMap.tenant_id == tenant_id, WorkflowEnvMap.id.in_(wanted)
        )
    )
    return {str(row.id): row.n8n_workflow_id for row in rows}


def _slug(item: ApplyItem) -> str:
    return item.label.split("@", 1)[0]


def _pr_body(title: str) -> str:
    return (
        f"canonflow: {title}\n\nOpened by canonflow (promotion). Merge it, then sync the "
        "repository: the promotion then deploys these versions to its target environment."
    )
