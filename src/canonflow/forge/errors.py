"""The forge client's errors.

```
ForgeError
├── ForgeAuthFailed        401 / 403: the token was refused (or is missing)
├── PullRequestExists      an open pull request already joins this head and base
├── ForgeEgressRefused     the egress policy refuses the host (CANONFLOW_ALLOWED_*)
├── ForgeRejected          any other 4xx (and an unfollowed 3xx), with the forge's message
└── ForgeUnreachable       connect/read errors, timeouts, 5xx, an answer that is not
                           JSON or not a pull request; GETs are retried on it, POSTs never
```

Every message is one readable line naming the forge's API URL, never the token.
"""

from __future__ import annotations


class ForgeError(Exception):
    """Base of every error raised by `canonflow.forge`."""

    def __init__(self, message: str, *, api_url: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.api_url = api_url
        self.status = status

    def __str__(self) -> str:
        return self.message

    def gave_up_after(self, attempts: int) -> None:
        """Record that the client tried `attempts` times before raising this error."""
        self.message = f"{self.message} (gave up after {attempts} attempts)"
        self.args = (self.message,)


class ForgeAuthFailed(ForgeError):
    """HTTP 401 or 403: the token is missing, wrong, expired or lacks a permission."""


class PullRequestExists(ForgeError):
    """The forge refused to open a second pull request for the same head and base."""


class ForgeEgressRefused(ForgeError):
    """The egress policy refuses to connect to the forge's host (or a redirect's); never
    retried."""


class ForgeRejected(ForgeError):
    """Any other 4xx: the forge refused the request; `message` carries its reason."""


class ForgeUnreachable(ForgeError):
    """No usable answer: no connection, a timeout, a 5xx, or a body that is not JSON."""
