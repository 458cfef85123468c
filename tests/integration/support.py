"""Shared by the integration tests: the real application over an offline Bot API, and a
notifier that answers as scripted."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.domain.delivery import DeliveryError
from bot.domain.outgoing import OutgoingMessage, SentMessage
from tests.handlers.offline import OfflineRequest, process


class Bot:
    """The real application with an offline Bot API, on this test's database."""

    def __init__(self, app: Application, request: OfflineRequest) -> None:  # type: ignore[type-arg]
        self.app = app
        self.request = request
        self._ids = iter(range(1, 10_000))

    def _user(self, user_id: int) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": "U", "language_code": "en"}

    async def send(self, user_id: int, text: str) -> list[str]:
        message = {
            "message_id": next(self._ids),
            "date": 1_767_000_000,
            "chat": {"id": user_id, "type": "private", "first_name": "U"},
            "from": self._user(user_id),
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(text.split(maxsplit=1)[0])}
            ]
        return await self.feed({"message": message})

    async def press(self, user_id: int, data: str) -> list[str]:
        query = {
            "id": str(next(self._ids)),
            "from": self._user(user_id),
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": 999,
                "date": 1_767_000_000,
                "chat": {"id": user_id, "type": "private", "first_name": "U"},
                "from": {"id": 7000, "is_bot": True, "first_name": "Stillpoint"},
                "text": "the alert",
            },
        }
        return await self.feed({"callback_query": query})

    async def feed(self, payload: dict[str, Any]) -> list[str]:
        before = len(self.request.calls)
        update = Update.de_json({"update_id": next(self._ids), **payload}, self.app.bot)
        await process(self.app, update)
        return [c.params["text"] for c in self.request.calls[before:] if c.method == "sendMessage"]


class ScriptedNotifier:
    """Answers each chat with the scripted errors first, then success."""

    def __init__(self) -> None:
        self.script: dict[int, list[DeliveryError]] = defaultdict(list)
        self.sent: list[tuple[int, OutgoingMessage, str]] = []

    async def send(self, chat_id: int, message: OutgoingMessage, locale: str) -> SentMessage:
        if self.script[chat_id]:
            raise self.script[chat_id].pop(0)
        self.sent.append((chat_id, message, locale))
        return SentMessage(chat_id, 500 + len(self.sent))
