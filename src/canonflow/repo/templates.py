"""The repo sync's reading of `<workflows_dir>/_templates/*.json` into `workflow_templates`.

Templates are few and small: every run lists the directory at the new head and reads the
files whose blob changed since the stored row (nothing when none did). A bad template is
reported like a bad workflow file (path and reason) and skipped; its last good version, if
any, stays listed. A template whose file is gone is removed. Templates are never canonical
workflows: the workflow sync reads only the files directly in `<workflows_dir>`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from canonflow.core.git_files import slug_for_path
from canonflow.core.git_layout import slug_of_path
from canonflow.core.templates import InvalidTemplate, Template, parse_template, templates_dir
from canonflow.db.models import WorkflowTemplate
from canonflow.db.types import utcnow
from canonflow.git import GitRepository


@dataclass(frozen=True)
class StoredTemplate:
    path: str
    slug: str
    blob_id: str


@dataclass(frozen=True)
class ReadTemplate:
    path: str
    blob_id: str
    template: Template


@dataclass
class TemplateRead:
    """What one run found: templates to write, paths still present, problems."""

    seen: int = 0
    changed: list[ReadTemplate] = field(default_factory=list)
    present: set[str] = field(default_factory=set)
    skipped: list[dict[str, str]] = field(default_factory=list)


@dataclass
class TemplateOutcome:
    seen: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "seen": self.seen,
            "created": self.created,
            "updated": self.updated,
            "deleted": self.deleted,
        }


def stored(session: Session, tenant_id: uuid.UUID) -> list[StoredTemplate]:
    rows = session.execute(
        select(
            WorkflowTemplate.git_file_path, WorkflowTemplate.slug, WorkflowTemplate.git_blob_id
        ).where(WorkflowTemplate.tenant_id == tenant_id)
    )
    return [StoredTemplate(path, slug, blob) for path, slug, blob in rows]


def read(
    git: GitRepository,
    head: str,
    workflows_dir: str,
    known: list[StoredTemplate],
    *,
    max_bytes: int,
) -> TemplateRead:
    """Read the templates at `head` whose blob is not the one stored (outside any
    transaction: only the local clone is read). Two files of one slug: the one whose stem
    already is the slug wins, then path order (as for workflow files); the other is
    skipped."""
    found = TemplateRead()
    by_path = {k.path: k for k in known}
    files = git.list_files(head, templates_dir(workflows_dir))
    winners: dict[str, str] = {}
    for file in sorted(
        files, key=lambda f: (slug_for_path(f.path) != slug_of_path(f.path), f.path)
    ):
        winners.setdefault(slug_for_path(file.path), file.path)
    for file in files:
        found.seen += 1
        found.present.add(file.path)
        slug = slug_for_path(file.path)
        if winners[slug] != file.path:
            found.skipped.append(_skip(file.path, f"its slug {slug!r} is taken by {winners[slug]}"))
            continue
        stored_row = by_path.get(file.path)
        if stored_row is not None and stored_row.blob_id == file.blob_id:
            continue
        if file.size > max_bytes:
            found.skipped.append(
                _skip(file.path, f"over the size limit ({file.size} > {max_bytes} bytes)")
            )
            continue
        try:
            template = parse_template(git.read_blob(file.blob_id), slug=slug)
        except InvalidTemplate as exc:
            found.skipped.append(_skip(file.path, str(exc)))
            continue
        found.changed.append(ReadTemplate(file.path, file.blob_id, template))
    return found


def apply(
    session: Session, tenant_id: uuid.UUID, found: TemplateRead, *, head: str
) -> TemplateOutcome:
    """Write what `read` found: upsert the changed templates, remove the ones whose file
    is gone. The caller holds the sync's lease in this transaction."""
    outcome = TemplateOutcome(seen=found.seen)
    rows = {
        row.git_file_path: row
        for row in session.scalars(
            select(WorkflowTemplate).where(WorkflowTemplate.tenant_id == tenant_id)
        )
    }
    gone = [row.id for path, row in rows.items() if path not in found.present]
    if gone:
        session.execute(
            delete(WorkflowTemplate).where(
                WorkflowTemplate.tenant_id == tenant_id, WorkflowTemplate.id.in_(gone)
            )
        )
        outcome.deleted = len(gone)
    by_slug = {row.slug: row for path, row in rows.items() if path in found.present}
    for item in found.changed:
        row = rows.get(item.path) or by_slug.get(item.template.slug)
        if row is None:
            row = WorkflowTemplate(tenant_id=tenant_id)
            session.add(row)
            outcome.created += 1
        else:
            outcome.updated += 1
        _fill(row, item, head)
    session.flush()
    return outcome


def _fill(row: WorkflowTemplate, item: ReadTemplate, head: str) -> None:
    template = item.template
    row.slug, row.name, row.description = template.slug, template.name, template.description
    row.parameters = [p.as_dict() for p in template.parameters]
    row.definition = template.definition
    row.git_file_path, row.git_blob_id, row.git_commit = item.path, item.blob_id, head
    row.updated_at = utcnow()


def _skip(path: str, reason: str) -> dict[str, Any]:
    return {"path": path, "reason": f"template: {reason}"}
