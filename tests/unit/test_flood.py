"""Inbound flood control: the budget, the episode and its quiet, strangers ignored."""

from __future__ import annotations

import pytest

from bot.domain.flood import Budget, FloodGuard, Pace


def test_up_to_the_limit_within_the_window_is_within_budget() -> None:
    guard = FloodGuard(Budget(limit=5, window_s=10, quiet_s=60))
    assert [guard.note(1, t) for t in range(5)] == [Pace.WITHIN] * 5
    assert not guard.is_quiet(1, 5)


def test_the_first_excess_begins_one_episode_and_the_rest_are_over() -> None:
    guard = FloodGuard(Budget(limit=5, window_s=10, quiet_s=60))
    paces = [guard.note(1, t * 0.1) for t in range(12)]
    assert paces[:5] == [Pace.WITHIN] * 5
    assert paces[5] is Pace.FIRST_OVER
    assert paces[6:] == [Pace.OVER] * 6
    assert guard.is_quiet(1, 1.2)


def test_a_steady_writer_never_floods() -> None:
    guard = FloodGuard(Budget(limit=5, window_s=10, quiet_s=60))
    assert {guard.note(1, t * 2.5) for t in range(100)} == {Pace.WITHIN}


def test_quiet_lasts_from_the_last_excess_and_then_ends() -> None:
    guard = FloodGuard(Budget(limit=2, window_s=10, quiet_s=60))
    for t in (0, 1, 2, 3):
        guard.note(1, t)
    assert guard.is_quiet(1, 62)  # the last excess was at 3
    assert guard.note(1, 40) is Pace.OVER  # within budget again, still quiet
    assert not guard.is_quiet(1, 63.5)
    assert guard.note(1, 100) is Pace.WITHIN


def test_one_user_flooding_leaves_others_alone() -> None:
    guard = FloodGuard(Budget(limit=3, window_s=10, quiet_s=60))
    for t in range(10):
        guard.note(1, t * 0.1)
    assert guard.note(2, 1.0) is Pace.WITHIN
    assert not guard.is_quiet(2, 1.0)


def test_a_stranger_is_ignored_only_for_their_quiet() -> None:
    guard = FloodGuard(Budget(limit=1, window_s=10, quiet_s=5))
    guard.ignore(7)  # nothing to ignore yet: not flooding
    assert not guard.is_ignored(7, 0)
    guard.note(7, 0)
    guard.note(7, 1)
    guard.ignore(7)
    assert guard.is_ignored(7, 2)
    assert not guard.is_ignored(7, 7)
    assert guard.note(7, 20) is Pace.WITHIN
    assert not guard.is_ignored(7, 20)


def test_idle_senders_are_forgotten() -> None:
    guard = FloodGuard(Budget(limit=2, window_s=10, quiet_s=60))
    guard.note(1, 0)
    for t in (0, 0.1, 0.2):
        guard.note(2, t)
    guard.forget_idle(30)
    assert guard.note(1, 30.1) is Pace.WITHIN
    assert guard.is_quiet(2, 30)  # its quiet is still going on


@pytest.mark.parametrize(("limit", "window", "quiet"), [(0, 10, 60), (5, 0, 60), (5, 10, -1)])
def test_a_budget_that_makes_no_sense_is_refused(limit: int, window: float, quiet: float) -> None:
    with pytest.raises(ValueError, match="limit"):
        Budget(limit, window, quiet)
