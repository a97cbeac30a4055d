"""When a scheduled sync is due: at `k * interval + phase` seconds after the Unix epoch.

Each environment (or repository) has a stable phase, a fraction of its interval taken from
a hash of its id. Due times are a pure function of (interval, phase) and the clock, so a
restart finds the same due times it left, and many environments on one interval start
evenly spread over it instead of together. All arithmetic is in whole microseconds.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SCALE = 2**64

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def phase_fraction(key: uuid.UUID) -> float:
    """A stable number in [0, 1) for an id, uniform over ids."""
    return _hash64(key) / _SCALE


def phase_of(key: uuid.UUID, interval_s: int) -> timedelta:
    """The id's offset within an interval of `interval_s` seconds (whole microseconds)."""
    if interval_s <= 0:
        raise ValueError("an interval of 0 has no phase: it is never due")
    micros = _hash64(key) * interval_s * 1_000_000 // _SCALE
    return timedelta(microseconds=micros)


def next_due(after: datetime, interval_s: int, phase: timedelta) -> datetime:
    """The first `EPOCH + k * interval + phase` strictly after `after` (timezone-aware)."""
    if interval_s <= 0:
        raise ValueError("an interval of 0 is never due")
    if after.tzinfo is None:
        raise ValueError("`after` must be timezone-aware")
    interval = interval_s * 1_000_000
    offset = _micros(after - EPOCH) - _micros(phase)
    k = offset // interval + 1
    return EPOCH + timedelta(microseconds=k * interval + _micros(phase))


def next_due_for(key: uuid.UUID, after: datetime, interval_s: int) -> datetime:
    return next_due(after, interval_s, phase_of(key, interval_s))


def busiest_share(offsets: Iterable[float], buckets: int = 10) -> float:
    """Of offsets in [0, 1) (start times as fractions of the interval), the busiest of
    `buckets` equal slices' count divided by its fair share (1.0 is perfectly even)."""
    counts = [0] * buckets
    total = 0
    for offset in offsets:
        counts[min(int(offset * buckets), buckets - 1)] += 1
        total += 1
    return max(counts) * buckets / total if total else 0.0


def parse_interval(text: str) -> int:
    """`30s`, `15m`, `1h`, `2d`, a bare number of seconds, or `0` (manual only)."""
    value = text.strip().lower()
    unit = _UNITS.get(value[-1:]) if value else None
    number = value[:-1] if unit else value
    if not number.isdigit():
        raise ValueError(f"not an interval: {text!r} (use e.g. 30s, 15m, 1h or 0)")
    return int(number) * (unit or 1)


def format_interval(seconds: int) -> str:
    """The shortest exact spelling: 0 → 'manual', 900 → '15m', 90 → '90s'."""
    if seconds == 0:
        return "manual"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


_DAY_S = 86400


def tick_cron(period_s: float) -> str:
    """A cron expression (croniter's, seconds as a 6th field, as procrastinate reads it)
    that fires every `period_s` seconds at even spacing; `ValueError` for a period cron
    cannot space evenly. Fields count from the start of their unit, so the period must
    divide it: 1-30 s dividing a minute, whole minutes dividing an hour, whole hours
    dividing a day."""
    whole = int(period_s)
    if whole != period_s or whole <= 0:
        raise ValueError(_not_expressible(period_s))
    if whole < 60 and 60 % whole == 0:
        return "* * * * * *" if whole == 1 else f"* * * * * */{whole}"
    if whole % 60 == 0 and 3600 % whole == 0:
        return f"*/{whole // 60} * * * * 0"
    if whole % 3600 == 0 and _DAY_S % whole == 0:
        return f"0 */{whole // 3600} * * * 0" if whole < _DAY_S else "0 0 * * * 0"
    raise ValueError(_not_expressible(period_s))


def _not_expressible(period_s: float) -> str:
    return (
        f"a tick every {period_s:g} s cannot be a cron schedule: use whole seconds that "
        "divide a minute (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30), whole minutes that divide "
        "an hour (60, 120, 180, 240, 300, 600, 900, 1200, 1800, 3600 s) or whole hours "
        "that divide a day"
    )


def _micros(delta: timedelta) -> int:
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _hash64(key: uuid.UUID) -> int:
    return int.from_bytes(hashlib.sha256(b"canonflow.schedule:" + key.bytes).digest()[:8], "big")
