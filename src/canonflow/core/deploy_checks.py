"""What blocks a deploy before anything is written (DESIGN §4, on write): the blockers a
body build reports, and the checks of the definition itself (n8n's shape rules, a name,
connections that name no node: n8n 2.x refuses them, 1.x stores them). Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from canonflow.core.workflow_shape import InvalidWorkflow, validate_workflow

__all__ = [
    "Blocker",
    "BlockerKind",
    "DeployBlocked",
    "checked_definition",
    "dangling_connections",
]


class BlockerKind(StrEnum):
    INVALID_DEFINITION = "invalid_definition"
    MISSING_CREDENTIAL = "missing_credential"
    AMBIGUOUS_CREDENTIAL = "ambiguous_credential"
    UNRESOLVED_REFERENCE = "unresolved_reference"


@dataclass(frozen=True)
class Blocker:
    """One reason the definition cannot be written to the target.

    `subject`: what is missing: `(credential type, credential name)` for a credential,
    `(slug,)` for a reference, `()` for an invalid definition. `node`: the node concerned,
    None for the workflow's settings or the definition as a whole."""

    kind: BlockerKind
    detail: str
    node: str | None = None
    subject: tuple[str, ...] = ()


class DeployBlocked(Exception):
    """The definition cannot be written to the target; `blockers` says every reason."""

    def __init__(self, blockers: list[Blocker]) -> None:
        self.blockers = tuple(blockers)
        super().__init__("cannot deploy: " + "; ".join(b.detail for b in self.blockers))


def checked_definition(definition: Mapping[str, Any]) -> dict[str, Any]:
    """The definition as n8n's shape rules accept it, with a name; else DeployBlocked."""
    try:
        checked = validate_workflow(definition)
    except InvalidWorkflow as exc:
        raise _invalid(str(exc)) from exc
    if not isinstance(checked.get("name"), str):
        raise _invalid("the definition has no name (n8n requires one)")
    return checked


def dangling_connections(workflow: Mapping[str, Any]) -> list[Blocker]:
    """A blocker per connection source, and per target, that names a node the workflow
    does not have (n8n 2.x answers 400 `unknown_connection_source`/`_target`; 1.x stores
    it)."""
    names = {node["name"] for node in workflow["nodes"]}
    refused = "(n8n 2.x refuses it; blocked on 1.x too)"
    blockers: list[Blocker] = []
    for source, by_type in workflow["connections"].items():
        if source not in names:
            detail = (
                f"connections start at node {source!r}, which the workflow does not have {refused}"
            )
            blockers.append(Blocker(BlockerKind.INVALID_DEFINITION, detail, None, (source,)))
            continue
        targets = (
            target["node"]
            for outputs in by_type.values()
            for output in outputs
            if output is not None
            for target in output
        )
        for missing in dict.fromkeys(t for t in targets if t not in names):
            detail = (
                f"the connection from {source!r} leads to node {missing!r}, which the workflow "
                f"does not have {refused}"
            )
            blockers.append(Blocker(BlockerKind.INVALID_DEFINITION, detail, source, (missing,)))
    return blockers


def _invalid(detail: str) -> DeployBlocked:
    return DeployBlocked([Blocker(BlockerKind.INVALID_DEFINITION, detail)])
