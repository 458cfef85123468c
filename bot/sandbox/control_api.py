"""The sandbox control API (JSON over HTTP): play the users, move the clock, inspect.

Requests of the contract:

- ``GET /sandbox/info`` → ``{"bot_username", "bot_id", "practitioner_user_id", "now", "limits"}``
- ``POST /sandbox/users`` ``{"first_name", "last_name"?, "username"?, "language_code"?}``
  → ``{"user_id"}``
- ``POST /sandbox/users/{id}/send`` ``{"text"}`` → ``{"message_id"}``; a
  leading ``/command`` carries a ``bot_command`` entity (``/start payload`` is a deep link)
- ``POST /sandbox/users/{id}/press`` ``{"message_id", "data"}``
  → ``{"ok": true, "callback_query_id"}``; 400 when that bot message has no such button
- ``GET /sandbox/users/{id}/messages?after=N`` → ``{"messages": [...]}``: each has
  ``message_id, from ("bot"|"user"), text, buttons, date, edited`` and also
  ``entities, silent, kind, reply_to, forwarded`` (plus ``user_id`` for a user's
  message and ``keyboard`` for a reply keyboard)
- ``GET /sandbox/clock``, ``POST /sandbox/clock`` ``{"advance": seconds}`` or
  ``{"to": ISO-8601}`` → ``{"now"}``; moving backwards is refused with 400
- ``POST /sandbox/faults`` ``{"method", "error_code": 400|403|429|500, "times",
  "retry_after"?, "user_id"?, "description"?}`` → ``{"ok": true}``
- ``GET /sandbox/stats`` → ``{"calls", "errors_returned", "delivered"}``
- a listed message that carries a file also has ``kind`` ``photo``/``document``,
  ``file_id`` and ``file_name`` (if it has one); ``GET /sandbox/files/{file_id}`` → the
  file's bytes as the bot sent them, with their content type; 404 for an unknown id

Extensions:

- ``GET /sandbox/users`` → ``{"users": [User...]}``
- ``POST /sandbox/users/{id}/send`` ``{"media": "photo"|"sticker"|"voice"|"document",
  "caption"?}`` sends a media message instead of text
- ``POST /sandbox/users/{id}/edit`` ``{"message_id", "text"}`` → an ``edited_message`` update
- ``POST /sandbox/users/{id}/block`` ``{"blocked": bool}`` → sends to that user get
  403 "bot was blocked by the user"; the bot gets a ``my_chat_member`` update
  (``kicked``/``member``) if the user had started it. A blocked user cannot send or
  press (409) until unblocked.
- ``POST /sandbox/groups`` ``{"title", "user_id"?}`` → ``{"chat_id"}`` (negative); the
  bot gets a ``my_chat_member`` update (added by ``user_id``, default the practitioner)
- ``POST /sandbox/groups/{chat_id}/send`` ``{"user_id", "text"}`` → ``{"message_id"}``
- ``GET /sandbox/chats/{chat_id}/messages?after=N`` → the listing for any chat
- ``GET /sandbox/callbacks/{callback_query_id}`` → whether and how it was answered
- ``GET /sandbox/commands`` → ``{"commands": [{"scope", "language_code", "commands"}]}``
- ``GET /sandbox/faults`` → the faults still pending; ``DELETE /sandbox/faults`` clears them
- ``DELETE /sandbox/stats`` → counters back to zero

Refused requests get 400 (bad body), 404 (unknown user, chat or callback) or 409
(not possible now) with ``{"error": "..."}``.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from bot.sandbox import user_actions
from bot.sandbox.bot_api import canonical_method
from bot.sandbox.errors import ControlError
from bot.sandbox.faults import FAULT_CODES, Fault
from bot.sandbox.records import Chat, StoredFile
from bot.sandbox.state import SandboxState
from bot.sandbox.stats import Stats

logger = logging.getLogger(__name__)
_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{4,31}")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _integer(value: Any, name: str, *, minimum: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ControlError(400, f"{name} must be an integer")
    if minimum is not None and value < minimum:
        raise ControlError(400, f"{name} must be at least {minimum}")
    return value


def _optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise ControlError(400, f"{name} must be a string")
    return value


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json() if request.can_read_body else {}
    except ValueError:
        raise ControlError(400, "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ControlError(400, "the body must be a JSON object")
    return body


def _path_int(request: web.Request, name: str, what: str) -> int:
    raw = request.match_info[name]
    try:
        return int(raw)
    except ValueError:
        raise ControlError(404, f"no {what} with id {raw}") from None


def _after(request: web.Request) -> int:
    raw = request.query.get("after", "0")
    try:
        after = int(raw)
    except ValueError:
        raise ControlError(400, "after must be an integer message id") from None
    if after < 0:
        raise ControlError(400, "after must not be negative")
    return after


def _listing(chat: Chat, after: int) -> dict[str, Any]:
    return {"messages": [m.to_listing() for m in chat.messages.values() if m.message_id > after]}


@web.middleware
async def control_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Answer a refused control request with its status and ``{"error": ...}``."""
    if not request.path.startswith("/sandbox"):
        response: web.StreamResponse = await handler(request)
        return response
    try:
        response = await handler(request)
    except ControlError as error:
        return web.json_response({"error": error.message}, status=error.status)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return web.json_response({"error": error.reason}, status=error.status)
    except Exception:
        logger.exception("sandbox control request %s %s failed", request.method, request.path)
        return web.json_response({"error": "internal error"}, status=500)
    return response


