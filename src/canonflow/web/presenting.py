"""How the workflow and diff pages lay data out: JSON values shown (folded when long), a raw
JSON diff as side-by-side rows, a state sparkline's geometry, one timeline from several
sources. Presentation only: what is compared and what happened comes from the services."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from canonflow.core.git_layout import render_workflow_file

FOLD_CHARS = 80  # a value longer than this (or on several lines) is folded in <details>
FOLD_LINES = 40  # a document longer than this many lines is folded
SPARK_BAR, SPARK_GAP, SPARK_HEIGHT = 6, 1, 18
# a linked cell's derived states other than in sync (a status such as untracked is no state)
NOT_IN_SYNC = frozenset(
    {"draft_pending", "drift", "out_of_date", "conflict", "unknown", "orphaned"}
)


def pretty(value: Any) -> str:
    """A JSON value as a person reads it: compact when short, indented otherwise."""
    compact = json.dumps(value, ensure_ascii=False)
    if len(compact) <= FOLD_CHARS or not isinstance(value, dict | list):
        return compact
    return json.dumps(value, ensure_ascii=False, indent=2)


@dataclass(frozen=True, slots=True)
class Shown:
    """A value on a page: `summary` is all of it, or its first characters when `folded`
    (then `full` goes in a <details>)."""

    summary: str
    full: str
    folded: bool


def shown(value: Any) -> Shown:
    full = pretty(value)
    if len(full) <= FOLD_CHARS and "\n" not in full:
        return Shown(full, full, False)
    first = full.replace("\n", " ")
    lines = full.count("\n") + 1
    return Shown(f"{first[: FOLD_CHARS - 20]}… ({len(full)} chars, {lines} lines)", full, True)


def document_lines(document: Mapping[str, Any]) -> list[str]:
    """A workflow as the lines of its Git file (what differs between copies left out, keys
    sorted, two-space indent: `render_workflow_file`)."""
    return render_workflow_file(document).decode().splitlines()


@dataclass(frozen=True, slots=True)
class RawRow:
    """One row of a side-by-side line diff: `kind` is equal, changed, removed (left only),
    added (right only) or skip (unchanged lines left out up to the lines numbered)."""

    kind: str
    left_no: int | None
    left: str
    right_no: int | None
    right: str


def raw_rows(old: Mapping[str, Any], new: Mapping[str, Any], *, context: int = 3) -> list[RawRow]:
    """The line diff of the two workflows' files (pretty JSON, as a commit of one over the
    other would show it), side by side, with `context` unchanged lines around each change
    (a skip row stands for the rest)."""
    left, right = document_lines(old), document_lines(new)
    rows: list[RawRow] = []
    if left == right:
        return rows
    matcher = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        first = group[0]
        if rows or first[1] > 0:
            rows.append(RawRow("skip", first[1] + 1, "", first[3] + 1, ""))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                rows += [
                    RawRow("equal", i + 1, left[i], j + 1, right[j])
                    for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
                ]
                continue
            for k in range(max(i2 - i1, j2 - j1)):
                i, j = i1 + k, j1 + k
                has_left, has_right = i < i2, j < j2
                kind = "changed" if has_left and has_right else "removed" if has_left else "added"
                rows.append(
                    RawRow(
                        kind,
                        i + 1 if has_left else None,
                        left[i] if has_left else "",
                        j + 1 if has_right else None,
                        right[j] if has_right else "",
                    )
                )
    return rows


@dataclass(frozen=True, slots=True)
class Bar:
    x: int
    y: int
    height: int
    day: str
    state: str | None  # a derived state, a status (not linked that day), or None (no cell)


@dataclass(frozen=True, slots=True)
class Sparkline:
    """One environment's cell state per day, as SVG bars (the CSS colours them by state)."""

    width: int
    height: int
    bar: int
    bars: list[Bar]
    drift_days: int
    summary: str


def sparkline(series: Sequence[str | None], today: date) -> Sparkline:
    """`series` is oldest first, ending today (catalogue.service.daily_states)."""
    first = today - timedelta(days=len(series) - 1)
    bars = []
    for i, state in enumerate(series):
        tall = SPARK_HEIGHT if state in NOT_IN_SYNC else SPARK_HEIGHT // 3 if state else 2
        day = (first + timedelta(days=i)).isoformat()
        bars.append(Bar(i * (SPARK_BAR + SPARK_GAP), SPARK_HEIGHT - tall, tall, day, state))
    drift = sum(1 for state in series if state in NOT_IN_SYNC)
    linked = sum(1 for state in series if state in NOT_IN_SYNC or state == "in_sync")
    summary = (
        f"linked on {linked} of the last {len(series)} days, not in sync on {drift} of them"
        if linked
        else f"not linked in the last {len(series)} days"
    )
    width = max(len(bars) * (SPARK_BAR + SPARK_GAP) - SPARK_GAP, 1)
    return Sparkline(width, SPARK_HEIGHT, SPARK_BAR, bars, drift, summary)


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of a workflow's timeline."""

    at: Any  # datetime, time zone aware
    kind: str  # commit | state | status | snapshot
    environment: str | None
    text: str
    detail: str = ""
    link: str | None = None


def timeline(entries: Iterable[Entry], *, limit: int) -> list[Entry]:
    """Newest first, at most `limit`."""
    return sorted(entries, key=lambda entry: entry.at, reverse=True)[:limit]
