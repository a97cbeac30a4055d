"""The body to write a canonical definition into one n8n environment (DESIGN §4, on write).

`build_deploy_body` turns a canonical definition (the Git file's document: credentials as
`{"<type>": {"name": "<name>"}}`, no node ids or webhook ids, workflow references as
`"slug:<canonical slug>"`) into the JSON body of `POST /workflows` (a new workflow) or
`PUT /workflows/{id}` (the `target`, as n8n returned it) of n8n's public API, the same body
for n8n 1.x and 2.x (docs/n8n-versions.md):

1. Top level: only `name`, `nodes`, `connections`, `settings` and `staticData`; n8n rejects
   anything else with 400 (`id`, `active`, `tags`, `versionId`, `meta`, `description`, ...;
   1.x also `pinData`). `staticData` is the target's own (never the definition's), and
   absent for a new workflow. A `description` cannot be written through the public API of
   either major: it is left out and listed in `DeployBody.left_out`. Whether the workflow
   is active is not in the body: a PUT keeps it as it was (on 2.x an active one is
   republished), a POST creates an inactive one.
2. Node ids: a node keeps the id of the target's node of the same name (a PUT without node
   ids regenerates every id); a node new to the target gets `new_id()`.
3. `webhookId`: a node keeps the `webhookId` of the target's node of the same name; one
   without, of a type that takes webhooks (`needs_webhook_id`), gets `new_id()`. A webhook
   node without a `webhookId` activates but is never registered, so none is left without.
   The definition's own ids, if any, are never used: they belong to another environment.
4. `position` (required by n8n): the definition's, else the target's, else `[0, 0]`.
5. Node fields n8n does not accept (anything but the ones of `_NODE_FIELDS`) are left out
   and listed in `left_out`; none of them counts in the content hash.
6. Credentials: each `{"<type>": {"name": n}}` becomes `{"<type>": {"id": <id>, "name": n}}`
   with the id from the target's `CredentialIndex`. An unknown (type, name) is a
   `missing_credential` blocker, one with several ids an `ambiguous_credential` blocker
   (n8n would store an unknown name dangling, without an error). A credential without a
   name counts as absent in the hash and is left out.
7. Workflow references (the places `canonflow.core._workflow_refs` walks: Execute Workflow
   and Call-Workflow-Tool nodes, `settings.errorWorkflow`, `settings.callerIds`):
   `"slug:<s>"` becomes `workflow_ids[s]`; a slug without a target id is an
   `unresolved_reference` blocker. A resource locator whose value is rewritten loses
   `cachedResultName` and `cachedResultUrl` (they name and link the workflow of another
   environment; they do not count in the hash, and n8n's editor fills them in again); in
   "url" mode its value becomes `/workflow/<id>`, the form n8n writes in
   `cachedResultUrl`, which its URL pattern accepts. Other values (expressions starting
   with "=", plain ids the definition could not resolve) are written as they are.
   A new workflow that references one being created in the same run (or a caller in
   `callerIds` that is new too) needs that workflow's id first: create the new ones empty,
   then write their bodies.
8. Everything else (`connections`, the other settings and parameters) is written as the
   definition has it. The definition is never modified: the body holds copies.

9. Structure: n8n 2.x refuses a workflow whose node names repeat or whose connections
   start at or lead to a node it does not have ("Workflow structure is invalid"); 1.x
   stores it. All are `invalid_definition` blockers on either major, so an estate written
   to 1.x today can move to 2.x (a repeated name already fails the shape check; each
   dangling connection source or target is a blocker of its own).

Every blocker is collected before `DeployBlocked` is raised; a definition that is not a
workflow at all is one `invalid_definition` blocker.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from canonflow.core._workflow_refs import (
    REFERENCE_PREFIX,
    rewrite_node,
    rewrite_settings,
    workflow_url,
)
from canonflow.core.credential_index import CredentialIndex, credential_index
from canonflow.core.deploy_checks import (
    Blocker,
    BlockerKind,
    DeployBlocked,
    checked_definition,
    dangling_connections,
)
from canonflow.core.hashing import content_hash

__all__ = [
    "Blocker",
    "BlockerKind",
    "CredentialIndex",
    "DeployBlocked",
    "DeployBody",
    "build_deploy_body",
    "credential_index",
    "needs_webhook_id",
    "new_node_id",
]

#: Node fields the public API accepts on write (`createdAt`/`updatedAt` are read-only).
_NODE_FIELDS = frozenset({
    "id", "name", "webhookId", "disabled", "notesInFlow", "notes", "type", "typeVersion",
    "executeOnce", "alwaysOutputData", "retryOnFail", "maxTries", "waitBetweenTries",
    "continueOnFail", "onError", "position", "parameters", "credentials",
})  # fmt: skip
#: Node fields the body sets itself (rules 2 to 4), whatever the definition holds.
_NODE_IDENTITY = frozenset({"id", "webhookId", "position"})
_BASE = "n8n-nodes-base."
_LANGCHAIN = "@n8n/n8n-nodes-langchain."
#: Node types that declare webhooks in n8n 1.123 but whose name does not end in "Trigger"
#: (webhook, form and wait nodes, and the nodes with a send-and-wait operation).
_WEBHOOK_NODE_TYPES = frozenset(
    _BASE + name
    for name in (
        "webhook", "form", "wait", "discord", "emailSend", "github", "gmail", "googleChat",
        "microsoftOutlook", "microsoftTeams", "slack", "telegram", "whatsApp",
    )
)  # fmt: skip
#: Trigger nodes of n8n 1.123 that poll or listen elsewhere and declare no webhooks.
_TRIGGERS_WITHOUT_WEBHOOKS = frozenset(
    {
        _BASE + name
        for name in (
            "airtableTrigger", "amqpTrigger", "clockifyTrigger", "errorTrigger",
            "evaluationTrigger", "executeWorkflowTrigger", "gmailTrigger",
            "googleBusinessProfileTrigger", "googleCalendarTrigger", "googleDriveTrigger",
            "googleSheetsTrigger", "kafkaTrigger", "localFileTrigger", "manualTrigger",
            "microsoftOneDriveTrigger", "microsoftOutlookTrigger", "mqttTrigger", "n8nTrigger",
            "notionTrigger", "postgresTrigger", "rabbitmqTrigger", "redisTrigger",
            "rssFeedReadTrigger", "salesforceTrigger", "scheduleTrigger", "seaTableTrigger",
            "simulateTrigger", "sseTrigger", "togglTrigger", "workflowTrigger",
        )
    }
    | {_LANGCHAIN + "manualChatTrigger"}
)  # fmt: skip
_RESOURCE_LOCATOR_CACHE_KEYS = ("cachedResultName", "cachedResultUrl")
_DEFAULT_POSITION = (0, 0)


@dataclass(frozen=True)
class DeployBody:
    """What to send, and what it will hash as.

    `content_hash`: the content hash of the workflow as n8n will hold it, with the target's
    ids as `refs` (equal to the definition's content hash unless a counted field could not
    be written: see `left_out`). `refs`: target workflow id → canonical slug, the map to
    hash the target's copy with. `left_out`: what of the definition the body does not carry
    (`description`, `node 'X': <field>`)."""

    body: dict[str, Any]
    content_hash: str
    refs: Mapping[str, str] = field(default_factory=dict)
    left_out: tuple[str, ...] = ()


def new_node_id() -> str:
    """A fresh node id or webhook id: a random UUID, as n8n makes them."""
    return str(uuid.uuid4())


def needs_webhook_id(node_type: object) -> bool:
    """Whether n8n's editor gives a node of this type a `webhookId` (its type declares
    webhooks): webhook, form, wait and send-and-wait nodes, and triggers but the polling
    and in-process ones of n8n 1.123. A needless `webhookId` is harmless; a missing one
    leaves a webhook unregistered."""
    if not isinstance(node_type, str):
        return False
    if node_type in _WEBHOOK_NODE_TYPES:
        return True
    return node_type.endswith("Trigger") and node_type not in _TRIGGERS_WITHOUT_WEBHOOKS


def build_deploy_body(
    definition: Mapping[str, Any],
    *,
    target: Mapping[str, Any] | None,
    credentials: CredentialIndex,
    workflow_ids: Mapping[str, str],
    new_id: Callable[[], str] = new_node_id,
) -> DeployBody:
    """The body that writes `definition` over `target` (None: a new workflow), by the rules
    of the module docstring. `workflow_ids`: canonical slug → the target's workflow id.
    Raises DeployBlocked with every blocker found."""
    checked = checked_definition(definition)
    writer = _Writer(credentials, workflow_ids, new_id, _nodes_by_name(target))
    body: dict[str, Any] = {
        "name": checked["name"],
        "nodes": [writer.node(node) for node in checked["nodes"]],
        "connections": copy.deepcopy(checked["connections"]),
        "settings": writer.settings(checked.get("settings")),
    }
    writer.blockers += dangling_connections(checked)
    if writer.blockers:
        raise DeployBlocked(writer.blockers)
    if target is not None and target.get("staticData") is not None:
        body["staticData"] = copy.deepcopy(target["staticData"])
    left_out = writer.left_out
    if checked.get("description") is not None:
        left_out = ["description", *left_out]
    refs = {workflow_id: slug for slug, workflow_id in workflow_ids.items()}
    return DeployBody(body, content_hash(body, refs), refs, tuple(left_out))


def _nodes_by_name(target: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    """The target's nodes by name; the first one of a duplicated name (n8n 1.x stores them,
    2.x refuses them)."""
    nodes = target.get("nodes") if target is not None else None
    by_name: dict[str, Mapping[str, Any]] = {}
    for node in nodes if isinstance(nodes, list) else ():
        if isinstance(node, Mapping) and isinstance(node.get("name"), str):
            by_name.setdefault(node["name"], node)
    return by_name


class _Writer:
    """Builds the nodes and settings of one body, collecting blockers and what is left out."""

    def __init__(
        self,
        credentials: CredentialIndex,
        workflow_ids: Mapping[str, str],
        new_id: Callable[[], str],
        target_nodes: Mapping[str, Mapping[str, Any]],
    ) -> None:
        self._credentials = credentials
        self._workflow_ids = workflow_ids
        self._new_id = new_id
        self._target_nodes = target_nodes
        self.blockers: list[Blocker] = []
        self.left_out: list[str] = []

    def node(self, node: Mapping[str, Any]) -> dict[str, Any]:
        name: str = node["name"]
        target = self._target_nodes.get(name, {})
        result: dict[str, Any] = {"id": _string(target, "id") or self._new_id()}
        webhook_id = _string(target, "webhookId")
        if webhook_id is None and needs_webhook_id(node.get("type")):
            webhook_id = self._new_id()
        if webhook_id is not None:
            result["webhookId"] = webhook_id
        result["position"] = _position(node) or _position(target) or list(_DEFAULT_POSITION)
        for key, value in node.items():
            if key not in _NODE_FIELDS:
                self.left_out.append(f"node {name!r}: {key}")
            elif key not in _NODE_IDENTITY:
                result[key] = copy.deepcopy(value)
        self._bind_credentials(name, result)
        parameters = result.get("parameters")
        if isinstance(parameters, dict):
            self._rewrite(name, lambda refs: rewrite_node(result["type"], parameters, refs))
        return result

    def settings(self, settings: Mapping[str, Any] | None) -> dict[str, Any]:
        result = copy.deepcopy(dict(settings or {}))
        self._rewrite(None, lambda refs: rewrite_settings(result, refs))
        return result

    def _bind_credentials(self, node: str, result: dict[str, Any]) -> None:
        credentials = result.pop("credentials", None)
        if not isinstance(credentials, Mapping):
            return
        bound: dict[str, Any] = {}
        for credential_type, reference in credentials.items():
            name = _credential_name(reference)
            if name is None:
                continue
            credential_id = self._credential_id(node, credential_type, name)
            bound[credential_type] = {"id": credential_id, "name": name}
        if bound:
            result["credentials"] = bound

    def _credential_id(self, node: str, credential_type: str, name: str) -> str | None:
        credential_id = self._credentials.find(credential_type, name)
        if credential_id is not None:
            return credential_id
        candidates = self._credentials.ambiguous.get((credential_type, name))
        if candidates:
            kind = BlockerKind.AMBIGUOUS_CREDENTIAL
            found = f"{len(candidates)} {credential_type} credentials {name!r}"
            advice = f" ({', '.join(candidates)}): bind one"
        else:
            kind = BlockerKind.MISSING_CREDENTIAL
            found, advice = f"no {credential_type} credential {name!r}", ": create or bind one"
        detail = f"node {node!r}: {found} in this environment{advice}"
        self.blockers.append(Blocker(kind, detail, node, (credential_type, name)))
        return None

    def _rewrite(self, node: str | None, walk: Callable[[_TargetRefs], None]) -> None:
        refs = _TargetRefs(self._workflow_ids)
        walk(refs)
        where = f"node {node!r}" if node is not None else "settings"
        for slug in refs.missing:
            detail = f"{where}: workflow {slug!r} has no id in this environment"
            self.blockers.append(Blocker(BlockerKind.UNRESOLVED_REFERENCE, detail, node, (slug,)))


class _TargetRefs:
    """Rewrites `"slug:<s>"` references to the target's ids; collects the unknown slugs."""

    def __init__(self, workflow_ids: Mapping[str, str]) -> None:
        self._workflow_ids = workflow_ids
        self.missing: list[str] = []

    def rewrite(self, value: str) -> str:
        if not value.startswith(REFERENCE_PREFIX):
            return value
        slug = value.removeprefix(REFERENCE_PREFIX)
        workflow_id = self._workflow_ids.get(slug)
        if workflow_id is None:
            self.missing.append(slug)
            return value
        return workflow_id

    def rewrite_locator(self, locator: dict[str, Any]) -> None:
        value: str = locator["value"]
        rewritten = self.rewrite(value)
        if rewritten == value:
            return
        locator["value"] = workflow_url(rewritten) if locator.get("mode") == "url" else rewritten
        for key in _RESOURCE_LOCATOR_CACHE_KEYS:
            locator.pop(key, None)


def _string(node: Mapping[str, Any], key: str) -> str | None:
    value = node.get(key)
    return value if isinstance(value, str) and value else None


def _position(node: Mapping[str, Any]) -> list[Any] | None:
    position = node.get("position")
    if isinstance(position, list | tuple) and len(position) == 2 and all(map(_is_real, position)):
        return list(position)
    return None


def _is_real(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _credential_name(reference: object) -> str | None:
    name = reference.get("name") if isinstance(reference, Mapping) else reference
    return name if isinstance(name, str) else None
