"""Handler tests: real updates fed to the real application, with an offline Bot API."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application

from bot.runtime import Runtime
from bot.settings import load_settings
from tests.fakes import FakeDatabase, FixedClock
from tests.handlers.offline import OfflineRequest, offline_application, process

PRACTITIONER_ID = 500
GUEST_ID = 900


class Harness:
    """Feeds updates to the application and reads what it sent."""

    def __init__(
        self,
        app: Application,  # type: ignore[type-arg]
        request: OfflineRequest,
        db: FakeDatabase,
    ) -> None:
        self.app = app
        self.request = request
        self.db = db
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)

    async def feed(self, payload: dict[str, Any]) -> None:
        payload = {"update_id": next(self._update_ids), **payload}
        await process(self.app, Update.de_json(payload, self.app.bot))

    def message(
        self,
        user_id: int,
        text: str | None = None,
        *,
        chat: dict[str, Any] | None = None,
        language_code: str = "en",
        **extra: Any,
    ) -> dict[str, Any]:
        user = {
            "id": user_id,
            "is_bot": False,
            "first_name": "User",
            "language_code": language_code,
        }
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": 1_767_000_000,
            "chat": chat or {"id": user_id, "type": "private", "first_name": "User"},
            "from": user,
            **extra,
        }
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                length = len(text.split()[0])
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return message

    async def send(self, user_id: int, text: str | None = None, **extra: Any) -> list[str]:
        before = len(self.request.sent_texts())
        await self.feed({"message": self.message(user_id, text, **extra)})
        return self.request.sent_texts()[before:]


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    settings = load_settings(None, practitioner_ids=(PRACTITIONER_ID,))
    db = FakeDatabase()
    app, request = offline_application(Runtime(settings=settings, clock=FixedClock(), uow=db))
    async with app:
        yield Harness(app, request, db)
