"""Repository representations. Credentials are write-only: they are never read back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

from canonflow.core.enums import CommitMode, ForgeProvider


def _check_url(value: str) -> str:
    url = value.strip()
    if "://" not in url:
        if not url.startswith("/"):
            raise ValueError(
                "url must be an absolute path or a file://, git://, https:// or ssh:// URL"
            )
        return url
    parts = urlsplit(url)
    if parts.scheme not in {"file", "git", "http", "https", "ssh"}:
        raise ValueError(f"unsupported URL scheme {parts.scheme!r}: use file, git, https or ssh")
    if parts.password is not None or (parts.username and parts.scheme in {"http", "https"}):
        raise ValueError("put credentials in `auth`, not in the URL (they are encrypted there)")
    return url


def _check_dir(value: str) -> str:
    directory = value.strip().strip("/")
    if any(part in {"", ".", ".."} for part in directory.split("/")) and directory:
        raise ValueError("workflows_dir must be a plain relative path such as 'workflows'")
    return directory


RepoUrl = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_check_url)]
BranchName = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9._/-]+$")]
WorkflowsDir = Annotated[str, Field(max_length=500), AfterValidator(_check_dir)]


class RepositoryAuth(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: SecretStr | None = None
    username: str | None = Field(default=None, max_length=200)
    ssh_private_key: SecretStr | None = None
    ssh_passphrase: SecretStr | None = None


class ForgeSettings(BaseModel):
    """Where pull requests are opened. `none`: a plain Git remote (the pushed branch is the
    result). `api_url` and `repository` default to what the repository URL implies."""

    model_config = ConfigDict(extra="forbid")

    provider: ForgeProvider = ForgeProvider.NONE
    api_url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://")
    repository: str | None = Field(default=None, max_length=300, pattern=r"^[^/\s]+/[^/\s]+$")
    token: SecretStr | None = Field(
        default=None, description="Omit to keep the stored one (or use the Git token)."
    )


class ForgeRead(BaseModel):
    provider: ForgeProvider
    api_url: str | None
    repository: str | None
    has_token: bool


class RepositoryPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: RepoUrl
    branch: BranchName = "main"
    workflows_dir: WorkflowsDir = "workflows"
    auth: RepositoryAuth | None = Field(
        default=None, description="Omit to keep the stored credentials; {} removes them."
    )
    forge: ForgeSettings | None = Field(
        default=None, description="Omit to keep the stored forge settings."
    )
    commit_mode: CommitMode | None = Field(
        default=None,
        description="How env_wins writes: pull_request (a branch and a pull request; "
        "canonical once merged) or push (to `branch` directly). Omit to keep it.",
    )


class RepositoryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    url: str
    branch: str
    workflows_dir: str
    has_credentials: bool
    forge: ForgeRead
    commit_mode: CommitMode
    last_synced_commit: str | None
    last_synced_at: datetime | None
    sync_interval_s: int = Field(description="Seconds between scheduled syncs; 0: manual only.")
    paused: bool
    next_sync_at: datetime | None


class RepositorySchedule(BaseModel):
    """The repository's schedule; omit a field to keep it."""

    model_config = ConfigDict(extra="forbid")

    sync_interval_s: int | None = Field(
        default=None,
        ge=0,
        le=7 * 24 * 3600,
        description="0: manual only; else at least CANONFLOW_MIN_SYNC_INTERVAL_S.",
    )
    paused: bool | None = None


class RepositoryCheck(BaseModel):
    ok: bool
    detail: str
    head: str | None = None


class RepositorySyncRequest(BaseModel):
    """The body of `POST /api/v1/canonical/sync-repo` (optional)."""

    model_config = ConfigDict(extra="forbid")

    confirm_prune: bool = Field(
        default=False,
        description="let the sync mark more canonical workflows deleted than the prune guard "
        "(CANONFLOW_PRUNE_GUARD_PERCENT) allows, or all of them",
    )
