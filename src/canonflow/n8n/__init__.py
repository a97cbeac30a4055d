"""A typed client for n8n's public API, and its errors.

```python
with N8nClient("http://127.0.0.1:5678", api_key) as n8n:
    n8n.check()
    n8n.flavour()  # N8nFlavour(major=2, scopes=...): asked once, cached
    for page in n8n.iter_workflow_pages(limit=250):
        ...
```
"""

from canonflow.n8n.client import MAX_PAGE_SIZE, N8nClient, N8nFlavour, WorkflowPage
from canonflow.n8n.errors import (
    N8nArchived,
    N8nBusy,
    N8nEgressRefused,
    N8nError,
    N8nInvalidResponse,
    N8nInvalidStructure,
    N8nNotFound,
    N8nPublished,
    N8nRateLimited,
    N8nRejected,
    N8nSavedNotPublished,
    N8nServerError,
    N8nStillUnpublishing,
    N8nTransientError,
    N8nUnauthorized,
    N8nUnreachable,
    N8nUnsupported,
)

__all__ = [
    "MAX_PAGE_SIZE",
    "N8nArchived",
    "N8nBusy",
    "N8nClient",
    "N8nEgressRefused",
    "N8nError",
    "N8nFlavour",
    "N8nInvalidResponse",
    "N8nInvalidStructure",
    "N8nNotFound",
    "N8nPublished",
    "N8nRateLimited",
    "N8nRejected",
    "N8nSavedNotPublished",
    "N8nServerError",
    "N8nStillUnpublishing",
    "N8nTransientError",
    "N8nUnauthorized",
    "N8nUnreachable",
    "N8nUnsupported",
    "WorkflowPage",
]
