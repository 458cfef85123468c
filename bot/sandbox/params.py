"""Reading Bot API parameters the way Telegram does.

PTB sends form fields (multipart when uploading) in which strings are raw and every
other value is JSON; other clients send a JSON body or query parameters. All of them
end up in one :class:`Params`, whose typed accessors convert per parameter, so a
message text of ``"true"`` stays a string while ``disable_notification=true`` is a bool.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.sandbox.errors import ApiError, bad_request

if TYPE_CHECKING:
    from bot.sandbox.state import SandboxState


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    content_type: str
    data: bytes


class Params:
    """The parameters of one Bot API call with typed, Telegram-worded accessors."""

    def __init__(self, values: dict[str, Any], files: dict[str, UploadedFile] | None = None):
        self.values = values
        self.files = files or {}

    def has(self, name: str) -> bool:
        """Whether ``name`` was sent with a non-empty value."""
        value = self.values.get(name)
        return value is not None and value != ""

    def get_str(self, name: str) -> str | None:
        """A string parameter; numbers sent in a JSON body are turned into text."""
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        raise bad_request(f'field "{name}" must be of type String')

    def get_int(self, name: str) -> int | None:
        """An integer parameter, or None when absent or empty."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise bad_request(f'field "{name}" must be of type Integer')

    def get_float(self, name: str) -> float | None:
        """A number parameter, or None when absent or empty."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                pass
        raise bad_request(f'field "{name}" must be of type Number')

    def get_bool(self, name: str) -> bool:
        """A Boolean parameter; anything but a true value counts as False, as on Telegram."""
        value = self.values.get(name)
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return value != 0
        if isinstance(value, str):
            return value.strip().lower() in {"true", "1"}
        return False

    def get_json(self, name: str, *, error: str | None = None) -> Any:
        """A JSON-serialized parameter (reply_markup, entities, scope, ...), decoded."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError as exc:
            raise bad_request(error or f"can't parse {name} JSON object") from exc

    def chat_id(self, name: str = "chat_id") -> int:
        """The target chat id; usernames never resolve to a chat the emulator knows."""
        value = self.values.get(name)
        if value is None or value == "":
            raise bad_request(f"{name} is empty")
        try:
            return self.get_int(name) or 0
        except ApiError:
            raise bad_request("chat not found") from None

    def message_id(self, name: str = "message_id") -> int:
        """A required message identifier."""
        message_id = self.get_int(name)
        if message_id is None:
            raise bad_request("message identifier is not specified")
        return message_id


async def read_params(request: web.Request) -> Params:
    """Collect query, form, multipart or JSON parameters of ``request`` into one Params."""
    values: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if request.method != "POST" or not request.can_read_body:
        return Params(values)
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError as exc:
            raise bad_request("can't parse JSON object") from exc
        if not isinstance(body, dict):
            raise bad_request("can't parse JSON object")
        values.update(body)
        return Params(values)
    form = await request.post()
    for key, item in form.items():
        if isinstance(item, web.FileField):
            files[key] = UploadedFile(item.filename, item.content_type, item.file.read())
        elif isinstance(item, bytes | bytearray):
            values[key] = bytes(item).decode("utf-8", "replace")
        else:
            values[key] = item
    return Params(values, files)


ApiMethod = Callable[["SandboxState", Params], Awaitable[Any]]
"""A Bot API method implementation: state and parameters in, ``result`` out."""
