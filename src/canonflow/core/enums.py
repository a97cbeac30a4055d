"""Enumerations shared by every layer (pure values, no behaviour)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a token may do. Each role includes the ones before it."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, required: Role) -> bool:
        return self.rank >= required.rank


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}


class EnvironmentKind(StrEnum):
    DEVELOPMENT = "development"
    STAGING = "staging"
    PRODUCTION = "production"
    OTHER = "other"


class WorkflowProvider(StrEnum):
    N8N = "n8n"


class SyncKind(StrEnum):
    ENVIRONMENT = "environment"
    REPOSITORY = "repository"


class SnapshotSide(StrEnum):
    GIT = "git"
    ENV = "env"


class ForgeProvider(StrEnum):
    """Where onboarding and env_wins open pull requests. NONE: a plain Git remote, where
    the pushed branch is the result."""

    NONE = "none"
    GITHUB = "github"
    GITEA = "gitea"  # also Forgejo: the same API


class CommitMode(StrEnum):
    """How env_wins writes to the repository: a branch and a pull request (the merge makes
    it canonical), or a push to the configured branch (canonical at once)."""

    PULL_REQUEST = "pull_request"
    PUSH = "push"
