"""The schedule's arithmetic: due times at `k * interval + phase`, phases spread evenly."""

from __future__ import annotations

import itertools
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canonflow.core.schedule import (
    EPOCH,
    busiest_share,
    format_interval,
    next_due,
    next_due_for,
    parse_interval,
    phase_fraction,
    phase_of,
    tick_cron,
)

instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
intervals = st.integers(min_value=1, max_value=30 * 86400)
ids = st.uuids()


def _micros(delta: timedelta) -> int:
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


@given(after=instants, interval=intervals, key=ids)
def test_next_due_is_the_first_slot_strictly_after(
    after: datetime, interval: int, key: uuid.UUID
) -> None:
    phase = phase_of(key, interval)
    due = next_due(after, interval, phase)
    assert after < due <= after + timedelta(seconds=interval)
    assert _micros(due - EPOCH - phase) % (interval * 1_000_000) == 0


@given(after=instants, interval=intervals, key=ids, fraction=st.floats(0, 1, exclude_max=True))
def test_any_instant_before_a_slot_gives_that_slot(
    after: datetime, interval: int, key: uuid.UUID, fraction: float
) -> None:
    """A restart anywhere between two due times finds the same next due time: starts never
    bunch because a process started late."""
    due = next_due_for(key, after, interval)
    previous = due - timedelta(seconds=interval)
    restart = previous + timedelta(microseconds=int(interval * 1_000_000 * fraction))
    assert next_due_for(key, restart, interval) == due


@given(after=instants, interval=intervals, key=ids)
def test_successive_due_times_are_one_interval_apart(
    after: datetime, interval: int, key: uuid.UUID
) -> None:
    first = next_due_for(key, after, interval)
    assert next_due_for(key, first, interval) == first + timedelta(seconds=interval)


@given(key=ids, interval=intervals)
def test_phase_is_stable_and_within_the_interval(key: uuid.UUID, interval: int) -> None:
    phase = phase_of(key, interval)
    assert phase == phase_of(uuid.UUID(str(key)), interval)
    assert timedelta(0) <= phase < timedelta(seconds=interval)
    assert 0 <= phase_fraction(key) < 1


@given(seed=st.integers(min_value=0, max_value=2**32))
def test_three_thousand_hourly_environments_spread_evenly(seed: int) -> None:
    """The busiest tenth of the hour gets at most 1.5 times its share of starts (the expected
    busiest tenth of 3,000 uniform starts is about 1.1 times)."""
    rng = random.Random(seed)
    keys = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(3000)]
    now = datetime(2026, 12, 6, 5, 0, 17, tzinfo=UTC)
    starts = [next_due_for(key, now, 3600) for key in keys]
    offsets = [(s - now).total_seconds() / 3600 for s in starts]
    assert all(0 < o <= 1 for o in offsets)
    assert busiest_share(o % 1.0 for o in offsets) <= 1.5
    assert busiest_share(phase_fraction(key) for key in keys) <= 1.5


def test_busiest_share_of_bunched_starts_is_high() -> None:
    assert busiest_share([0.05] * 10) == 10.0
    assert busiest_share([i / 10 for i in range(10)]) == 1.0
    assert busiest_share([]) == 0.0


def test_interval_zero_and_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="never due"):
        next_due(datetime.now(UTC), 0, timedelta(0))
    with pytest.raises(ValueError, match="no phase"):
        phase_of(uuid.uuid4(), 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        next_due(datetime(2026, 1, 1), 60, timedelta(0))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("15m", 900), ("1h", 3600), ("2d", 172800), ("0", 0), ("45", 45), (" 1H ", 3600)],
)
def test_parse_interval(text: str, seconds: int) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "1.5h", "-1m", "10w", "ten"])
def test_parse_interval_refuses_nonsense(text: str) -> None:
    with pytest.raises(ValueError, match="not an interval"):
        parse_interval(text)


@given(st.integers(min_value=0, max_value=10**7))
def test_format_interval_round_trips(seconds: int) -> None:
    text = format_interval(seconds)
    assert parse_interval("0" if text == "manual" else text) == seconds


@pytest.mark.parametrize(
    ("period_s", "cron"),
    [
        (1, "* * * * * *"),
        (15, "* * * * * */15"),
        (30.0, "* * * * * */30"),
        (60, "*/1 * * * * 0"),
        (900, "*/15 * * * * 0"),
        (3600, "*/60 * * * * 0"),
        (7200, "0 */2 * * * 0"),
        (86400, "0 0 * * * 0"),
    ],
)
def test_a_tick_period_becomes_an_evenly_spaced_cron(period_s: float, cron: str) -> None:
    assert tick_cron(period_s) == cron


@pytest.mark.parametrize("period_s", [1, 2, 5, 15, 20, 30, 60, 120, 300, 900, 1800, 7200])
def test_the_cron_fires_exactly_every_period(period_s: int) -> None:
    from croniter import croniter

    fires = croniter(tick_cron(period_s), 1_700_000_003.0)
    times = [fires.get_next(float) for _ in range(5)]
    assert {b - a for a, b in itertools.pairwise(times)} == {period_s}


@pytest.mark.parametrize("period_s", [0.3, 7, 45, 90, 61, 5400, 172800])
def test_a_period_cron_cannot_space_evenly_is_refused_readably(period_s: float) -> None:
    with pytest.raises(ValueError, match=f"a tick every {period_s:g} s cannot be a cron"):
        tick_cron(period_s)
