"""Flood control token buckets, on a fake monotonic clock."""

from __future__ import annotations

from bot.sandbox.limits import FloodControl


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_thirty_a_second_overall() -> None:
    clock = FakeMonotonic()
    flood = FloodControl(monotonic=clock)
    assert all(flood.acquire(chat, is_group=False) is None for chat in range(30))
    assert flood.acquire(30, is_group=False) == 1
    clock.now += 1 / 30 + 1e-6
    assert flood.acquire(30, is_group=False) is None
    assert flood.acquire(31, is_group=False) == 1


def test_one_a_second_per_private_chat_with_a_burst_of_three() -> None:
    clock = FakeMonotonic()
    flood = FloodControl(monotonic=clock)
    assert [flood.acquire(7, is_group=False) for _ in range(3)] == [None, None, None]
    assert flood.acquire(7, is_group=False) == 1
    assert flood.acquire(8, is_group=False) is None  # other chats are unaffected
    clock.now += 0.5
    assert flood.acquire(7, is_group=False) == 1  # ceil(0.5)
    clock.now += 0.5
    assert flood.acquire(7, is_group=False) is None
    assert flood.acquire(7, is_group=False) == 1


def test_twenty_a_minute_per_group() -> None:
    clock = FakeMonotonic()
    flood = FloodControl(monotonic=clock)
    assert all(flood.acquire(-5, is_group=True) is None for _ in range(20))
    assert flood.acquire(-5, is_group=True) == 60  # the minute must pass
    clock.now += 59.5
    assert flood.acquire(-5, is_group=True) == 1  # ceil(0.5)
    clock.now += 0.5
    assert flood.acquire(-5, is_group=True) is None


def test_a_refused_message_costs_nothing() -> None:
    clock = FakeMonotonic()
    flood = FloodControl(monotonic=clock)
    for _ in range(3):
        flood.acquire(1, is_group=False)
    for _ in range(10):
        assert flood.acquire(1, is_group=False) == 1
    clock.now += 1.0
    assert flood.acquire(1, is_group=False) is None


def test_disabled_refuses_nothing() -> None:
    flood = FloodControl(enabled=False, monotonic=FakeMonotonic())
    assert all(flood.acquire(1, is_group=False) is None for _ in range(500))


def test_twenty_a_minute_per_group_counted_over_any_minute() -> None:
    clock = FakeMonotonic()
    flood = FloodControl(monotonic=clock)
    group = -100
    sent = 0
    for _ in range(60):  # one attempt a second for a whole minute
        if flood.acquire(group, is_group=True) is None:
            sent += 1
        clock.now += 1.0
    assert sent == 20  # not 20 at once and then one every 3 s on top
    assert flood.acquire(group, is_group=True) is None  # the first one is a minute old
    assert flood.acquire(group, is_group=True) == 1  # the one of second 1 frees at 61
