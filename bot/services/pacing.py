"""Pacing sends within Telegram's limits: overall, per private chat, and per group."""

from __future__ import annotations

from dataclasses import dataclass

from aiolimiter import AsyncLimiter


@dataclass(frozen=True, slots=True)
class Limits:
    """Sends per second. Telegram allows about 30 overall, 1 per chat, 20 a minute per group;
    the defaults leave headroom so that network jitter never tips a burst over."""

    overall_per_second: float = 28.0
    private_chat_per_second: float = 1.0
    group_per_minute: float = 19.0


class Pacer:
    """Waits, per send, until the overall budget and the chat's own budget allow it."""

    _PRUNE_ABOVE = 10_000

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._overall = AsyncLimiter(self.limits.overall_per_second, 1)
        self._chats: dict[int, AsyncLimiter] = {}

    def _chat_limiter(self, chat_id: int) -> AsyncLimiter:
        limiter = self._chats.get(chat_id)
        if limiter is None:
            if len(self._chats) > self._PRUNE_ABOVE:
                self._prune()
            if chat_id < 0:
                limiter = AsyncLimiter(self.limits.group_per_minute, 60)
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

    async def wait(self, chat_id: int | None) -> None:
        """Return when one more message may go to ``chat_id`` (its budget, then the bot's)."""
        if chat_id is not None:
            await self._chat_limiter(chat_id).acquire()
        await self._overall.acquire()
