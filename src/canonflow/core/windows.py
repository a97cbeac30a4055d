"""Sync windows: when an environment takes writes (deploy, reconcile apply, promotion,
restore). Pure: the caller passes the windows and the time.

A window opens at each time its cron fires, in the window's own timezone (wall-clock time,
so "0 9 * * 1-5" in Europe/Berlin is 09:00 there summer and winter), and lasts
`duration_s`. A fire time that does not exist on the clock (the hour a DST change skips)
happens when the clock gets there: as zoneinfo reads it, that much later. Writes are
allowed when no `deny` window is active and, if any `allow` window is defined, one is.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from croniter import croniter

MIN_DURATION_S = 60
MAX_DURATION_S = 7 * 24 * 3600
#: how far ahead `window_status` looks for the next change, and at most how many window
#: edges it checks (a change further away reads as none)
HORIZON = timedelta(days=400)
MAX_EDGES = 500


class WindowKind(StrEnum):
    ALLOW = "allow"
    DENY = "deny"


@dataclass(frozen=True)
class SyncWindow:
    kind: WindowKind
    cron: str
    duration_s: int
    timezone: str = "UTC"


@dataclass(frozen=True)
class WindowStatus:
    """`open`: writes are allowed now. `active_window`: the index of a window active now
    that decides it (a deny window, else an allow window), if any. `next_change`: when
    `open` flips next (None: not within the horizon). `next_open`: now when open, else
    when writes are next allowed (None: not within the horizon)."""

    open: bool
    active_window: int | None
    next_change: datetime | None
    next_open: datetime | None


def check_window(window: SyncWindow) -> None:
    """Raise ValueError when the window cannot be evaluated."""
    if not croniter.is_valid(window.cron) or len(window.cron.split()) != 5:
        raise ValueError(f"not a 5-field cron expression: {window.cron!r}")
    if not MIN_DURATION_S <= window.duration_s <= MAX_DURATION_S:
        raise ValueError(f"duration_s must be {MIN_DURATION_S}..{MAX_DURATION_S} seconds")
    _zone(window.timezone)


def window_status(windows: Sequence[SyncWindow], now: datetime) -> WindowStatus:
    now = _utc(now)
    is_open, active = _state(windows, now)
    change = _next_change(windows, now, is_open)
    return WindowStatus(
        open=is_open,
        active_window=active,
        next_change=change,
        next_open=now if is_open else change,
    )


def is_open_at(windows: Sequence[SyncWindow], at: datetime) -> bool:
    return _state(windows, _utc(at))[0]


def _state(windows: Sequence[SyncWindow], at: datetime) -> tuple[bool, int | None]:
    active = [i for i, w in enumerate(windows) if _active(w, at)]
    deny = [i for i in active if windows[i].kind is WindowKind.DENY]
    if deny:
        return False, deny[0]
    allow = [i for i in active if windows[i].kind is WindowKind.ALLOW]
    if allow:
        return True, allow[0]
    has_allow = any(w.kind is WindowKind.ALLOW for w in windows)
    return not has_allow, None


def _active(window: SyncWindow, at: datetime) -> bool:
    """Some fire time s of the window has s <= at < s + duration (searched backwards)."""
    zone, duration = _zone(window.timezone), timedelta(seconds=window.duration_s)
    lowest = _wall(zone, at - duration, low=True)
    it = croniter(window.cron, _wall(zone, at, low=False) + timedelta(seconds=1))
    while True:
        fire: datetime = it.get_prev(datetime)
        if fire < lowest:
            return False
        if at - duration < fire.replace(tzinfo=zone).astimezone(UTC) <= at:
            return True


def _fires(window: SyncWindow, start: datetime, end: datetime) -> Iterator[datetime]:
    """The window's fire times in [start, end] (UTC), in wall-clock order."""
    zone = _zone(window.timezone)
    last = _wall(zone, end, low=False)
    it = croniter(window.cron, _wall(zone, start, low=True) - timedelta(seconds=1))
    while True:
        fire: datetime = it.get_next(datetime)
        if fire > last:
            return
        at = fire.replace(tzinfo=zone).astimezone(UTC)
        if start <= at <= end:
            yield at


def _wall(zone: ZoneInfo, at: datetime, *, low: bool) -> datetime:
    """A naive wall-clock bound: every wall time whose instant is at `at` or later (low)
    or at `at` or earlier (high) is on that side of it, across a DST change nearby."""
    offsets = [
        (at + timedelta(days=d)).astimezone(zone).utcoffset() or timedelta(0) for d in (-1, 0, 1)
    ]
    shift = min(offsets) if low else max(offsets)
    return at.astimezone(UTC).replace(tzinfo=None) + shift


def _next_change(windows: Sequence[SyncWindow], now: datetime, is_open: bool) -> datetime | None:
    """The first window edge after now where `open` differs from now's, looked for in
    growing spans (most changes are near)."""
    if not windows:
        return None
    start, checked = now, 0
    for days in _SPANS:
        end = now + timedelta(days=days)
        for edge in _edges(windows, start, end):
            if _state(windows, edge)[0] != is_open:
                return edge
            checked += 1
            if checked >= MAX_EDGES:
                return None
        start = end
    return None


_SPANS = (1, 8, 40, HORIZON.days)


def _edges(windows: Sequence[SyncWindow], start: datetime, end: datetime) -> list[datetime]:
    """Every start and end of a window instance in (start, end], sorted."""
    edges: set[datetime] = set()
    for window in windows:
        duration = timedelta(seconds=window.duration_s)
        for fire in _fires(window, start - duration, end):
            edges.update(e for e in (fire, fire + duration) if start < e <= end)
    return sorted(edges)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        raise ValueError(f"unknown timezone {name!r}") from None


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("a timezone-aware time is needed")
    return at.astimezone(UTC)
