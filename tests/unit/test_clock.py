from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import MovableClock, SystemClock

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_system_clock_is_aware_utc() -> None:
    assert SystemClock().now().tzinfo is UTC


def test_movable_clock_runs_from_its_start() -> None:
    clock = MovableClock(START)
    assert START <= clock.now() < START + timedelta(seconds=5)


def test_frozen_clock_moves_only_when_told() -> None:
    clock = MovableClock(START, frozen=True)
    assert clock.now() == START
    assert clock.advance(timedelta(hours=2)) == START + timedelta(hours=2)
    assert clock.now() == START + timedelta(hours=2)


def test_listeners_hear_every_move() -> None:
    clock = MovableClock(START, frozen=True)
    heard: list[datetime] = []
    clock.on_change(heard.append)
    clock.advance(timedelta(minutes=5))
    clock.set(START + timedelta(days=1))
    assert heard == [START + timedelta(minutes=5), START + timedelta(days=1)]


def test_the_clock_never_moves_backwards() -> None:
    clock = MovableClock(START, frozen=True)
    with pytest.raises(ValueError, match="forward"):
        clock.set(START - timedelta(seconds=1))
    with pytest.raises(ValueError, match="forward"):
        clock.advance(timedelta(seconds=-1))
    assert clock.now() == START


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        MovableClock(datetime(2026, 3, 1))
