"""What an apply job carries (one `ApplyItem` per write, planned with the hashes it expects
to find) and what it reports per item (`Outcome`)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    DEPLOY = "deploy"  # write a definition into an environment's n8n
    COMMIT = "commit"  # write a definition into Git
    DELETE = "delete"  # delete an orphaned workflow from n8n (its canonical is deleted in Git)
    READOPT = "readopt"  # write an orphaned workflow back to Git: its canonical is live again


class BaseAfter(StrEnum):
    """The mapping's base hash once written: what was written (both sides agree on it, or a
    rollback: Git is newer), or left as it was (a restore brings the earlier state back)."""

    WRITTEN = "written"
    KEEP = "keep"


class Result(StrEnum):
    APPLIED = "applied"
    PROPOSED = "proposed"  # on a branch with a pull request: canonical once merged
    STALE = "stale"  # a side moved since the plan: nothing was written
    BLOCKED = "blocked"  # cannot be written (credentials, references): nothing was written
    FAILED = "failed"
    # n8n 2.x saved it as a draft but did not publish it (the key lacks the publish scope,
    # or publishing was refused): written, yet the environment runs its previous version
    DRAFTED = "drafted"


@dataclass(frozen=True)
class ApplyItem:
    """One write. `source`: "canonical" (the Git version as the database holds it),
    "environment" (the n8n version, read again when applied), "commit:<sha>" (a file's older
    version) or "snapshot:<id>". `expected_*`: the hashes the plan saw; a side whose hash
    moved makes the item stale (None: not checked; an absent mapping must stay absent)."""

    kind: Kind
    canonical_id: uuid.UUID
    environment_id: uuid.UUID
    mapping_id: uuid.UUID | None
    expected_env_hash: str | None
    expected_git_hash: str | None
    source: str = "canonical"
    base_after: BaseAfter = BaseAfter.WRITTEN
    label: str = ""  # "<slug>@<environment>", for people reading the job

    def as_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ApplyItem:
        mapping = data.get("mapping_id")
        return cls(
            kind=Kind(data["kind"]),
            canonical_id=uuid.UUID(data["canonical_id"]),
            environment_id=uuid.UUID(data["environment_id"]),
            mapping_id=uuid.UUID(mapping) if mapping else None,
            expected_env_hash=data.get("expected_env_hash"),
            expected_git_hash=data.get("expected_git_hash"),
            source=data.get("source", "canonical"),
            base_after=BaseAfter(data.get("base_after", BaseAfter.WRITTEN)),
            label=str(data.get("label") or ""),
        )


@dataclass
class Outcome:
    item: ApplyItem
    result: Result
    detail: str
    content_hash: str | None = None
    n8n_workflow_id: str | None = None
    snapshot_id: uuid.UUID | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.item.kind.value,
            "label": self.item.label,
            "canonical_id": str(self.item.canonical_id),
            "environment_id": str(self.item.environment_id),
            "mapping_id": str(self.item.mapping_id) if self.item.mapping_id else None,
            "result": self.result.value,
            "detail": self.detail,
            "content_hash": self.content_hash,
            "n8n_workflow_id": self.n8n_workflow_id,
            "snapshot_id": str(self.snapshot_id) if self.snapshot_id else None,
        }
