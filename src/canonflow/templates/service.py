"""Template flows: list, and instantiate (checked here, written by a job). Services
flush; the caller commits. Writes are audited."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from canonflow import audit
from canonflow.core.git_layout import workflow_file_path
from canonflow.core.slugs import slugify
from canonflow.core.templates import BadParameters, Instance, Parameter, Template, instantiate
from canonflow.db.models import BackgroundJob, CanonicalWorkflow, WorkflowTemplate
from canonflow.errors import Conflict, Invalid, NotFound
from canonflow.jobs import service as jobs
from canonflow.jobs.registry import JobRegistry
from canonflow.repo import service as repositories
from canonflow.templates.schemas import TemplateParameterRead, TemplateRead
from canonflow.tenancy.service import Principal

TEMPLATE_INSTANTIATE = "template.instantiate"


def list_templates(session: Session, tenant_id: uuid.UUID) -> list[WorkflowTemplate]:
    return list(
        session.scalars(
            select(WorkflowTemplate)
            .where(WorkflowTemplate.tenant_id == tenant_id)
            .order_by(WorkflowTemplate.slug)
        )
    )


def get_or_raise(session: Session, tenant_id: uuid.UUID, slug: str) -> WorkflowTemplate:
    row = session.scalars(
        select(WorkflowTemplate).where(
            WorkflowTemplate.tenant_id == tenant_id, WorkflowTemplate.slug == slug
        )
    ).one_or_none()
    if row is None:
        raise NotFound(
            f"no template {slug!r}: templates are read from <workflows_dir>/_templates/ by "
            "the repo sync"
        )
    return row


def read(row: WorkflowTemplate) -> TemplateRead:
    return TemplateRead(
        slug=row.slug,
        name=row.name,
        description=row.description,
        parameters=[TemplateParameterRead.model_validate(p) for p in row.parameters],
        git_file_path=row.git_file_path,
        git_commit=row.git_commit,
        updated_at=row.updated_at,
    )


def as_template(row: WorkflowTemplate) -> Template:
    parameters = tuple(
        Parameter(p["name"], p.get("description") or "", p.get("default")) for p in row.parameters
    )
    return Template(row.slug, row.name, row.description, parameters, dict(row.definition))


def make_instance(row: WorkflowTemplate, values: dict[str, str]) -> Instance:
    """The new workflow file; `Invalid` (422) naming every problem of the parameters."""
    try:
        return instantiate(as_template(row), values)
    except BadParameters as exc:
        raise Invalid(
            f"template {row.slug!r}: {'; '.join(exc.problems)}",
            details={"problems": exc.problems},
        ) from None


def check_slug(slug: str) -> None:
    if slugify(slug) != slug:
        raise Invalid(
            f"{slug!r} is not a canonical slug (lowercase a-z, 0-9 and single '-'; "
            f"for example {slugify(slug)!r})"
        )


def check_free(session: Session, tenant_id: uuid.UUID, slug: str, path: str) -> None:
    """`Conflict` when a live canonical workflow holds the slug or the file."""
    taken = session.scalars(
        select(CanonicalWorkflow).where(
            CanonicalWorkflow.tenant_id == tenant_id,
            CanonicalWorkflow.is_deleted.is_(False),
            or_(CanonicalWorkflow.canonical_slug == slug, CanonicalWorkflow.git_file_path == path),
        )
    ).first()
    if taken is not None:
        where = taken.git_file_path or "not yet in Git"
        raise Conflict(
            f"the slug {slug!r} is taken by canonical workflow {taken.name!r} ({where})",
            details={"canonical_id": str(taken.id)},
        )


def instantiate_template(
    session: Session,
    registry: JobRegistry,
    principal: Principal,
    template_slug: str,
    *,
    slug: str,
    parameters: dict[str, str],
) -> BackgroundJob:
    """Check everything that can be checked here (template, slug, parameters, the result),
    then queue the job that writes `<workflows_dir>/<slug>.json` to Git."""
    row = get_or_raise(session, principal.tenant_id, template_slug)
    check_slug(slug)
    instance = make_instance(row, parameters)
    repository = repositories.get_or_raise(session, principal.tenant_id)
    path = workflow_file_path(repository.workflows_dir, slug)
    check_free(session, principal.tenant_id, slug, path)
    params: dict[str, Any] = {
        "template": row.slug,
        "slug": slug,
        "values": instance.values,
        "actor": principal.name,
        "actor_token_id": str(principal.token_id) if principal.token_id else None,
    }
    job = jobs.enqueue(
        session,
        registry,
        tenant_id=principal.tenant_id,
        job_type=TEMPLATE_INSTANTIATE,
        params=params,
        created_by=principal,
    )
    audit.record_by(
        session,
        principal,
        action="template.instantiate",
        target_type="workflow_template",
        target_id=str(row.id),
        details={
            "template": row.slug,
            "slug": slug,
            "path": path,
            "parameters": instance.values,
            "job_id": str(job.id),
        },
    )
    return job
