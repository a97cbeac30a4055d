"""How a state or status looks: colour (a CSS class) *and* symbol *and* text, one table for
every page, so the matrix, the overview and a workflow's page say the same thing."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Label:
    symbol: str
    text: str
    css: str


STATES: dict[str, Label] = {
    "in_sync": Label("✓", "in sync", "ok"),
    "drift": Label("≠", "drift", "warn"),
    "out_of_date": Label("↑", "out of date", "info"),
    "conflict": Label("⚠", "conflict", "bad"),
    "unknown": Label("?", "unknown", "muted"),
    "orphaned": Label("⊘", "orphaned", "bad"),
}

STATUSES: dict[str, Label] = {
    "linked": Label("●", "linked", "ok"),
    "untracked": Label("○", "untracked", "info"),
    "missing": Label("∅", "missing", "bad"),
    "ignored": Label("⊝", "ignored", "muted"),
    "deleted": Label("✕", "deleted", "muted"),
    "absent": Label("—", "absent", "muted"),
}


def label(value: str | None) -> Label:
    """The label of a derived state or a stored status (state first: a linked cell shows
    its state)."""
    if value is None:
        return STATUSES["absent"]
    return STATES.get(value) or STATUSES.get(value) or Label("?", value.replace("_", " "), "muted")


def cell_label(status: str | None, state: str | None) -> Label:
    """A matrix cell: a linked copy shows its state, any other its status."""
    if status in (None, "linked") and state:
        return label(state)
    return label(status)
