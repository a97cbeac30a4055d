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
    # n8n 2.x: runs Git's version, but holds a draft edited in n8n and not published
    "draft_pending": Label("✎", "draft pending", "draft"),
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


def cell_label(status: str | None, state: str | None, *, draft_pending: bool = False) -> Label:
    """A matrix cell: a linked copy shows its state, any other its status. A linked copy
    whose n8n holds a draft it does not run says so too, whatever its state."""
    if status in (None, "linked") and state:
        found = label(state)
        if draft_pending and state != "draft_pending":
            draft = STATES["draft_pending"]
            return Label(f"{found.symbol}{draft.symbol}", f"{found.text}, {draft.text}", found.css)
        return found
    return label(status)


# Reconcile: what a plan item does, what an apply did with it, how its job stands.
ACTIONS: dict[str, Label] = {
    "deploy": Label("↓", "deploy to n8n", "info"),
    "commit": Label("↑", "commit to Git", "info"),
    "delete": Label("✕", "delete from n8n", "warn"),
    "readopt": Label("↺", "re-adopt into Git", "info"),
    "conflict": Label("⚠", "conflict", "bad"),
    "blocked": Label("⊗", "blocked", "bad"),
    "none": Label("·", "left as is", "muted"),
}

APPLY_RESULTS: dict[str, Label] = {
    "applied": Label("✓", "applied", "ok"),
    "proposed": Label("⇢", "proposed (pull request)", "info"),
    "stale": Label("↻", "stale: a side moved", "warn"),
    "blocked": Label("⊗", "blocked", "bad"),
    "failed": Label("✕", "failed", "bad"),
    "drafted": Label("◐", "saved as a draft, not published", "warn"),
}

JOB_STATUSES: dict[str, Label] = {
    "queued": Label("◷", "queued", "info"),
    "running": Label("▶", "running", "info"),
    "succeeded": Label("✓", "succeeded", "ok"),
    "failed": Label("✕", "failed", "bad"),
    "cancelled": Label("⊘", "cancelled", "muted"),
}


def action_label(value: str) -> Label:
    return ACTIONS.get(value) or Label("?", value, "muted")


def apply_result_label(value: str) -> Label:
    return APPLY_RESULTS.get(value) or Label("?", value, "muted")


SYNC_OUTCOMES: dict[str, Label] = {
    "running": Label("▶", "running", "info"),
    "succeeded": Label("✓", "succeeded", "ok"),
    "incomplete": Label("◐", "incomplete", "warn"),
    "failed": Label("✕", "failed", "bad"),
}

REACHABILITY: dict[str, Label] = {
    "reachable": Label("●", "reachable", "ok"),
    "unreachable": Label("✕", "unreachable", "bad"),
    "partly": Label("◐", "partly reachable", "warn"),
    "unknown": Label("?", "not synced yet", "muted"),
}


def job_label(status: str) -> Label:
    return JOB_STATUSES.get(status) or Label("?", status, "muted")


def outcome_label(outcome: str | None) -> Label:
    """A sync run's outcome (none: never synced)."""
    if outcome is None:
        return Label("—", "never", "muted")
    return SYNC_OUTCOMES.get(outcome) or Label("?", outcome, "muted")


def reachability(outcome: str | None) -> Label:
    """Whether an environment answered, from its last sync's outcome (no call to n8n while
    a page renders): succeeded -> reachable, incomplete -> partly, failed -> unreachable."""
    if outcome in (None, "running"):
        return REACHABILITY["unknown"]
    return REACHABILITY[
        {"succeeded": "reachable", "incomplete": "partly"}.get(outcome, "unreachable")
    ]
