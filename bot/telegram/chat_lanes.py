"""Replies leave the handler at once and go out in order, chat by chat, at Telegram's pace.

Telegram lets one chat receive about one message a second. A handler that waited for
that pace would hold up the next update of the same person (whose updates are handled in
order) for as long as their earlier replies take. So a handler hands its reply to the
chat's lane and returns; each lane sends its replies one after another through the
bot's pacing. Urgent replies (crisis resources) go before anything still queued.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from telegram.error import Forbidden, TelegramError

_log = logging.getLogger(__name__)

Send = Callable[[], Awaitable[object]]


@dataclass(slots=True)
class _Lane:
    urgent: deque[Send] = field(default_factory=deque)
    ordinary: deque[Send] = field(default_factory=deque)

    def next(self) -> Send | None:
        if self.urgent:
            return self.urgent.popleft()
        if self.ordinary:
            return self.ordinary.popleft()
        return None


class ChatLanes:
    """One ordered lane of outgoing replies per chat, each drained by its own task."""

    def __init__(self) -> None:
        self._lanes: dict[int, _Lane] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}

    def submit(self, chat_id: int, send: Send, *, urgent: bool = False) -> None:
        """Queue ``send`` for ``chat_id``; it runs after the chat's earlier replies (after
        its earlier urgent ones only, if ``urgent``)."""
        lane = self._lanes.setdefault(chat_id, _Lane())
        (lane.urgent if urgent else lane.ordinary).append(send)
        if chat_id not in self._workers:
            self._workers[chat_id] = asyncio.create_task(
                self._drain(chat_id, lane), name=f"replies to chat {chat_id}"
            )

    @property
    def busy_chats(self) -> int:
        """Chats with replies still to go."""
        return len(self._workers)

    async def _drain(self, chat_id: int, lane: _Lane) -> None:
        try:
            while (send := lane.next()) is not None:
                try:
                    await send()
                except Forbidden:
                    _log.info("chat %s has blocked the bot; a reply was dropped", chat_id)
                except TelegramError as error:
                    _log.warning("a reply to chat %s failed: %s", chat_id, error.message)
                except Exception:
                    _log.exception("a reply to chat %s failed", chat_id)
        finally:
            del self._workers[chat_id]
            del self._lanes[chat_id]

    async def wait_sent(self) -> None:
        """Return once every queued reply has been sent or has failed."""
        while self._workers:
            await asyncio.gather(*self._workers.values(), return_exceptions=True)
