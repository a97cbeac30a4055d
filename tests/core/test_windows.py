"""Sync windows (pure): plain cases, DST, and properties over random windows and times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canonflow.core.windows import SyncWindow, WindowKind, check_window, window_status

ALLOW, DENY = WindowKind.ALLOW, WindowKind.DENY


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_no_windows_is_always_open() -> None:
    status = window_status([], at("2026-12-07T01:00:00"))
    assert status.open and status.next_change is None
    assert status.next_open == at("2026-12-07T01:00:00")


def test_an_allow_window_opens_only_inside_it() -> None:
    office = [SyncWindow(ALLOW, "0 9 * * 1-5", 8 * 3600, "Europe/Berlin")]
    monday_night = window_status(office, at("2026-12-07T01:00:00"))  # 02:00 in Berlin
    assert not monday_night.open
    assert monday_night.next_open == at("2026-12-07T08:00:00")  # 09:00 CET
    monday_noon = window_status(office, at("2026-12-07T11:00:00"))
    assert monday_noon.open and monday_noon.active_window == 0
    assert monday_noon.next_change == at("2026-12-07T16:00:00")
    saturday = window_status(office, at("2026-12-12T11:00:00"))
    assert not saturday.open and saturday.next_open == at("2026-12-14T08:00:00")


def test_deny_wins_over_allow() -> None:
    windows = [
        SyncWindow(ALLOW, "0 0 * * *", 24 * 3600, "UTC"),
        SyncWindow(DENY, "0 12 * * *", 3600, "UTC"),
    ]
    lunch = window_status(windows, at("2026-12-07T12:30:00"))
    assert not lunch.open and lunch.active_window == 1
    assert lunch.next_open == at("2026-12-07T13:00:00")
    assert window_status(windows, at("2026-12-07T13:00:00")).open


def test_wall_clock_time_across_dst() -> None:
    """09:00 in New York is 14:00 UTC in winter and 13:00 UTC in summer."""
    windows = [SyncWindow(ALLOW, "0 9 * * *", 3600, "America/New_York")]
    assert window_status(windows, at("2026-03-07T14:30:00")).open  # EST
    assert not window_status(windows, at("2026-03-09T14:30:00")).open  # EDT: 10:30 there
    assert window_status(windows, at("2026-03-09T13:30:00")).open
    assert window_status(windows, at("2026-03-08T00:00:00")).next_open == at("2026-03-08T13:00:00")


def test_a_fire_time_dst_skips_happens_when_the_clock_gets_there() -> None:
    # 02:30 does not exist in Berlin on 2026-03-29: the window opens at 03:30 CEST
    windows = [SyncWindow(DENY, "30 2 * * *", 3600, "Europe/Berlin")]
    status = window_status(windows, at("2026-03-29T00:00:00"))
    assert status.open and status.next_change == at("2026-03-29T01:30:00")


@pytest.mark.parametrize(
    ("window", "message"),
    [
        (SyncWindow(DENY, "not a cron", 3600), "cron"),
        (SyncWindow(DENY, "0 9 * * * *", 3600), "cron"),
        (SyncWindow(DENY, "0 9 * * *", 59), "duration_s"),
        (SyncWindow(DENY, "0 9 * * *", 8 * 24 * 3600), "duration_s"),
        (SyncWindow(DENY, "0 9 * * *", 3600, "Mars/Olympus"), "timezone"),
    ],
)
def test_bad_windows_are_refused(window: SyncWindow, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_window(window)


CRONS = ["0 9 * * 1-5", "*/30 * * * *", "30 2 * * *", "0 0 * * 0", "15 1 1 * *", "0 */6 * * *"]
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]
windows_st = st.lists(
    st.builds(
        SyncWindow,
        st.sampled_from([ALLOW, DENY]),
        st.sampled_from(CRONS),
        st.integers(60, 3 * 24 * 3600),
        st.sampled_from(ZONES),
    ),
    max_size=3,
)
# around the DST changes of 2026 and in between
times_st = st.datetimes(min_value=datetime(2026, 3, 1), max_value=datetime(2026, 11, 30)).map(
    lambda t: t.replace(tzinfo=UTC)
)


@settings(max_examples=40, deadline=None)
@given(windows_st, times_st, st.lists(st.floats(0, 1), min_size=1, max_size=5))
def test_status_is_constant_until_next_change_and_next_open_is_open(
    windows: list[SyncWindow], now: datetime, fractions: list[float]
) -> None:
    status = window_status(windows, now)
    if status.next_open is not None:
        assert window_status(windows, status.next_open).open
    if status.open:
        assert status.next_open == now
    if status.next_change is None:
        return
    assert status.next_change > now
    assert window_status(windows, status.next_change).open != status.open
    span = (status.next_change - now).total_seconds()
    for fraction in fractions:
        inside = now + timedelta(seconds=span * fraction)
        if inside < status.next_change:
            assert window_status(windows, inside).open == status.open
