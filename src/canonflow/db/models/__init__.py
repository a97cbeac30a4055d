"""Every table of the data model (DESIGN section 2).

A model's module is loaded when one of its classes is first asked for: `from
canonflow.db.models import Tenant` maps the tenancy tables alone, so a command that reads
two tables does not map twenty (~120 ms at start-up, `bench/cli_startup.py`). A module
imports the modules of the tables its foreign keys name, because a flush resolves them;
`load_all()` maps every table (what Alembic compares with the migrations).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from canonflow.db.models.environments import CredentialBinding, Environment, GitRepository
    from canonflow.db.models.governance import Approval, ApprovalStatus
    from canonflow.db.models.history import AuditEntry, Snapshot, StateChange, StatusEvent
    from canonflow.db.models.jobs import BackgroundJob, SyncRun
    from canonflow.db.models.leases import Lease
    from canonflow.db.models.notifications import NotificationDelivery, NotificationDestination
    from canonflow.db.models.onboarding import Onboarding
    from canonflow.db.models.policy import IgnoreRuleEntry
    from canonflow.db.models.promotions import Promotion
    from canonflow.db.models.templates import WorkflowTemplate
    from canonflow.db.models.tenancy import ApiToken, Tenant
    from canonflow.db.models.workflows import CanonicalWorkflow, SummaryCount, WorkflowEnvMap

#: each public name and the module that defines it
_MODULE_OF = {
    "ApiToken": "tenancy",
    "Approval": "governance",
    "ApprovalStatus": "governance",
    "AuditEntry": "history",
    "BackgroundJob": "jobs",
    "CanonicalWorkflow": "workflows",
    "CredentialBinding": "environments",
    "Environment": "environments",
    "GitRepository": "environments",
    "IgnoreRuleEntry": "policy",
    "Lease": "leases",
    "NotificationDelivery": "notifications",
    "NotificationDestination": "notifications",
    "Onboarding": "onboarding",
    "Promotion": "promotions",
    "Snapshot": "history",
    "StateChange": "history",
    "StatusEvent": "history",
    "SummaryCount": "workflows",
    "SyncRun": "jobs",
    "Tenant": "tenancy",
    "WorkflowEnvMap": "workflows",
    "WorkflowTemplate": "templates",
}

__all__ = [
    "ApiToken",
    "Approval",
    "ApprovalStatus",
    "AuditEntry",
    "BackgroundJob",
    "CanonicalWorkflow",
    "CredentialBinding",
    "Environment",
    "GitRepository",
    "IgnoreRuleEntry",
    "Lease",
    "NotificationDelivery",
    "NotificationDestination",
    "Onboarding",
    "Promotion",
    "Snapshot",
    "StateChange",
    "StatusEvent",
    "SummaryCount",
    "SyncRun",
    "Tenant",
    "WorkflowEnvMap",
    "WorkflowTemplate",
    "load_all",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def load_all() -> None:
    """Map every table into `Base.metadata`."""
    for module in sorted(set(_MODULE_OF.values())):
        importlib.import_module(f"{__name__}.{module}")
