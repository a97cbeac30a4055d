"""Keep the cells' ignored hashes current (docs/ignore-rules.md).

A cell's *ignored* hashes are the content hashes of its two documents with the paths of
the tenant's applicable ignore rules left out: the environment's stored `workflow_data`
(what it runs), with the environment's reference map, and the canonical's
`workflow_definition`. The base's is the env's or Git's ignored hash where the raw base
equals that side's raw hash, else unknown. The raw hash columns are never touched.

`refresh` runs right before `record_state_changes` computes states, on the same scope. It
reads stored JSON only (no n8n, no Git), and only for cells whose inputs changed: the
tenant's rule list or one of the raw hashes (`ignored_inputs` holds what they were).
Without any rule it clears what a removed rule left, set-based.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import String, Table, bindparam, func, literal, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from canonflow.core.definitions import referenced_ids
from canonflow.core.hashing import hash_normalized
from canonflow.core.ignore_rules import (
    IgnoreRule,
    applicable,
    apply_ignores,
    fingerprint,
    rules_fingerprint,
)
from canonflow.core.normalize import InvalidWorkflow, normalize
from canonflow.db.models import CanonicalWorkflow, IgnoreRuleEntry, WorkflowEnvMap
from canonflow.db.planner import unindexed

CANONICALS: Table = CanonicalWorkflow.__table__  # type: ignore[assignment]
MAPPINGS: Table = WorkflowEnvMap.__table__  # type: ignore[assignment]
CHUNK = 500  # cells whose documents are read at once
IGNORED_COLUMNS = (
    "ignore_fingerprint",
    "env_ignored_hash",
    "git_ignored_hash",
    "base_ignored_hash",
    "ignored_inputs",
)


def tenant_rules(session: Session, tenant_id: uuid.UUID) -> list[IgnoreRule]:
    """The tenant's ignore rules, in their order."""
    rows = session.scalars(
        select(IgnoreRuleEntry)
        .where(IgnoreRuleEntry.tenant_id == tenant_id)
        .order_by(IgnoreRuleEntry.position)
    )
    return [
        IgnoreRule(r.path, tuple(r.workflows or ()), tuple(r.environments or ()), r.note)
        for r in rows
    ]


def refresh(
    session: Session,
    tenant_id: uuid.UUID,
    where: Sequence[ColumnElement[bool]] = (),
    *,
    keyed: bool = False,
) -> int:
    """Make the ignored hashes of the tenant's cells (those matching `where`, conditions on
    `workflow_env_map`) current. Returns how many cells' ignored hashes were computed
    again or cleared (a cell whose applicable rules and raw hashes are unchanged keeps its
    hashes: only its record of the inputs moves). `keyed`: `where` names the cells by id,
    so the tenant condition must not drive SQLite's plan (`canonflow.db.planner`)."""
    m = MAPPINGS
    tenant = unindexed(m.c.tenant_id) if keyed else m.c.tenant_id
    scope = [tenant == tenant_id, *where]
    rules = tenant_rules(session, tenant_id)
    if not rules:
        cleared = session.execute(
            update(m)
            .where(*scope, m.c.ignored_inputs.is_not(None))
            .values(dict.fromkeys(IGNORED_COLUMNS))
            .execution_options(synchronize_session=False)
        )
        return int(getattr(cleared, "rowcount", 0) or 0)
    inputs = _inputs(rules_fingerprint(rules))
    stale = session.execute(
        select(
            m.c.id,
            m.c.environment_id,
            m.c.canonical_id,
            CANONICALS.c.canonical_slug,
            m.c.env_content_hash,
            m.c.git_content_hash,
            m.c.base_content_hash,
            m.c.ignore_fingerprint,
            m.c.ignored_inputs,
            inputs.label("inputs"),
        )
        .join(CANONICALS, CANONICALS.c.id == m.c.canonical_id)
        .where(*scope, inputs.is_distinct_from(m.c.ignored_inputs))
    ).all()
    plain: list[dict[str, Any]] = []
    current: list[dict[str, Any]] = []
    ruled: list[tuple[Any, list[IgnoreRule]]] = []
    for row in stale:
        rules_here = applicable(rules, row.canonical_slug, row.environment_id)
        if not rules_here:
            plain.append({**dict.fromkeys(IGNORED_COLUMNS), "ignored_inputs": row.inputs})
            plain[-1]["b_id"] = row.id
        elif _same_hashes(row) and row.ignore_fingerprint == fingerprint(rules_here):
            current.append({"b_id": row.id, "ignored_inputs": row.inputs})  # rules elsewhere
        else:
            ruled.append((row, rules_here))
    _write(session, plain)
    _write(session, current, columns=("ignored_inputs",))
    ruled.sort(key=lambda item: str(item[0].canonical_id))  # a canonical's cells together
    git_hashes: dict[tuple[Any, str | None], str | None] = {}
    for start in range(0, len(ruled), CHUNK):
        chunk = ruled[start : start + CHUNK]
        _write(session, _computed(session, tenant_id, chunk, git_hashes))
    return len(ruled) + len(plain)


