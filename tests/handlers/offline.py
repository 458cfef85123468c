"""An offline Bot API for handler tests: records every call and answers like Telegram."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder
from telegram.request import BaseRequest, RequestData

import handlers
from bot.runtime import Runtime, install
from handlers.common import lanes_of

BOT_USER = {
    "id": 7000,
    "is_bot": True,
    "first_name": "Stillpoint",
    "username": "stillpoint_test_bot",
}


@dataclass(frozen=True)
class Call:
    """One Bot API call the bot made."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    """What a send uploaded (a photo, a document), by part name."""


class LocalRequest(BaseRequest):
    """A Bot API in this process: PTB's requests go to :meth:`answer`, no network."""

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(  # noqa: PLR0917 -- the signature is PTB's
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        return await self.answer(url.rsplit("/", 1)[-1], request_data)

    async def answer(self, api_method: str, request_data: RequestData | None) -> tuple[int, bytes]:
        """The HTTP status and JSON body Telegram would answer ``api_method`` with."""
        raise NotImplementedError


class OfflineRequest(LocalRequest):
    """Answers getMe, send*, setMyCommands and the rest without any network."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._message_ids = itertools.count(1000)
        self._failures: dict[str, tuple[int, str]] = {}

    def fail_next(self, method: str, code: int, description: str) -> None:
        """Answer the next call of ``method`` with a Bot API error."""
        self._failures[method] = (code, description)

    async def answer(self, api_method: str, request_data: RequestData | None) -> tuple[int, bytes]:
        params = dict(request_data.parameters) if request_data else {}
        if api_method in self._failures:
            code, description = self._failures.pop(api_method)
            body = {"ok": False, "error_code": code, "description": description}
            return code, json.dumps(body).encode()
        files = {}
        if request_data is not None and request_data.contains_files:
            parts = (request_data.multipart_data or {}).items()
            files = {name: part[1] for name, part in parts if isinstance(part[1], bytes)}
        self.calls.append(Call(api_method, params, files))
        return 200, json.dumps({"ok": True, "result": self._result(api_method, params)}).encode()

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method == "sendMessage":
            return {
                "message_id": next(self._message_ids),
                "date": 0,
                "chat": {"id": params["chat_id"], "type": "private"},
                "from": BOT_USER,
                "text": params["text"],
            }
        if method == "getUpdates":
            return []
        return True

    def sent_texts(self, chat_id: int | None = None) -> list[str]:
        """The texts of every sendMessage, optionally to one chat."""
        return [
            c.params["text"]
            for c in self.calls
            if c.method == "sendMessage" and (chat_id is None or c.params["chat_id"] == chat_id)
        ]


async def process(app: Application, update: Update) -> None:  # type: ignore[type-arg]
    """Handle one update as the running bot does, and wait until its replies are sent."""
    await app.process_update(update)
    await lanes_of(app).wait_sent()


OFFLINE_TOKEN = "7000:offline"


def application_over(runtime: Runtime, request: LocalRequest, token: str) -> Application:  # type: ignore[type-arg]
    """The real application, every handler registered, over ``request``'s Bot API."""
    app = (
        ApplicationBuilder()
        .token(token)
        .request(request)
        .get_updates_request(OfflineRequest())
        .updater(None)
        .build()
    )
    install(app, runtime)
    handlers.register(app)
    return app


def offline_application(runtime: Runtime) -> tuple[Application, OfflineRequest]:  # type: ignore[type-arg]
    """The real application over an offline Bot API that answers everything."""
    request = OfflineRequest()
    return application_over(runtime, request, OFFLINE_TOKEN), request
