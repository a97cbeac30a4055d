"""A typed client for n8n's public REST API (`/api/v1`), n8n 1.x and 2.x.

Versions. `flavour()` asks `GET /api/v1/discover` once per client (404: n8n 1.x; 200: 2.x,
which also says the key's scopes) and caches the answer. The calls that differ adapt to it
(docs/n8n-versions.md has the table): `publish_workflow` is `/publish` on 2.x and
`/activate` on 1.x; archiving, `?publishIfActive=false` and listing credentials exist on
2.x only; `delete_workflow` unpublishes a published 2.x workflow first (2.x refuses to
delete one), and 2.x's "still being unpublished" 409 is retried like any transient error.
A 403 on the PUT of an active 2.x workflow saved the draft without publishing it:
`N8nSavedNotPublished`, not a failed write.

"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import structlog

from canonflow.n8n.errors import (
    N8nNotFound,
    N8nPublished,
    N8nRejected,
    N8nSavedNotPublished,
)
from canonflow.n8n.transport import N8nApi

MAX_PAGE_SIZE = 250  # n8n 1.x answers 400 above this; 2.x silently clamps to it
#: The scope a 2.x key needs to publish (the public API's activate/publish routes and the
#: republishing PUT), and the one to list credentials.
PUBLISH_SCOPE = "workflow:activate"
CREDENTIAL_LIST_SCOPE = "credential:list"

_log = structlog.get_logger("canonflow.n8n")


@dataclass(frozen=True, slots=True)
class WorkflowPage:
    """One page of `GET /workflows`; `number` counts from 1."""

    workflows: list[dict[str, Any]]
    next_cursor: str | None
    number: int


@dataclass(frozen=True, slots=True)
class N8nFlavour:
    """What the server is: `major` 1 or 2, and on 2.x the API key's `scopes` (None on 1.x,
    whose keys carry no scopes in the public API)."""

    major: int
    scopes: frozenset[str] | None = None

    @property
    def can_publish(self) -> bool:
        """Whether the key may publish (2.x: `workflow:activate`; 1.x: every key may)."""
        return self.scopes is None or PUBLISH_SCOPE in self.scopes

    @property
    def can_list_credentials(self) -> bool:
        """Whether `list_credentials` answers (2.x with `credential:list`; never on 1.x)."""
        return self.major >= 2 and self.scopes is not None and CREDENTIAL_LIST_SCOPE in self.scopes


class N8nClient(N8nApi):
    """One n8n environment's public API (the calls; `N8nApi` is the HTTP). Thread-safe; use
    as a context manager or `close()`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """`N8nApi(base_url, api_key, *, timeout, retries, backoff_max, transport, egress)`."""
        super().__init__(*args, **kwargs)
        self._flavour: N8nFlavour | None = None
        self._flavour_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"N8nClient(base_url={self.base_url!r})"

    # --- the server ----------------------------------------------------------------------

    def flavour(self) -> N8nFlavour:
        """The server's major version and the key's scopes, asked once (`GET /discover`:
        404 on 1.x, the key's scopes on 2.x) and cached on the client. Raises `N8nError`
        as any call does (a 401: the key is rejected)."""
        with self._flavour_lock:
            if self._flavour is None:
                self._flavour = self._discover()
            return self._flavour

    def _discover(self) -> N8nFlavour:
        what = "discover the API"
        try:
            payload = self._call("GET", "/discover", what)
        except N8nNotFound:
            return N8nFlavour(major=1)
        data = payload.get("data") if isinstance(payload, dict) else None
        scopes = data.get("scopes") if isinstance(data, dict) else None
        if not isinstance(scopes, list) or not all(isinstance(x, str) for x in scopes):
            raise self._invalid(what, 'expected {"data": {"scopes": [...]}}')
        return N8nFlavour(major=2, scopes=frozenset(scopes))

    # --- workflows ---------------------------------------------------------------------

    def check(self) -> None:
        """Raise a typed error unless n8n answers the public API with this key."""
        payload = self._call("GET", "/workflows", "list workflows", params={"limit": 1})
        self._page_items(payload, "list workflows", 1)

    def iter_workflow_pages(self, *, limit: int = MAX_PAGE_SIZE) -> Iterator[WorkflowPage]:
        """Every workflow, page by page (1 <= limit <= 250); each page is retried alone."""
        _check_limit(limit)
        return (
            WorkflowPage(workflows=items, next_cursor=cursor, number=number)
            for items, cursor, number in self._iter_pages("/workflows", "list workflows", limit)
        )

    def list_workflows(self) -> list[dict[str, Any]]:
        """Every workflow, once each (see the module notes on concurrent writes)."""
        by_id: dict[str, dict[str, Any]] = {}
        for page in self.iter_workflow_pages():
            for workflow in page.workflows:
                by_id.setdefault(workflow["id"], workflow)
        return list(by_id.values())

    def get_workflow(self, workflow_id: str) -> dict[str, Any]:
        path, what = _workflow_path(workflow_id)
        return self._object(self._call("GET", path, f"get {what}"), f"get {what}")

    def create_workflow(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST /workflows; `body` holds name, nodes, connections, settings (+ staticData)."""
        what = "create a workflow"
        payload = self._call("POST", "/workflows", what, body=dict(body), idempotent=False)
        return self._object(payload, what)

    def update_workflow(
        self, workflow_id: str, body: Mapping[str, Any], *, publish_if_active: bool = True
    ) -> dict[str, Any]:
        """PUT /workflows/{id}: replaces the workflow (send node ids, or n8n regenerates them).

        An active workflow runs the new version at once on 1.x; 2.x saves it and republishes
        it (the webhook moves a moment later) unless `publish_if_active=False`, which saves a
        draft and keeps the published version running (2.x only: `N8nUnsupported` on 1.x).
        On 2.x a 403 from a key that may update but not publish means n8n saved the draft
        and kept the old version live: `N8nSavedNotPublished`."""
        path, what = _workflow_path(workflow_id)
        what = f"update {what}"
        params: dict[str, str | int] | None = None
        if not publish_if_active:
            if self.flavour().major < 2:
                raise self._unsupported("save a draft without publishing it", 1)
            params = {"publishIfActive": "false"}
        try:
            return self._object(self._call("PUT", path, what, params=params, body=dict(body)), what)
        except N8nRejected as exc:
            if exc.status != 403 or not self._saved_as_draft():
                raise
            raise N8nSavedNotPublished(
                f"n8n at {self.base_url} saved workflow {workflow_id} as a draft but did not "
                "publish it: the API key lacks the publish scope "
                f"({PUBLISH_SCOPE}), so the workflow still runs its previous version",
                base_url=self.base_url,
                workflow_id=workflow_id,
                refusal=exc,
            ) from exc

    def _saved_as_draft(self) -> bool:
        """Whether a 403 on a PUT means "saved, not published": a 2.x key that may update
        workflows but lacks the publish scope (2.x checks publishing after saving)."""
        flavour = self.flavour()
        scopes = flavour.scopes or frozenset()
        return flavour.major >= 2 and "workflow:update" in scopes and not flavour.can_publish

    def delete_workflow(self, workflow_id: str) -> None:
        """DELETE /workflows/{id}. A 404 on a retry means an earlier attempt deleted it.

        2.x refuses to delete a published workflow (409): it is unpublished, then deleted
        (a real delete, as on 1.x, not an archive: canonflow's snapshots keep the content);
        2.x's "still being unpublished" 409 right after is retried."""
        path, what = _workflow_path(workflow_id)
        try:
            self._call("DELETE", path, f"delete {what}", gone_on_retry_ok=True)
        except N8nPublished:
            self.unpublish_workflow(workflow_id)
            self._call("DELETE", path, f"delete {what}", gone_on_retry_ok=True)

    def activate_workflow(self, workflow_id: str) -> dict[str, Any]:
        """POST /workflows/{id}/activate (on 2.x a deprecated alias of publishing the
        latest version)."""
        path, what = _workflow_path(workflow_id)
        what = f"activate {what}"
        return self._object(self._call("POST", f"{path}/activate", what), what)

    def deactivate_workflow(self, workflow_id: str) -> dict[str, Any]:
        path, what = _workflow_path(workflow_id)
        what = f"deactivate {what}"
        return self._object(self._call("POST", f"{path}/deactivate", what), what)

    def publish_workflow(self, workflow_id: str, version_id: str | None = None) -> dict[str, Any]:
        """Make the workflow active, running `version_id` (default: its latest version):
        2.x `POST /publish`; 1.x `POST /activate` (1.x has one version, the latest, so
        `version_id` only documents intent there). Registration of its webhooks is
        asynchronous on 2.x (a fraction of a second)."""
        path, what = _workflow_path(workflow_id)
        what = f"publish {what}"
        if self.flavour().major < 2:
            return self._object(self._call("POST", f"{path}/activate", what), what)
        body = {"versionId": version_id} if version_id is not None else {}
        return self._object(self._call("POST", f"{path}/publish", what, body=body), what)

    def unpublish_workflow(self, workflow_id: str) -> dict[str, Any]:
        """Make the workflow inactive: 2.x `POST /unpublish` (asynchronous: a DELETE right
        after may meet a "still being unpublished" 409, retried), 1.x `POST /deactivate`."""
        path, what = _workflow_path(workflow_id)
        what = f"unpublish {what}"
        route = "unpublish" if self.flavour().major >= 2 else "deactivate"
        return self._object(self._call("POST", f"{path}/{route}", what), what)

    def archive_workflow(self, workflow_id: str) -> dict[str, Any]:
        """POST /workflows/{id}/archive (2.x only; an active workflow is unpublished)."""
        return self._archival(workflow_id, "archive")

    def unarchive_workflow(self, workflow_id: str) -> dict[str, Any]:
        """POST /workflows/{id}/unarchive (2.x only; the workflow stays inactive)."""
        return self._archival(workflow_id, "unarchive")

    def _archival(self, workflow_id: str, action: str) -> dict[str, Any]:
        path, what = _workflow_path(workflow_id)
        what = f"{action} {what}"
        if self.flavour().major < 2:
            raise self._unsupported(what, 1)
        return self._object(self._call("POST", f"{path}/{action}", what), what)

    # --- credentials -------------------------------------------------------------------

    def list_credentials(self, *, limit: int = MAX_PAGE_SIZE) -> list[dict[str, Any]] | None:
        """Every credential (`id`, `name`, `type`, no secrets) on 2.x with a key that holds
        `credential:list`; None where the server cannot list them (1.x, no scope, or n8n
        refuses the listing all the same, e.g. a role or licence: a 4xx), so the caller
        learns them from workflow references as on 1.x."""
        _check_limit(limit)
        if not self.flavour().can_list_credentials:
            return None
        try:
            pages = list(self._iter_pages("/credentials", "list credentials", limit))
        except (N8nRejected, N8nNotFound) as exc:
            _log.warning(
                "n8n refused the credential listing", base_url=self.base_url, error=str(exc)
            )
            return None
        return [credential for items, _, _ in pages for credential in items]

    # --- tags --------------------------------------------------------------------------

    def list_tags(self, *, limit: int = MAX_PAGE_SIZE) -> list[dict[str, Any]]:
        _check_limit(limit)
        return [
            tag for items, _, _ in self._iter_pages("/tags", "list tags", limit) for tag in items
        ]

    def create_tag(self, name: str) -> dict[str, Any]:
        """POST /tags; an existing name is rejected by n8n (HTTP 409 → `N8nRejected`)."""
        what = f"create tag {name!r}"
        payload = self._call("POST", "/tags", what, body={"name": name}, idempotent=False)
        return self._object(payload, what)

    def set_workflow_tags(self, workflow_id: str, tag_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Replace the workflow's tags; returns them. An unknown tag id → `N8nNotFound`."""
        path, what = _workflow_path(workflow_id)
        what = f"set the tags of {what}"
        body = [{"id": tag_id} for tag_id in tag_ids]
        payload = self._call("PUT", f"{path}/tags", what, body=body)
        return self._objects(payload, what)


def _check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be an integer from 1 to {MAX_PAGE_SIZE}, not {limit!r}")


def _workflow_path(workflow_id: str) -> tuple[str, str]:
    if not isinstance(workflow_id, str) or not workflow_id:
        raise ValueError(f"a workflow id must be a non-empty string, not {workflow_id!r}")
    return f"/workflows/{quote(workflow_id, safe='')}", f"workflow {workflow_id}"
