"""Telegram's flood control for outgoing messages, on real time.

About 30 messages a second from one bot overall, 1 a second into one private chat
(a burst of 3 tolerated) and 20 a minute into one group. A refused message costs
nothing; ``retry_after`` is the whole number of seconds until every bucket involved
would accept it (at least 1). The movable clock is never used here: Telegram's
limits run on real time. The counted methods are those that put a message into a
chat: sendMessage, sendPhoto, sendDocument, forwardMessage and copyMessage.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

GLOBAL_PER_SECOND = 30.0
PRIVATE_PER_SECOND = 1.0
PRIVATE_BURST = 3.0
GROUP_PER_MINUTE = 20
_EPSILON = 1e-9  # so waiting exactly retry_after seconds is always enough


@dataclass
class TokenBucket:
    """``capacity`` tokens, refilled at ``rate`` tokens a second."""

    capacity: float
    rate: float
    tokens: float = field(default=-1.0)
    updated: float = 0.0

    def _refill(self, now: float) -> None:
        if self.tokens < 0:
            self.tokens, self.updated = self.capacity, now
            return
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait(self, now: float) -> float:
        """Seconds until one token is available (0 when it is now)."""
        self._refill(now)
        missing = 1 - self.tokens
        return 0.0 if missing <= _EPSILON else missing / self.rate

    def take(self, now: float) -> None:
        """Spend one token; call only after ``wait`` returned 0."""
        self._refill(now)
        self.tokens -= 1


@dataclass
class SlidingWindow:
    """At most ``limit`` messages within any ``period`` seconds: a group's 20 a minute is
    20 a minute, not a burst of 20 on top of a steady refill."""

    limit: int
    period: float
    sent: deque[float] = field(default_factory=deque)

    def _forget(self, now: float) -> None:
        while self.sent and now - self.sent[0] >= self.period:
            self.sent.popleft()

    def wait(self, now: float) -> float:
        """Seconds until one more message fits the window (0 when it does now)."""
        self._forget(now)
        if len(self.sent) < self.limit:
            return 0.0
        return self.sent[0] + self.period - now

    def take(self, now: float) -> None:
        """Count one message; call only after ``wait`` returned 0."""
        self._forget(now)
        self.sent.append(now)


class FloodControl:
    """Per-bot and per-chat message limits; ``enabled=False`` refuses nothing."""

    def __init__(self, *, enabled: bool = True, monotonic: Callable[[], float] = time.monotonic):
        self.enabled = enabled
        self._monotonic = monotonic
        self._global = TokenBucket(GLOBAL_PER_SECOND, GLOBAL_PER_SECOND)
        self._chats: dict[int, TokenBucket | SlidingWindow] = {}

    def _chat_bucket(self, chat_id: int, *, is_group: bool) -> TokenBucket | SlidingWindow:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            bucket = (
                SlidingWindow(GROUP_PER_MINUTE, 60.0)
                if is_group
                else TokenBucket(PRIVATE_BURST, PRIVATE_PER_SECOND)
            )
            self._chats[chat_id] = bucket
        return bucket

    def acquire(self, chat_id: int, *, is_group: bool) -> int | None:
        """Count one message into ``chat_id``; return retry_after seconds if refused."""
        if not self.enabled:
            return None
        now = self._monotonic()
        buckets = (self._global, self._chat_bucket(chat_id, is_group=is_group))
        wait = max(b.wait(now) for b in buckets)
        if wait > 0:
            return max(1, math.ceil(wait))
        for bucket in buckets:
            bucket.take(now)
        return None
