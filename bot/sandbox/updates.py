"""The bot's queue of incoming updates, with getUpdates' offset and long-poll rules.

- An update is confirmed (and forgotten) once getUpdates is called with an offset
  higher than its ``update_id``; a negative offset keeps only the last ``-offset``.
- A long poll returns as soon as an update arrives, or empty after ``timeout``.
- A second poll ends the one still waiting with 409 Conflict.
- ``allowed_updates`` applies to updates created after it was set.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any

from bot.sandbox.errors import ApiError, conflict

ALL_UPDATE_TYPES = frozenset(
    {
        "message", "edited_message", "channel_post", "edited_channel_post",
        "business_connection", "business_message", "edited_business_message",
        "deleted_business_messages", "message_reaction", "message_reaction_count",
        "inline_query", "chosen_inline_result", "callback_query", "shipping_query",
        "pre_checkout_query", "purchased_paid_media", "poll", "poll_answer",
        "my_chat_member", "chat_member", "chat_join_request", "chat_boost",
        "removed_chat_boost",
    }
)  # fmt: skip
DEFAULT_ALLOWED = ALL_UPDATE_TYPES - {"chat_member", "message_reaction", "message_reaction_count"}
TERMINATED = (
    "terminated by other getUpdates request; make sure that only one bot instance is running"
)
WEBHOOK_ACTIVE = (
    "can't use getUpdates method while webhook is active; use deleteWebhook to delete the "
    "webhook first"
)


class UpdateQueue:
    """Pending updates and the waiters (a long poll, the webhook sender) wanting them."""

    def __init__(self) -> None:
        self._pending: deque[dict[str, Any]] = deque()
        self._next_id = 1
        self.allowed: frozenset[str] = DEFAULT_ALLOWED
        self._waiters: set[asyncio.Future[None]] = set()
        self._poll: asyncio.Future[None] | None = None

    def __len__(self) -> int:
        return len(self._pending)

    def push(self, kind: str, payload: dict[str, Any]) -> int | None:
        """Queue an update of ``kind``; None when ``allowed_updates`` filters it out."""
        if kind not in self.allowed:
            return None
        update_id = self._next_id
        self._next_id += 1
        self._pending.append({"update_id": update_id, kind: payload})
        self._wake()
        return update_id

    def set_allowed(self, kinds: Any) -> None:
        """Apply getUpdates'/setWebhook's ``allowed_updates``; [] means the default set."""
        if kinds is None:
            return
        if not isinstance(kinds, list):
            kinds = [kinds]
        chosen = frozenset(k for k in kinds if isinstance(k, str)) & ALL_UPDATE_TYPES
        self.allowed = chosen or DEFAULT_ALLOWED

    def confirm(self, offset: int) -> None:
        """Apply getUpdates' ``offset``: forget confirmed updates."""
        if offset > 0:
            while self._pending and self._pending[0]["update_id"] < offset:
                self._pending.popleft()
        elif offset < 0:
            while len(self._pending) > -offset:
                self._pending.popleft()

    def peek(self, limit: int) -> list[dict[str, Any]]:
        """The first ``limit`` pending updates, still unconfirmed."""
        return [self._pending[i] for i in range(min(limit, len(self._pending)))]

    def drop_all(self) -> None:
        """Forget every pending update (``drop_pending_updates``)."""
        self._pending.clear()

    def pop_first(self) -> None:
        """Confirm the oldest pending update (delivered by webhook)."""
        if self._pending:
            self._pending.popleft()

    async def poll(self, offset: int, limit: int, wait_s: float) -> list[dict[str, Any]]:
        """Answer one getUpdates call, long-polling up to ``wait_s`` seconds."""
        self.end_poll(conflict(TERMINATED))
        self.confirm(offset)
        if self._pending or wait_s <= 0:
            return self.peek(limit)
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._poll = waiter
        self._waiters.add(waiter)
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_s):
                    await waiter
        finally:
            self._waiters.discard(waiter)
            if self._poll is waiter:
                self._poll = None
        return self.peek(limit)

    def end_poll(self, error: ApiError) -> None:
        """End the long poll still waiting, if any, with ``error``."""
        poll, self._poll = self._poll, None
        if poll is not None and not poll.done():
            self._waiters.discard(poll)
            poll.set_exception(error)

    async def wait(self, wait_s: float) -> None:
        """Wait until an update is pushed (or ``wait_s`` pass); for the webhook sender."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_s):
                    await waiter
        finally:
            self._waiters.discard(waiter)

    def wake_all(self) -> None:
        """Release every waiter now (used at shutdown)."""
        self._wake()

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, set()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
