"""An async client of the sandbox control API, for the demo, end-to-end tests and benchmarks."""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from datetime import datetime
from types import TracebackType
from typing import Any

import httpx

POLL_INTERVAL_S = 0.02


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Built once per process: the sandbox is usually plain HTTP, and building a verifying
    # context for every client costs more than a whole control call.
    return ssl.create_default_context()


class SandboxError(Exception):
    """The control API refused a request (``status`` and its ``error`` text)."""

    def __init__(self, status: int, error: str):
        super().__init__(f"sandbox answered {status}: {error}")
        self.status = status
        self.error = error


class SandboxClient:
    """Drive a running sandbox over HTTP: ``SandboxClient(server.url)``.

    The server's Bot API ``base_url`` (ending in ``/bot``) is accepted too.
    """

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        root = base_url.rstrip("/").removesuffix("/bot")
        self._http = httpx.AsyncClient(base_url=root, timeout=timeout, verify=_tls_context())

    async def __aenter__(self) -> SandboxClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._http.aclose()

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = await self._http.request(method, path, json=body)
        try:
            data = response.json()
        except ValueError:
            data = {"error": response.text}
        if response.status_code >= 400:
            error = data.get("error", response.text) if isinstance(data, dict) else response.text
            raise SandboxError(response.status_code, str(error))
        return data

    async def info(self) -> dict[str, Any]:
        """Bot username, practitioner user id and the sandbox time."""
        result: dict[str, Any] = await self._call("GET", "/sandbox/info")
        return result

    async def create_user(self, first_name: str, **fields: str) -> int:
        """Register a user (``last_name``, ``username``, ``language_code`` optional)."""
        data = await self._call("POST", "/sandbox/users", {"first_name": first_name, **fields})
        return int(data["user_id"])

    async def users(self) -> list[dict[str, Any]]:
        """Every registered user."""
        data = await self._call("GET", "/sandbox/users")
        return list(data["users"])

    async def send(self, user_id: int, text: str) -> int:
        """The user writes ``text`` to the bot; returns the message id."""
        data = await self._call("POST", f"/sandbox/users/{user_id}/send", {"text": text})
        return int(data["message_id"])

    async def send_media(self, user_id: int, media: str, caption: str | None = None) -> int:
        """The user sends a photo, sticker, voice note or document."""
        body: dict[str, Any] = {"media": media}
        if caption is not None:
            body["caption"] = caption
        data = await self._call("POST", f"/sandbox/users/{user_id}/send", body)
        return int(data["message_id"])

    async def edit(self, user_id: int, message_id: int, text: str) -> None:
        """The user edits one of their messages."""
        body = {"message_id": message_id, "text": text}
        await self._call("POST", f"/sandbox/users/{user_id}/edit", body)

    async def press(self, user_id: int, message_id: int, data: str) -> str:
        """The user taps the button with ``data``; returns the callback query id."""
        body = {"message_id": message_id, "data": data}
        answer = await self._call("POST", f"/sandbox/users/{user_id}/press", body)
        return str(answer["callback_query_id"])

    async def callback_answer(self, callback_query_id: str) -> dict[str, Any]:
        """Whether the bot answered a callback query, and with what text."""
        result: dict[str, Any] = await self._call("GET", f"/sandbox/callbacks/{callback_query_id}")
        return result

    async def block(self, user_id: int, blocked: bool = True) -> None:
        """The user blocks (or with ``blocked=False`` unblocks) the bot."""
        await self._call("POST", f"/sandbox/users/{user_id}/block", {"blocked": blocked})

    async def messages(self, user_id: int, after: int = 0) -> list[dict[str, Any]]:
        """The user's chat with the bot after message ``after``, in its current state."""
        data = await self._call("GET", f"/sandbox/users/{user_id}/messages?after={after}")
        return list(data["messages"])

    async def file(self, file_id: str) -> bytes:
        """The bytes of a file the bot sent (or a user's), by its ``file_id``."""
        response = await self._http.request("GET", f"/sandbox/files/{file_id}")
        if response.status_code >= 400:
            raise SandboxError(response.status_code, response.text)
        return response.content

    async def chat_messages(self, chat_id: int, after: int = 0) -> list[dict[str, Any]]:
        """Any chat's messages after message ``after``."""
        data = await self._call("GET", f"/sandbox/chats/{chat_id}/messages?after={after}")
        return list(data["messages"])

    async def create_group(self, title: str, user_id: int | None = None) -> int:
        """Create a group with the bot in it; returns its (negative) chat id."""
        body: dict[str, Any] = {"title": title}
        if user_id is not None:
            body["user_id"] = user_id
        data = await self._call("POST", "/sandbox/groups", body)
        return int(data["chat_id"])

    async def group_send(self, chat_id: int, user_id: int, text: str) -> int:
        """A user writes in a group; returns the message id."""
        body = {"user_id": user_id, "text": text}
        data = await self._call("POST", f"/sandbox/groups/{chat_id}/send", body)
        return int(data["message_id"])

    async def clock(self) -> datetime:
        """The sandbox time."""
        data = await self._call("GET", "/sandbox/clock")
        return datetime.fromisoformat(data["now"])

    async def advance(self, seconds: float) -> datetime:
        """Move the sandbox clock forward by ``seconds``."""
        data = await self._call("POST", "/sandbox/clock", {"advance": seconds})
        return datetime.fromisoformat(data["now"])

    async def set_clock(self, when: datetime) -> datetime:
        """Move the sandbox clock to ``when`` (timezone-aware, not in its past)."""
        data = await self._call("POST", "/sandbox/clock", {"to": when.isoformat()})
        return datetime.fromisoformat(data["now"])

    async def fault(
        self,
        method: str,
        error_code: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        user_id: int | None = None,
        description: str | None = None,
    ) -> None:
        """Make the next ``times`` matching Bot API calls fail with ``error_code``."""
        body: dict[str, Any] = {"method": method, "error_code": error_code, "times": times}
        optional = {"retry_after": retry_after, "user_id": user_id, "description": description}
        body.update({k: v for k, v in optional.items() if v is not None})
        await self._call("POST", "/sandbox/faults", body)

    async def clear_faults(self) -> None:
        """Forget the faults not yet used."""
        await self._call("DELETE", "/sandbox/faults")

    async def stats(self) -> dict[str, Any]:
        """Calls per method, errors per code and messages delivered."""
        result: dict[str, Any] = await self._call("GET", "/sandbox/stats")
        return result

    async def reset_stats(self) -> None:
        """Set the counters back to zero."""
        await self._call("DELETE", "/sandbox/stats")

    async def commands(self) -> list[dict[str, Any]]:
        """The command lists stored by setMyCommands, per scope and language."""
        data = await self._call("GET", "/sandbox/commands")
        return list(data["commands"])

    async def wait_for_messages(
        self,
        chat_id: int,
        after: int,
        count: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109 - a polling deadline, not a cancel scope
    ) -> list[dict[str, Any]]:
        """Poll until ``count`` bot messages newer than ``after`` are in the chat.

        ``chat_id`` is a user's id for their private chat, or a group's id. Returns every
        new bot message present then (at least ``count``); raises TimeoutError naming
        what was awaited and what had arrived.
        """
        deadline = time.monotonic() + timeout
        while True:
            new = [m for m in await self.chat_messages(chat_id, after) if m["from"] == "bot"]
            if len(new) >= count:
                return new
            if time.monotonic() >= deadline:
                texts = [m["text"][:60] for m in new]
                raise TimeoutError(
                    f"waited {timeout:g} s for {count} new bot message(s) in chat {chat_id} "
                    f"after message {after}; {len(new)} arrived: {texts}"
                )
            await asyncio.sleep(POLL_INTERVAL_S)
