"""Representations of templates and of an instantiation request."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from canonflow.core.slugs import MAX_SLUG_LENGTH
from canonflow.core.templates import MAX_PARAMETERS


class TemplateParameterRead(BaseModel):
    name: str
    description: str
    default: str | None
    required: bool


class TemplateRead(BaseModel):
    slug: str
    name: str = Field(description="the workflow name, placeholders and all")
    description: str
    parameters: list[TemplateParameterRead]
    git_file_path: str
    git_commit: str
    updated_at: datetime


class TemplateList(BaseModel):
    items: list[TemplateRead]


class InstantiateRequest(BaseModel):
    """The new canonical workflow's slug (its file is `<workflows_dir>/<slug>.json`) and
    the template's parameters (text; a declared parameter left out takes its default)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"slug": "alert-payments", "parameters": {"team": "payments"}}]
        },
    )

    slug: str = Field(min_length=1, max_length=MAX_SLUG_LENGTH)
    parameters: dict[str, str] = Field(default_factory=dict, max_length=MAX_PARAMETERS)
