"""Mapping status (placeholder until the domain core lands)."""

from enum import StrEnum


class MappingStatus(StrEnum):
    LINKED = "linked"
    UNTRACKED = "untracked"
    MISSING = "missing"
    IGNORED = "ignored"
    DELETED = "deleted"
