"""Pull requests on a forge (GitHub, GitHub Enterprise, Gitea/Forgejo), and their errors.

```python
api_url = default_api_url(ForgeProvider.GITHUB, remote_url)
with ForgeClient(ForgeProvider.GITHUB, api_url, repository_from_url(remote_url), token) as forge:
    try:
        pr = forge.create_pull_request(head="canonflow/x", base="main", title=t, body=b)
    except PullRequestExists:
        pr = forge.find_open_pull_request(head="canonflow/x", base="main")
```
"""

from canonflow.forge.client import ForgeClient
from canonflow.forge.errors import (
    ForgeAuthFailed,
    ForgeEgressRefused,
    ForgeError,
    ForgeRejected,
    ForgeUnreachable,
    PullRequestExists,
)
from canonflow.forge.pull_request import PullRequest
from canonflow.forge.urls import default_api_url, repository_from_url

__all__ = [
    "ForgeAuthFailed",
    "ForgeClient",
    "ForgeEgressRefused",
    "ForgeError",
    "ForgeRejected",
    "ForgeUnreachable",
    "PullRequest",
    "PullRequestExists",
    "default_api_url",
    "repository_from_url",
]
