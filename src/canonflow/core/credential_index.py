"""Which credential of one n8n environment a credential name means (DESIGN §4, on write).

n8n 2.x lists an environment's credentials (`GET /credentials`: id, name, type, no secrets,
with a key holding `credential:list`): there the index is built from that listing
(`index_of_listing`), which knows credentials no workflow uses yet and never holds a
deleted one. n8n 1.x has no such endpoint (nor a 2.x key without the scope), so the
credentials are learnt from the references inside the environment's own workflows: a node's
`credentials = {"<type>": {"id": "<n8n id>", "name": "<name>"}}`; learnt ids can be stale
(a reference to a deleted credential still names its old id).

Either way an explicit binding (credential type, logical name → n8n credential id, from
`credential_bindings`) overrides what was listed or learnt. One (type, name) with two
different ids (two credentials of one name, or two learnt ids) is ambiguous unless a binding
settles it; two bindings of one (type, name) to different ids are ambiguous too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

#: (credential type, credential name)
CredentialKey = tuple[str, str]


@dataclass(frozen=True)
class CredentialIndex:
    """The credentials of one environment: `ids` where one id is known for a (type, name),
    `ambiguous` (sorted candidate ids) where several are. The two never share a key."""

    ids: Mapping[CredentialKey, str] = field(default_factory=dict)
    ambiguous: Mapping[CredentialKey, tuple[str, ...]] = field(default_factory=dict)

    def find(self, credential_type: str, name: str) -> str | None:
        """The id of the one credential of that type and name, else None."""
        return self.ids.get((credential_type, name))


def credential_index(
    workflows: Iterable[Mapping[str, Any]],
    bindings: Iterable[tuple[str, str, str]] = (),
) -> CredentialIndex:
    """Learn an environment's credentials from its `workflows` (as n8n returns them), then
    apply its `bindings` (type, name, id). Malformed nodes and references without a string
    id and name are skipped."""
    return index_of_references(
        (
            (credential_type, name, credential_id)
            for (credential_type, name), credential_id in _all_references(workflows)
        ),
        bindings,
    )


def index_of_references(
    references: Iterable[tuple[str, str, str]],
    bindings: Iterable[tuple[str, str, str]] = (),
) -> CredentialIndex:
    """`credential_index` from the (type, name, id) of each credential reference already
    read out of the workflows (e.g. by the database); ones without a string id and name
    are skipped."""
    learnt: dict[CredentialKey, set[str]] = {}
    for credential_type, name, credential_id in references:
        if isinstance(credential_id, str) and credential_id and isinstance(name, str):
            learnt.setdefault((credential_type, name), set()).add(credential_id)
    bound: dict[CredentialKey, set[str]] = {}
    for credential_type, name, credential_id in bindings:
        bound.setdefault((credential_type, name), set()).add(credential_id)
    ids: dict[CredentialKey, str] = {}
    ambiguous: dict[CredentialKey, tuple[str, ...]] = {}
    for key, candidates in {**learnt, **bound}.items():
        if len(candidates) == 1:
            [ids[key]] = candidates
        else:
            ambiguous[key] = tuple(sorted(candidates))
    return CredentialIndex(ids=ids, ambiguous=ambiguous)


def index_of_listing(
    credentials: Iterable[Mapping[str, Any]],
    bindings: Iterable[tuple[str, str, str]] = (),
) -> CredentialIndex:
    """The index of a 2.x environment from its credential listing (items with string
    `id`, `name` and `type`; others are skipped), then its `bindings`."""
    return index_of_references(
        (
            (credential["type"], credential["name"], credential["id"])
            for credential in credentials
            if all(isinstance(credential.get(key), str) for key in ("type", "name", "id"))
        ),
        bindings,
    )


def _all_references(
    workflows: Iterable[Mapping[str, Any]],
) -> Iterator[tuple[CredentialKey, str]]:
    for workflow in workflows:
        nodes = workflow.get("nodes")
        for node in nodes if isinstance(nodes, list) else ():
            yield from _references(node)


def _references(node: object) -> Iterator[tuple[CredentialKey, str]]:
    """The (type, name) and id of each well-formed credential reference of a node."""
    credentials = node.get("credentials") if isinstance(node, Mapping) else None
    if not isinstance(credentials, Mapping):
        return
    for credential_type, reference in credentials.items():
        if not isinstance(reference, Mapping):
            continue
        credential_id, name = reference.get("id"), reference.get("name")
        if isinstance(credential_id, str) and credential_id and isinstance(name, str):
            yield (credential_type, name), credential_id
