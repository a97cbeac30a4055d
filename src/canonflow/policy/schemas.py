"""Ignore rules as the API reads and writes them."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Glob = Annotated[str, Field(min_length=1, max_length=200)]


class IgnoreRuleIn(BaseModel):
    """One rule: `path` (docs/ignore-rules.md for the grammar), optionally narrowed to
    workflow slugs (globs, `*` and `?`) and environments (ids); empty or absent: all."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1, max_length=500)
    workflows: list[Glob] = Field(default_factory=list, max_length=100)
    environments: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    note: str | None = Field(default=None, max_length=2000)


class IgnoreRuleOut(BaseModel):
    path: str
    workflows: list[str]
    environments: list[uuid.UUID]
    note: str | None


class IgnoreRulesPut(BaseModel):
    """The tenant's whole rule list (a PUT replaces it)."""

    model_config = ConfigDict(extra="forbid")

    rules: list[IgnoreRuleIn] = Field(max_length=500)


class IgnoreRulesRead(BaseModel):
    rules: list[IgnoreRuleOut]


class IgnoreRulesWritten(IgnoreRulesRead):
    """The stored list, and the job applying it to the tenant's cells (its result:
    `cells_recomputed`, `state_changes`, recorded with cause `ignore_rules`)."""

    job_id: uuid.UUID
    url: str
