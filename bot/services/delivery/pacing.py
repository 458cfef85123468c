"""Pacing sends within Telegram's limits: overall, per private chat, and per group."""

from __future__ import annotations

import asyncio
import math
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from aiolimiter import AsyncLimiter


@dataclass(frozen=True, slots=True)
class Limits:
    """Sends per second. Telegram allows about 30 overall, 1 per chat, 20 a minute per group;
    the defaults leave headroom so that network jitter never tips a burst over."""

    overall_per_second: float = 28.0
    private_chat_per_second: float = 1.0
    group_per_minute: float = 19.0


class SlidingWindow:
    """At most ``max_rate`` sends within any ``time_period`` seconds, as Telegram counts a
    group's 20 a minute (a leaky bucket of 20 would let 20 more through as it drains)."""

    def __init__(self, max_rate: float, time_period: float) -> None:
        self.max_rate = max_rate
        self.time_period = time_period
        self._sent: deque[float] = deque()

    def _forget(self, now: float) -> None:
        while self._sent and now - self._sent[0] >= self.time_period:
            self._sent.popleft()

    def has_capacity(self, amount: float = 1) -> bool:
        """Whether ``amount`` more sends fit the window now."""
        self._forget(asyncio.get_running_loop().time())
        return len(self._sent) + amount <= self.max_rate

    async def acquire(self) -> None:
        """Wait until one more send fits the window, and count it."""
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            self._forget(now)
            if len(self._sent) < self.max_rate:
                self._sent.append(now)
                return
            await asyncio.sleep(self._sent[0] + self.time_period - now)


class SendBudget(Protocol):
    """What the dispatcher asks before it claims rows: how many sends can go out promptly."""

    async def admit(self, at_most: int, *, within: float) -> int:
        """Wait until at least one send can go out within ``within`` s; return how many can
        (at most ``at_most``, at least 1)."""
        ...

    def ready(self, chat_id: int) -> bool:
        """Whether ``chat_id`` may receive a message now without waiting for its own limit."""
        ...


class Pacer:
    """Waits, per send, until the overall budget and the chat's own budget allow it."""

    _PRUNE_ABOVE = 10_000
    _LONGEST_NAP_S = 1.0  # look again at least this often while waiting for room

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._overall = AsyncLimiter(self.limits.overall_per_second, 1)
        self._chats: dict[int, AsyncLimiter | SlidingWindow] = {}
        self._queued = 0  # sends waiting for the overall budget right now
        self._answers_waiting = 0  # of those, the ones that are not background sends

    def _chat_limiter(self, chat_id: int) -> AsyncLimiter | SlidingWindow:
        limiter = self._chats.get(chat_id)
        if limiter is None:
            if len(self._chats) > self._PRUNE_ABOVE:
                self._prune()
            if chat_id < 0:
                limiter = SlidingWindow(self.limits.group_per_minute, 60)
            else:
                limiter = AsyncLimiter(self.limits.private_chat_per_second, 1)
            self._chats[chat_id] = limiter
        return limiter

    def _prune(self) -> None:
        """Forget chats whose budget is full again: they hold no state worth keeping."""
        idle = [
            chat for chat, limiter in self._chats.items() if limiter.has_capacity(limiter.max_rate)
        ]
        for chat in idle:
            del self._chats[chat]

    def ready(self, chat_id: int) -> bool:
        """Whether ``chat_id``'s own budget lets one more message through now."""
        limiter = self._chats.get(chat_id)
        return limiter is None or limiter.has_capacity(1)

    async def wait(self, chat_id: int | None, *, background: bool = False) -> None:
        """Return when one more message may go to ``chat_id`` (its budget, then the bot's).

        A ``background`` send (the dispatcher's scheduled messages) lets every other send
        waiting for the bot's budget go first: a person waiting for an answer is served
        before a reminder that can be a moment late.
        """
        if chat_id is not None:
            await self._chat_limiter(chat_id).acquire()
        self._queued += 1
        try:
            if not background:
                self._answers_waiting += 1
                try:
                    await self._overall.acquire()
                finally:
                    self._answers_waiting -= 1
                return
            # The budget refills with time, not on an event: look again once a send's worth
            # of it has come back.
            while self._answers_waiting or not self._overall.has_capacity(1):  # noqa: ASYNC110
                await asyncio.sleep(1 / self.limits.overall_per_second)
            await self._overall.acquire()  # there is room: this does not wait
        finally:
            self._queued -= 1

    def _free_now(self) -> int:
        """How many sends the overall budget lets through at once (whole sends)."""
        limiter = self._overall
        low, high = 0, math.floor(limiter.max_rate)  # has_capacity(0) always holds
        while low < high:
            middle = (low + high + 1) // 2
            if limiter.has_capacity(middle):
                low = middle
            else:
                high = middle - 1
        return low

    def room(self, within: float = 0.0) -> int:
        """How many more sends the bot's overall budget lets out now or in the next
        ``within`` seconds, after the sends already waiting for it (never below 0).

        Only the overall budget counts: which chats the next sends go to is not known
        yet, and sends held back by their own chat's budget are not waiting for it.
        """
        if within < 0:
            raise ValueError(f"within must not be negative, got {within}")
        per_second = self.limits.overall_per_second
        return max(0, math.floor(self._free_now() + per_second * within) - self._queued)

    async def admit(self, at_most: int, *, within: float) -> int:
        """Wait until at least one more send can go out within ``within`` s; return how
        many can (``room(within)``, at most ``at_most``).

        The caller then starts no more than that many sends, so none of them waits long.
        """
        if at_most < 1:
            raise ValueError(f"at_most must be at least 1, got {at_most}")
        while (room := self.room(within)) < 1:
            # One more whole send frees up every 1/rate s; overshooting a little is harmless.
            short = 1 + self._queued - self._free_now()
            nap = short / self.limits.overall_per_second - within
            await asyncio.sleep(min(max(nap, 0.001), self._LONGEST_NAP_S))
        return min(room, at_most)