class ControlApi:
    """aiohttp handlers of the control API for one sandbox."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def routes(self) -> list[web.RouteDef]:
        """The routes to add to the application."""
        users = "/sandbox/users/{user_id}"
        return [
            web.get("/sandbox/info", self.info),
            web.get("/sandbox/users", self.list_users),
            web.post("/sandbox/users", self.create_user),
            web.post(f"{users}/send", self.send),
            web.post(f"{users}/press", self.press),
            web.post(f"{users}/edit", self.edit),
            web.post(f"{users}/block", self.block),
            web.get(f"{users}/messages", self.user_messages),
            web.get("/sandbox/chats/{chat_id}/messages", self.chat_messages),
            web.post("/sandbox/groups", self.create_group),
            web.post("/sandbox/groups/{chat_id}/send", self.group_send),
            web.get("/sandbox/clock", self.get_clock),
            web.post("/sandbox/clock", self.move_clock),
            web.get("/sandbox/faults", self.list_faults),
            web.post("/sandbox/faults", self.add_fault),
            web.delete("/sandbox/faults", self.clear_faults),
            web.get("/sandbox/stats", self.get_stats),
            web.delete("/sandbox/stats", self.reset_stats),
            web.get("/sandbox/commands", self.commands),
            web.get("/sandbox/callbacks/{callback_id}", self.callback),
            web.get("/sandbox/files/{file_id}", self.file),
        ]

    async def info(self, request: web.Request) -> web.Response:
        """GET /sandbox/info."""
        return web.json_response(
            {
                "bot_username": self.state.bot.username,
                "bot_id": self.state.bot.id,
                "practitioner_user_id": self.state.practitioner_user_id,
                "now": self.state.now().isoformat(),
                "limits": self.state.flood.enabled,
            }
        )

    async def list_users(self, request: web.Request) -> web.Response:
        """GET /sandbox/users."""
        return web.json_response({"users": [u.to_api() for u in self.state.users.values()]})

    async def create_user(self, request: web.Request) -> web.Response:
        """POST /sandbox/users."""
        body = await _body(request)
        first_name = body.get("first_name")
        if not isinstance(first_name, str) or not 1 <= len(first_name.strip()) <= 64:
            raise ControlError(400, "first_name must be a string of 1 to 64 characters")
        last_name = _optional_str(body, "last_name")
        username = _optional_str(body, "username")
        if username is not None and not _USERNAME.fullmatch(username):
            raise ControlError(400, "username must be 5 to 32 letters, digits or underscores")
        language_code = _optional_str(body, "language_code")
        if language_code is not None and not 2 <= len(language_code) <= 35:
            raise ControlError(400, "language_code must be an IETF language tag such as 'en'")
        user = self.state.create_user(
            first_name, last_name=last_name, username=username, language_code=language_code
        )
        return web.json_response({"user_id": user.id})

    async def send(self, request: web.Request) -> web.Response:
        """POST /sandbox/users/{id}/send: a text or a media message."""
        user_id = _path_int(request, "user_id", "user")
        body = await _body(request)
        if "media" in body and "text" in body:
            raise ControlError(400, "send either text or media, not both")
        if "media" in body:
            message = user_actions.send_media(
                self.state, user_id, body["media"], body.get("caption")
            )
        else:
            message = user_actions.send_text(self.state, user_id, body.get("text"))
        return web.json_response({"message_id": message.message_id})

    async def press(self, request: web.Request) -> web.Response:
        """POST /sandbox/users/{id}/press."""
        user_id = _path_int(request, "user_id", "user")
        body = await _body(request)
        message_id = _integer(body.get("message_id"), "message_id")
        record = user_actions.press(self.state, user_id, message_id, body.get("data"))
        return web.json_response({"ok": True, "callback_query_id": record.id})

    async def edit(self, request: web.Request) -> web.Response:
        """POST /sandbox/users/{id}/edit."""
        user_id = _path_int(request, "user_id", "user")
        body = await _body(request)
        message_id = _integer(body.get("message_id"), "message_id")
        message = user_actions.edit(self.state, user_id, message_id, body.get("text"))
        return web.json_response({"message_id": message.message_id})

    async def block(self, request: web.Request) -> web.Response:
        """POST /sandbox/users/{id}/block."""
        user_id = _path_int(request, "user_id", "user")
        body = await _body(request)
        user_actions.set_blocked(self.state, user_id, body.get("blocked", True))
        return web.json_response({"ok": True})

    async def user_messages(self, request: web.Request) -> web.Response:
        """GET /sandbox/users/{id}/messages?after=N."""
        user = self.state.user(_path_int(request, "user_id", "user"))
        return web.json_response(_listing(self.state.chats[user.id], _after(request)))

    async def chat_messages(self, request: web.Request) -> web.Response:
        """GET /sandbox/chats/{chat_id}/messages?after=N."""
        chat_id = _path_int(request, "chat_id", "chat")
        chat = self.state.chats.get(chat_id)
        if chat is None:
            raise ControlError(404, f"no chat with id {chat_id}")
        return web.json_response(_listing(chat, _after(request)))

    async def create_group(self, request: web.Request) -> web.Response:
        """POST /sandbox/groups."""
        body = await _body(request)
        adder = body.get("user_id", self.state.practitioner_user_id)
        chat = user_actions.create_group(self.state, body.get("title"), _integer(adder, "user_id"))
        return web.json_response({"chat_id": chat.id})

    async def group_send(self, request: web.Request) -> web.Response:
        """POST /sandbox/groups/{chat_id}/send."""
        chat_id = _path_int(request, "chat_id", "group")
        body = await _body(request)
        user_id = _integer(body.get("user_id"), "user_id")
        message = user_actions.group_send(self.state, chat_id, user_id, body.get("text"))
        return web.json_response({"message_id": message.message_id})

    async def get_clock(self, request: web.Request) -> web.Response:
        """GET /sandbox/clock."""
        return web.json_response({"now": self.state.now().isoformat()})

    async def move_clock(self, request: web.Request) -> web.Response:
        """POST /sandbox/clock with ``advance`` (seconds) or ``to`` (ISO-8601)."""
        body = await _body(request)
        if ("advance" in body) == ("to" in body):
            raise ControlError(400, 'give exactly one of "advance" (seconds) or "to" (ISO-8601)')
        try:
            if "advance" in body:
                seconds = body["advance"]
                if not isinstance(seconds, int | float) or isinstance(seconds, bool):
                    raise ControlError(400, "advance must be a number of seconds")
                moved = self.state.clock.advance(timedelta(seconds=seconds))
            else:
                target = body["to"]
                if not isinstance(target, str):
                    raise ControlError(400, "to must be an ISO-8601 time")
                moment = datetime.fromisoformat(target)
                if moment.tzinfo is None:
                    raise ControlError(400, "to needs a UTC offset, e.g. 2030-01-01T09:00:00+00:00")
                moved = self.state.clock.set(moment)
        except (ValueError, OverflowError) as exc:
            raise ControlError(400, str(exc) or "invalid time") from None
        return web.json_response({"now": moved.isoformat()})

    async def list_faults(self, request: web.Request) -> web.Response:
        """GET /sandbox/faults."""
        return web.json_response({"faults": self.state.faults.pending()})

    async def add_fault(self, request: web.Request) -> web.Response:
        """POST /sandbox/faults."""
        body = await _body(request)
        requested = body.get("method")
        method = canonical_method(requested) if isinstance(requested, str) else None
        if method is None:
            raise ControlError(400, f"method must be a Bot API method, got {requested!r}")
        code = body.get("error_code")
        if code not in FAULT_CODES or isinstance(code, bool):
            raise ControlError(400, "error_code must be one of 400, 403, 429, 500")
        times = _integer(body.get("times", 1), "times", minimum=1)
        retry_after = body.get("retry_after")
        if retry_after is not None:
            retry_after = _integer(retry_after, "retry_after", minimum=1)
        user_id = body.get("user_id")
        if user_id is not None:
            user_id = _integer(user_id, "user_id")
        fault = Fault(
            method=method,
            error_code=code,
            times=times,
            retry_after=retry_after,
            user_id=user_id,
            description=_optional_str(body, "description"),
        )
        self.state.faults.add(fault)
        return web.json_response({"ok": True})

    async def clear_faults(self, request: web.Request) -> web.Response:
        """DELETE /sandbox/faults."""
        self.state.faults.clear()
        return web.json_response({"ok": True})

    async def get_stats(self, request: web.Request) -> web.Response:
        """GET /sandbox/stats."""
        return web.json_response(self.state.stats.to_json())

    async def reset_stats(self, request: web.Request) -> web.Response:
        """DELETE /sandbox/stats."""
        self.state.stats = Stats()
        return web.json_response({"ok": True})

    async def commands(self, request: web.Request) -> web.Response:
        """GET /sandbox/commands."""
        return web.json_response({"commands": self.state.commands.listing()})

    async def file(self, request: web.Request) -> web.Response:
        """GET /sandbox/files/{file_id}: the bytes as sent, with their content type."""
        stored = self.state.files.get(request.match_info["file_id"])
        if stored is None:
            raise ControlError(404, "no such file")
        return web.Response(body=stored.data, content_type=_content_type(stored))

    async def callback(self, request: web.Request) -> web.Response:
        """GET /sandbox/callbacks/{callback_query_id}."""
        record = self.state.callbacks.get(request.match_info["callback_id"])
        if record is None:
            raise ControlError(404, "no such callback query")
        return web.json_response(record.to_json())


def _content_type(stored: StoredFile) -> str:
    """The type the sender gave, else what the bytes are (a photo: PNG or JPEG)."""
    if stored.mime_type:
        return stored.mime_type
    if stored.kind == "photo":
        return "image/png" if stored.data.startswith(_PNG_SIGNATURE) else "image/jpeg"
    return "application/octet-stream"
