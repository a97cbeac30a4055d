"""The n8n client's errors: transient ones (worth retrying) and request errors (not).

```
N8nError
├── N8nTransientError          retried by the client; may succeed later
│   ├── N8nUnreachable         connect/read errors, timeouts, connection dropped
│   ├── N8nRateLimited         429 (.retry_after)
│   ├── N8nServerError         5xx (n8n answers an invalid JSON body with a 500 HTML page)
│   ├── N8nBusy                400 "SQLITE_BUSY: database is locked"
│   └── N8nStillUnpublishing   409 (2.x) "Workflow is still being unpublished"
├── N8nEgressRefused           the egress policy refuses the host (CANONFLOW_ALLOWED_*)
├── N8nUnauthorized            401: the API key was rejected
├── N8nNotFound                404
├── N8nRejected                any other 4xx, with n8n's message
│   ├── N8nPublished           409 (2.x): a published workflow cannot be deleted
│   ├── N8nArchived            400 (2.x): an archived workflow cannot be updated or activated
│   └── N8nInvalidStructure    400 (2.x): duplicate node names, dangling connections
├── N8nSavedNotPublished       403 (2.x) on a PUT of an active workflow: saved as a draft only
├── N8nUnsupported             the server's n8n major has no such call (nothing was sent)
└── N8nInvalidResponse         not JSON, unexpected shape, a cursor that loops
```

n8n's error bodies carry only a `message` (no stable code), so the 2.x subclasses are told
apart by status plus a narrow match on that message (see `_http.error_for_status`).

Every message is one readable line naming the environment's base URL, never the API key.
"""

from __future__ import annotations


class N8nError(Exception):
    """Base of every error raised by `canonflow.n8n`."""

    def __init__(self, message: str, *, base_url: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.base_url = base_url
        self.status = status
        self.attempts = 1

    def __str__(self) -> str:
        return self.message

    def gave_up_after(self, attempts: int) -> None:
        """Record that the client tried `attempts` times before raising this error."""
        if attempts > 1 and self.attempts == 1:
            self.attempts = attempts
            self.message = f"{self.message} (gave up after {attempts} attempts)"
            self.args = (self.message,)


class N8nTransientError(N8nError):
    """n8n could not answer now; the same request may succeed later.

    `may_have_applied` is False when n8n surely did not act on the request (it never
    reached n8n, or n8n refused it before doing anything: 429, SQLITE_BUSY), so even a
    non-idempotent request (creating a workflow) is safe to send again.
    """

    def __init__(
        self,
        message: str,
        *,
        base_url: str,
        status: int | None = None,
        may_have_applied: bool = True,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, base_url=base_url, status=status)
        self.may_have_applied = may_have_applied
        self.retry_after = retry_after


class N8nUnreachable(N8nTransientError):
    """No answer: connection refused or dropped, or a timeout."""


class N8nRateLimited(N8nTransientError):
    """HTTP 429; `retry_after` holds the server's Retry-After in seconds, if it sent one."""


class N8nServerError(N8nTransientError):
    """HTTP 5xx."""


class N8nBusy(N8nTransientError):
    """n8n's own SQLite database was locked by a concurrent write (HTTP 400 SQLITE_BUSY)."""


class N8nStillUnpublishing(N8nTransientError):
    """HTTP 409 from n8n 2.x: the workflow is still being unpublished (unpublishing is
    asynchronous); the same request succeeds a moment later. n8n did nothing."""


class N8nEgressRefused(N8nError):
    """The egress policy refuses to connect to the environment's host; never retried."""


class N8nUnauthorized(N8nError):
    """HTTP 401: the API key was rejected (missing, wrong, expired or revoked)."""


class N8nNotFound(N8nError):
    """HTTP 404: no such workflow (or tag, or route)."""


class N8nRejected(N8nError):
    """Any other 4xx: n8n refused the request; `message` carries n8n's reason."""


class N8nPublished(N8nRejected):
    """HTTP 409 from n8n 2.x: a published (active) workflow cannot be deleted; unpublish it
    first (`N8nClient.delete_workflow` does)."""


class N8nArchived(N8nRejected):
    """HTTP 400 from n8n 2.x: the workflow is archived, so it cannot be updated or activated
    (unarchive it first). n8n 1.x cannot archive through its public API."""


class N8nInvalidStructure(N8nRejected):
    """HTTP 400 from n8n 2.x: "Workflow structure is invalid" (duplicate node names, a
    connection to a node that does not exist); n8n 1.x accepts such a workflow."""


class N8nSavedNotPublished(N8nError):
    """HTTP 403 from n8n 2.x on `PUT /workflows/{id}` of an active workflow: the key may
    update workflows but not publish them, so n8n saved the body as a draft and the
    environment still runs the version it ran before. The write happened, if the workflow
    was active: n8n's 403 itself (`refusal`) is all a caller has for an inactive one."""

    def __init__(
        self, message: str, *, base_url: str, workflow_id: str, refusal: N8nRejected
    ) -> None:
        super().__init__(message, base_url=base_url, status=403)
        self.workflow_id = workflow_id
        self.refusal = refusal


class N8nUnsupported(N8nError):
    """The call does not exist in the server's n8n major (e.g. archiving on 1.x); raised
    before anything is sent."""


class N8nInvalidResponse(N8nError):
    """n8n answered something the client cannot use: not JSON, a wrong shape, a cursor loop."""
