"""Every table of the data model (DESIGN section 2)."""

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
]