def _inputs(rules_fp: str) -> ColumnElement[str]:
    """What a cell's ignored hashes are computed from, as one string: the tenant's rule
    list, the canonical slug and the three raw hashes (a query joined to the canonical)."""
    m = MAPPINGS
    parts: list[ColumnElement[Any]] = [literal(rules_fp, String)]
    for column in (
        CANONICALS.c.canonical_slug,  # a renamed file may match other globs
        m.c.env_content_hash,
        m.c.git_content_hash,
        m.c.base_content_hash,
    ):
        parts += [literal("|", String), func.coalesce(column, "")]
    return _joined(parts)


def _joined(parts: Sequence[ColumnElement[Any]]) -> ColumnElement[str]:
    result = parts[0]
    for part in parts[1:]:
        result = result + part  # `||` on both backends
    return result


def _computed(
    session: Session,
    tenant_id: uuid.UUID,
    ruled: Sequence[tuple[Any, list[IgnoreRule]]],
    git_hashes: dict[tuple[Any, str | None], str | None],
) -> list[dict[str, Any]]:
    """The ignored hashes of the cells: Git's document once per canonical workflow and
    set of rules (`git_hashes`, kept across chunks), the environment's only where its raw
    hash differs from Git's."""
    m, c = MAPPINGS, CANONICALS
    needed = {(row.canonical_id, fingerprint(rules)) for row, rules in ruled}
    wanted = {key[0] for key in needed if key not in git_hashes}
    definitions = {
        r.id: r.workflow_definition
        for r in session.execute(
            select(c.c.id, c.c.workflow_definition).where(
                unindexed(c.c.tenant_id) == tenant_id, c.c.id.in_(wanted)
            )
        )
    }
    differing = [row.id for row, _rules in ruled if not _raw_equal(row)]
    data: dict[Any, Any] = {}
    if differing:
        data = {
            r.id: r.workflow_data
            for r in session.execute(
                select(m.c.id, m.c.workflow_data).where(
                    unindexed(m.c.tenant_id) == tenant_id, m.c.id.in_(differing)
                )
            )
        }
    refs = _reference_maps(session, tenant_id, ruled, data)
    values = []
    for row, rules_here in ruled:
        print_ = fingerprint(rules_here)
        key = (row.canonical_id, print_)
        if key not in git_hashes:
            git_hashes[key] = _ignored_hash(definitions.get(row.canonical_id), None, rules_here)
        git = git_hashes[key]
        if _raw_equal(row):
            env = git  # equal documents stay equal whatever is left out
        else:
            env = _ignored_hash(data.get(row.id), refs.get(row.environment_id, {}), rules_here)
        base = None
        if row.base_content_hash is not None:
            if row.base_content_hash == row.env_content_hash:
                base = env
            elif row.base_content_hash == row.git_content_hash:
                base = git
        values.append({
            "b_id": row.id,
            "ignore_fingerprint": print_,
            "env_ignored_hash": env,
            "git_ignored_hash": git,
            "base_ignored_hash": base,
            "ignored_inputs": row.inputs,
        })  # fmt: skip
    return values


def _raw_equal(row: Any) -> bool:
    return row.env_content_hash is not None and row.env_content_hash == row.git_content_hash


def _ignored_hash(
    document: Any, refs: dict[str, str] | None, rules: Iterable[IgnoreRule]
) -> str | None:
    if not isinstance(document, dict):
        return None
    try:
        fresh = normalize(document, refs).document  # fresh containers: changed in place
        return hash_normalized(apply_ignores(fresh, rules, in_place=True))
    except InvalidWorkflow:
        return None


def _reference_maps(
    session: Session,
    tenant_id: uuid.UUID,
    ruled: Sequence[tuple[Any, list[IgnoreRule]]],
    documents: dict[Any, Any],
) -> dict[uuid.UUID, dict[str, str]]:
    """Per environment, n8n workflow id -> canonical slug for the ids its documents name
    (as the env sync and the diff resolve them)."""
    named: dict[uuid.UUID, set[str]] = {}
    for row, _rules in ruled:
        data = documents.get(row.id)
        if isinstance(data, dict):
            named.setdefault(row.environment_id, set()).update(referenced_ids(data))
    maps: dict[uuid.UUID, dict[str, str]] = {}
    m = MAPPINGS
    for environment_id, ids in named.items():
        if not ids:
            continue
        rows = session.execute(
            select(m.c.n8n_workflow_id, CANONICALS.c.canonical_slug)
            .join(CANONICALS, CANONICALS.c.id == m.c.canonical_id)
            .where(
                unindexed(m.c.tenant_id) == tenant_id,
                m.c.environment_id == environment_id,
                m.c.n8n_workflow_id.in_(sorted(ids)),
            )
        )
        maps[environment_id] = {r.n8n_workflow_id: r.canonical_slug for r in rows}
    return maps


def _same_hashes(row: Any) -> bool:
    """The cell's slug and raw hashes are those its ignored hashes were computed from (only
    the tenant's rule list changed)."""
    old, new = row.ignored_inputs, row.inputs
    return old is not None and old.split("|", 1)[-1] == new.split("|", 1)[-1]


def _write(
    session: Session, values: list[dict[str, Any]], columns: Sequence[str] = IGNORED_COLUMNS
) -> None:
    if not values:
        return
    m = MAPPINGS
    session.execute(
        update(m)
        .where(m.c.id == bindparam("b_id"))
        .values({name: bindparam(name) for name in columns})
        .execution_options(synchronize_session=False),
        values,
    )
