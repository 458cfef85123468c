"""One budget for every message the bot sends, in PTB's rate-limiter slot.

PTB's own ``AIORateLimiter`` has no per-chat limit and keeps a budget apart from the
dispatcher's; this one paces every send through the shared ``Pacer``. It waits out
flood control for ordinary replies, but not where the caller asks for no retries: the
dispatcher reschedules a flood-controlled row itself, so other chats are not held up.
The dispatcher also asks it, before each claim, how many sends the budget lets out
promptly and which chats may receive one now, so rows are not claimed long before they
can go.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypedDict

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.services.delivery.pacing import Pacer
from bot.telegram.errors import retry_after_seconds

_log = logging.getLogger(__name__)

# The methods Telegram counts against its message limits.
PACED_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendAudio",
        "sendVideo",
        "sendVoice",
        "sendSticker",
        "sendAnimation",
        "sendMediaGroup",
        "sendLocation",
        "sendContact",
        "copyMessage",
        "forwardMessage",
    }
)


class RateLimitArgs(TypedDict, total=False):
    """Per-call options: how many times to wait out flood control (default: the limiter's),
    and whether the send may let others go first (``Pacer.wait``)."""

    retries: int
    background: bool


class PacedRateLimiter(BaseRateLimiter[RateLimitArgs]):
    """Paces sends with a shared ``Pacer``; retries flood control a bounded number of times."""

    def __init__(self, pacer: Pacer, *, retries: int = 2) -> None:
        self.pacer = pacer
        self._retries = retries

    async def admit(self, at_most: int, *, within: float) -> int:
        """The dispatcher's question before it claims rows, put to the current ``pacer``
        (a benchmark may swap it): how many sends can go out within ``within`` s."""
        return await self.pacer.admit(at_most, within=within)

    def ready(self, chat_id: int) -> bool:
        """Whether ``chat_id`` may receive a message now (the current ``pacer``'s answer)."""
        return self.pacer.ready(chat_id)

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def process_request(  # noqa: PLR0917 -- PTB's signature
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: RateLimitArgs | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Wait for the budget of the chat and of the bot, then call Telegram."""
        options = rate_limit_args or {}
        retries = options.get("retries", self._retries)
        background = options.get("background", False)
        chat_id = data.get("chat_id")
        for attempt in range(retries + 1):
            if endpoint in PACED_METHODS:
                chat = chat_id if isinstance(chat_id, int) else None
                await self.pacer.wait(chat, background=background)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                if attempt >= retries:
                    raise
                wait = retry_after_seconds(error)
                _log.info("flood control on %s to chat %s; waiting %g s", endpoint, chat_id, wait)
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover
