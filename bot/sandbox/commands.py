"""setMyCommands and friends: validation and storage per scope and language."""

from __future__ import annotations

import json
import re
from typing import Any

from bot.sandbox.errors import bad_request

MAX_COMMANDS = 100
MAX_DESCRIPTION = 256
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_LANGUAGE = re.compile(r"[a-z]{2}")
_PLAIN_SCOPES = frozenset(
    {"default", "all_private_chats", "all_group_chats", "all_chat_administrators"}
)
_CHAT_SCOPES = frozenset({"chat", "chat_administrators", "chat_member"})


def normalize_scope(value: Any) -> dict[str, Any]:
    """A BotCommandScope in canonical form; absent means the default scope.

    A chat scope's ``chat_id`` is returned as given; the caller checks the chat exists.
    """
    if value is None:
        return {"type": "default"}
    if not isinstance(value, dict):
        raise bad_request("can't parse BotCommandScope JSON object")
    kind = value.get("type")
    if kind in _PLAIN_SCOPES:
        return {"type": kind}
    if kind not in _CHAT_SCOPES:
        raise bad_request("unsupported bot command scope type")
    scope: dict[str, Any] = {"type": kind, "chat_id": _chat_id(value.get("chat_id"))}
    if kind == "chat_member":
        user_id = value.get("user_id")
        if not isinstance(user_id, int) or isinstance(user_id, bool):
            raise bad_request("invalid user_id specified")
        scope["user_id"] = user_id
    return scope


def _chat_id(value: Any) -> int:
    if isinstance(value, bool) or value in (None, ""):
        raise bad_request("chat_id is empty")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    raise bad_request("chat not found")


def normalize_language(value: str | None) -> str:
    """``language_code``: empty, or a two-letter ISO 639-1 code."""
    code = value or ""
    if code and not _LANGUAGE.fullmatch(code):
        raise bad_request("invalid language code specified")
    return code


def validate_commands(value: Any) -> list[dict[str, str]]:
    """A list of BotCommand objects, checked like Telegram."""
    if not isinstance(value, list):
        raise bad_request("can't parse commands JSON object")
    if len(value) > MAX_COMMANDS:
        raise bad_request("BOT_COMMANDS_TOO_MUCH")
    commands = []
    for item in value:
        if not isinstance(item, dict):
            raise bad_request("can't parse BotCommand: BotCommand must be an Object")
        command, description = item.get("command"), item.get("description")
        if not isinstance(command, str) or not _COMMAND.fullmatch(command):
            raise bad_request("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not 1 <= len(description) <= MAX_DESCRIPTION:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        commands.append({"command": command, "description": description})
    return commands


class BotCommandStore:
    """Command lists keyed by (scope, language_code), as setMyCommands stores them."""

    def __init__(self) -> None:
        self._lists: dict[tuple[str, str], list[dict[str, str]]] = {}

    @staticmethod
    def _key(scope: dict[str, Any], language: str) -> tuple[str, str]:
        return json.dumps(scope, sort_keys=True), language

    def set(self, scope: dict[str, Any], language: str, commands: list[dict[str, str]]) -> None:
        """Store ``commands``; an empty list deletes the entry."""
        if commands:
            self._lists[self._key(scope, language)] = commands
        else:
            self.delete(scope, language)

    def get(self, scope: dict[str, Any], language: str) -> list[dict[str, str]]:
        """The list stored for exactly this scope and language (possibly empty)."""
        return list(self._lists.get(self._key(scope, language), []))

    def delete(self, scope: dict[str, Any], language: str) -> None:
        """Forget the list of this scope and language."""
        self._lists.pop(self._key(scope, language), None)

    def listing(self) -> list[dict[str, Any]]:
        """Every stored list, for ``GET /sandbox/commands``."""
        return [
            {"scope": json.loads(scope), "language_code": language, "commands": commands}
            for (scope, language), commands in self._lists.items()
        ]
