import asyncio
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.services.delivery.pacing import Limits, Pacer, SlidingWindow
from bot.telegram.rate_limiter import PacedRateLimiter


class CountingPacer(Pacer):
    def __init__(self) -> None:
        super().__init__(Limits(overall_per_second=1e6, private_chat_per_second=1e6))
        self.waited: list[int | None] = []

    async def wait(self, chat_id: int | None, *, background: bool = False) -> None:
        self.waited.append(chat_id)
        await super().wait(chat_id, background=background)


class Telegram:
    """A Bot API call that fails with flood control a given number of times."""

    def __init__(self, floods: int) -> None:
        self.floods = floods
        self.calls = 0

    async def __call__(self, *_args: Any, **_kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        if self.floods:
            self.floods -= 1
            raise RetryAfter(0)
        return {"ok": True}


async def test_sends_are_paced_per_chat_and_other_calls_are_not() -> None:
    pacer = CountingPacer()
    limiter = PacedRateLimiter(pacer)
    api = Telegram(floods=0)
    await limiter.process_request(api, (), {}, "sendMessage", {"chat_id": 5}, None)
    await limiter.process_request(api, (), {}, "sendMessage", {"chat_id": "@channel"}, None)
    await limiter.process_request(api, (), {}, "getUpdates", {}, None)
    await limiter.process_request(api, (), {}, "editMessageText", {"chat_id": 5}, None)
    assert pacer.waited == [5, None]
    assert api.calls == 4


async def test_flood_control_is_waited_out_a_bounded_number_of_times() -> None:
    limiter = PacedRateLimiter(CountingPacer(), retries=2)
    recovers = Telegram(floods=2)
    assert await limiter.process_request(recovers, (), {}, "sendMessage", {"chat_id": 1}, None)
    assert recovers.calls == 3
    keeps_flooding = Telegram(floods=3)
    with pytest.raises(RetryAfter):
        await limiter.process_request(keeps_flooding, (), {}, "sendMessage", {"chat_id": 1}, None)
    assert keeps_flooding.calls == 3


async def test_a_caller_may_take_flood_control_back_at_once() -> None:
    limiter = PacedRateLimiter(CountingPacer(), retries=2)
    api = Telegram(floods=1)
    with pytest.raises(RetryAfter):
        await limiter.process_request(api, (), {}, "sendMessage", {"chat_id": 1}, {"retries": 0})
    assert api.calls == 1


async def test_each_chat_has_its_own_budget_and_idle_ones_are_forgotten() -> None:
    pacer = Pacer(Limits(private_chat_per_second=1))
    await pacer.wait(1)
    assert pacer._chat_limiter(1) is pacer._chat_limiter(1)
    assert pacer._chat_limiter(1) is not pacer._chat_limiter(2)
    assert not pacer._chat_limiter(1).has_capacity()  # chat 1 just had its message
    assert pacer._chat_limiter(2).has_capacity()
    pacer._prune()
    assert set(pacer._chats) == {1}


async def test_groups_get_the_group_budget() -> None:
    pacer = Pacer()
    assert pacer._chat_limiter(-100).max_rate == pacer.limits.group_per_minute
    assert pacer._chat_limiter(-100).time_period == 60
    assert pacer._chat_limiter(100).max_rate == pacer.limits.private_chat_per_second


async def test_a_group_gets_no_more_than_its_limit_in_any_window() -> None:
    """A leaky bucket would let a second burst through as it drains; a window does not."""
    window = SlidingWindow(3, 0.3)
    loop = asyncio.get_running_loop()
    sent = []
    for _ in range(6):
        await window.acquire()
        sent.append(loop.time())
    for first in range(len(sent) - 3):
        assert sent[first + 3] - sent[first] >= 0.3 - 1e-3
    assert not window.has_capacity()


async def test_room_is_what_the_overall_budget_lets_out_now_and_soon() -> None:
    pacer = Pacer(Limits(overall_per_second=5))
    assert pacer.room() == 5  # a full budget lets a burst of 5 through at once
    assert pacer.room(within=1.0) == 10  # and 5 more come free over the next second
    for chat in range(5):
        await pacer.wait(chat)
    assert pacer.room() == 0
    assert pacer.room(within=0.5) == 2
    with pytest.raises(ValueError, match="within"):
        pacer.room(within=-1)


async def test_sends_queued_for_the_budget_take_room_those_held_by_their_chat_not() -> None:
    pacer = Pacer(Limits(overall_per_second=5, private_chat_per_second=1))
    for chat in range(5):
        await pacer.wait(chat)
    waiting = [asyncio.create_task(pacer.wait(chat)) for chat in (10, 11, 12)]
    held = asyncio.create_task(pacer.wait(0))  # chat 0 had its message this second
    await asyncio.sleep(0)
    assert pacer.room(within=1.0) == 5 - 3
    for task in waiting:
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)
    assert pacer.room(within=1.0) == 5
    held.cancel()
    await asyncio.gather(held, return_exceptions=True)


async def test_admit_waits_for_room_and_caps_the_answer() -> None:
    pacer = Pacer(Limits(overall_per_second=5))
    assert await pacer.admit(3, within=0) == 3
    assert await pacer.admit(28, within=0) == 5
    for chat in range(5):
        await pacer.wait(chat)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await pacer.admit(28, within=0) == 1  # the next one frees up in 1/5 s
    assert loop.time() - started >= 0.15
    with pytest.raises(ValueError, match="at_most"):
        await pacer.admit(0, within=0)


async def test_the_rate_limiter_answers_for_the_pacer_it_has_now() -> None:
    limiter = PacedRateLimiter(Pacer(Limits(overall_per_second=5)))
    assert await limiter.admit(28, within=0) == 5
    limiter.pacer = Pacer(Limits(overall_per_second=1e6))
    assert await limiter.admit(28, within=0) == 28


async def test_a_person_waiting_for_an_answer_goes_before_background_sends() -> None:
    pacer = Pacer(Limits(overall_per_second=10, private_chat_per_second=1e6))
    order: list[str] = []

    async def send(label: str, *, background: bool) -> None:
        await pacer.wait(None, background=background)
        order.append(label)

    for _ in range(10):  # use up the budget of this second
        await pacer.wait(None)
    scheduled = [asyncio.create_task(send(f"reminder{n}", background=True)) for n in range(3)]
    await asyncio.sleep(0.01)
    answer = asyncio.create_task(send("answer", background=False))
    await asyncio.gather(*scheduled, answer)
    assert order[0] == "answer"
    assert sorted(order[1:]) == ["reminder0", "reminder1", "reminder2"]
