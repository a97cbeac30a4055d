"""The egress policy: which hosts and local paths canonflow may connect to.

The runtime installs the policy its `Settings` describe (`install`); the n8n client, the
forge client and the Git adapter use `current()` unless they are handed one. One policy per
process, as one `Settings` per process (libgit2's network timeouts are process-wide too).

```python
policy = EgressPolicy.from_settings(settings)
policy.check_url_on_entry(http_target(base_url))     # EgressRefused: the message says what to set
with httpx.Client(transport=egress_transport(policy)) as client: ...   # checked per connection
```
"""

from __future__ import annotations

from canonflow.egress.policy import (
    EgressPolicy,
    EgressRefused,
    Target,
    http_target,
    origin,
    repository_target,
    resolve,
    same_origin,
)

__all__ = [
    "EgressPolicy",
    "EgressRefused",
    "Target",
    "current",
    "http_target",
    "install",
    "origin",
    "repository_target",
    "resolve",
    "same_origin",
]

_installed: EgressPolicy = EgressPolicy.development()


def install(policy: EgressPolicy) -> EgressPolicy:
    """Make `policy` the process's policy; returns the one it replaces."""
    global _installed
    previous, _installed = _installed, policy
    return previous


def current() -> EgressPolicy:
    return _installed
